/**
 * The composition root: builds the engine, store and app from a Config and listens.
 * server.ts (the process) and the end-to-end tests both start the service through here.
 */
import type { Server } from 'node:http';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { EmbeddingEngine } from './model/engine.js';
import type { Logger } from './observability/logger.js';

export interface RunningService {
  server: Server;
  port: number;
  close: () => Promise<void>;
}

export async function startService(config: Readonly<Config>, logger: Logger): Promise<RunningService> {
  const engine = await EmbeddingEngine.start({
    modelsDir: config.modelsDir,
    modelId: config.modelId,
    workers: config.workers,
    intraOpNumThreads: config.intraOpNumThreads,
    maxQueue: config.queueMax,
    maxAudioSeconds: config.maxAudioSeconds,
    taskTimeoutMs: config.inferenceTimeoutMs,
  });
  logger.info({ model: config.modelId, workers: config.workers }, 'model loaded');

  const app = buildApp({
    logger,
    readiness: [{ name: 'model', ready: () => engine.ready }],
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Slow-loris protection: a caller must send headers and body within bounded time.
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, host: config.host }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await engine.close();
    })());
  return { server, port, close };
}

