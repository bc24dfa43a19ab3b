/**
 * buildApp(deps): the Express application, never listening. server.ts owns the process
 * (config, listen, signals); tests build apps in-process with fakes.
 */
import express, { type Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { VoicePassportError } from './errors.js';
import { problemErrorHandler } from './http/problem.js';
import { loggablePath, requestIdFor } from './http/request-id.js';
import { healthRoutes, type ReadinessCheck } from './http/routes/health.js';
import type { Logger } from './observability/logger.js';

export interface AppDeps {
  logger: Logger;
  readiness: readonly ReadinessCheck[];
}

export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: requestIdFor,
      // Only method, path (customer id replaced) and status: no headers, bodies or query strings.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, path: loggablePath(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
    }),
  );
  app.use(helmet());
  // Biometric responses must never be cached by intermediaries.
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  app.use(healthRoutes(deps.readiness));

  app.use((req, _res, next) => {
    next(new VoicePassportError('not-found', `No route for ${req.method} ${loggablePath(req.originalUrl)}.`));
  });
  app.use(problemErrorHandler);
  return app;
}
