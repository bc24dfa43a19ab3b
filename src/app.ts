/**
 * buildApp(deps): the Express application, never listening. server.ts owns the process
 * (config, listen, signals); tests build apps in-process with fakes.
 *
 * Without `api`, the app serves only the open routes (/healthz, /readyz, /openapi.json, and the
 * operator console's static files when `consoleDir` is given).
 */
import express, { type Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { VoicePassportError } from './errors.js';
import { apiRoutes, type ApiDeps } from './http/api.js';
import { authenticate, requireRole } from './http/auth.js';
import { consoleRouter, consoleRoutes } from './http/console.js';
import { openApiDocument } from './http/openapi.js';
import { problemErrorHandler } from './http/problem.js';
import { rateLimit, TokenBuckets } from './http/rate-limit.js';
import { requestIdFor } from './http/request-id.js';
import { RouteTable, type RouteSpec } from './http/route-table.js';
import { healthRoutes, type ReadinessCheck } from './http/routes/health.js';
import type { Logger } from './observability/logger.js';

export interface AppDeps {
  logger: Logger;
  readiness: readonly ReadinessCheck[];
  api?: ApiDeps;
  /** The operator console's folder (src/http/console.ts); not served without it (VP_CONSOLE=false). */
  consoleDir?: string;
}

/** The open routes, for the route table (405s, metrics labels); mounted by healthRoutes and below. */
const openRoutes: RouteSpec[] = [
  { method: 'get', path: '/healthz', roles: null, handlers: [] },
  { method: 'get', path: '/readyz', roles: null, handlers: [] },
  { method: 'get', path: '/openapi.json', roles: null, handlers: [] },
];

export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const api = deps.api ? apiRoutes(deps.api) : [];
  const table = new RouteTable([...openRoutes, ...(deps.consoleDir === undefined ? [] : consoleRoutes), ...api]);

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: requestIdFor,
      // Only method, path (its route's pattern: no customer ids) and status: no headers, bodies or query strings.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, path: table.loggablePath(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
    }),
  );
  const metrics = deps.api?.metrics;
  if (metrics) app.use(metrics.httpMiddleware((_method, path) => table.patternFor(path) ?? 'unmatched'));
  app.use(helmet());
  // Biometric responses must never be cached by intermediaries.
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  app.use(healthRoutes(deps.readiness));
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  if (deps.consoleDir !== undefined) app.use(consoleRouter(deps.consoleDir));

  if (deps.api) {
    // Per route, in this order: who is calling (401), how often (429), may they (403).
    const auth = authenticate(deps.api.passport.store.apiKeys);
    const limit = rateLimit(new TokenBuckets(deps.api.rateLimitPerMinute));
    for (const route of api) {
      app[route.method](route.path, auth, limit, requireRole(route.roles ?? []), ...route.handlers);
    }
  }

  app.use((req, res, next) => {
    const allowed = table.methodsFor(req.path);
    if (allowed.length > 0) {
      res.setHeader('Allow', allowed.join(', '));
      next(new VoicePassportError('method-not-allowed', `${req.method} is not allowed here; use ${allowed.join(', ')}.`, { allowed }));
      return;
    }
    // The caller's own path, as in the problem's `instance`; logs get table.loggablePath.
    next(new VoicePassportError('not-found', `No route for ${req.method} ${req.path}.`));
  });
  app.use(problemErrorHandler);
  return app;
}
