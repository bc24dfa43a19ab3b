/**
 * The composition root: builds the engine, store and app from a Config and listens.
 * server.ts (the process) and the end-to-end tests both start the service through here.
 */
import type { Server } from 'node:http';
import { VoicePassportError } from './errors.js';
import { buildApp } from './app.js';
import { defaultConsoleDir } from './http/console.js';
import { drainServer, serveApp } from './http/http-server.js';
import { VerificationStreams } from './http/verification-stream.js';
import type { Config } from './config.js';
import { EmbeddingEngine } from './model/engine.js';
import { calibrationGaps } from './model/manifest.js';
import { requireInstalledModel } from './model/models-folder.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, timedEmbedder } from './observability/metrics.js';
import { RetentionSweeper } from './retention-sweep.js';
import { activeKeyExpiries, bootstrapApiKeys } from './passport/api-keys.js';
import { noticesInUseWarnings } from './passport/consent.js';
import { checkModelFingerprint } from './passport/model-fingerprint.js';
import { ConsentNotices, defaultConsentNoticesDir } from './passport/consent-notices.js';
import { createPassportContext } from './passport/context.js';
import { storedPolicyWarnings } from './passport/policies.js';
import { noticeRetentionWarnings, retentionSettings } from './passport/retention.js';
import { defaultQualityLimits } from './scoring/decision.js';
import { Scorer } from './scoring/scorer.js';
import { openStore, type Store } from './store/index.js';

export interface RunningService {
  server: Server;
  port: number;
  /**
   * Stops the service: /readyz answers 503 at once, requests are still taken for VP_SHUTDOWN_DELAY_MS,
   * then no connection is, requests in flight get VP_SHUTDOWN_GRACE_MS to finish (then their
   * connections are cut), and the model and store close.
   */
  close: () => Promise<void>;
}

/** How often the retention purge runs (GDPR Art. 5(1)(e)); retention is counted in days, so hourly is ample. */
export const retentionSweepIntervalMs = 60 * 60 * 1000;

export async function startService(config: Readonly<Config>, logger: Logger): Promise<RunningService> {
  // Before anything is opened: a notice whose periods are unknown cannot be kept to, and a model
  // that is not there cannot be run.
  const notices = ConsentNotices.load(config.consentNoticesDir ?? defaultConsentNoticesDir());
  await requireInstalledModel(config.modelsDir, config.modelId);
  const retention = retentionSettings(config, notices);
  for (const warning of noticeRetentionWarnings(retention, notices)) logger.warn({ notice: notices.current }, warning);
  const store = openStore({ dataDir: config.dataDir, env: process.env });
  if (store.masterKeyRotation !== null) logger.info({ ...store.masterKeyRotation }, 'master key rotated: every data key replaced and wrapped under the new master key');
  for (const warning of store.masterKey.warnings) logger.warn({ keyFile: store.masterKey.keyFile }, warning);

  let engine: EmbeddingEngine;
  try {
    engine = await EmbeddingEngine.start({
      modelsDir: config.modelsDir,
      modelId: config.modelId,
      workers: config.workers,
      intraOpNumThreads: config.intraOpNumThreads,
      maxQueue: config.queueMax,
      maxAudioSeconds: config.maxAudioSeconds,
      taskTimeoutMs: config.inferenceTimeoutMs,
      onWorkerEvent: (event) => logger.warn({ event }, 'embedding worker event'),
    });
  } catch (e) {
    store.close();
    throw e;
  }
  const gaps = calibrationGaps(engine.manifest);
  if (gaps.length > 0) {
    await engine.close();
    store.close();
    throw new VoicePassportError('model-invalid', gaps.join('; '));
  }
  try {
    const fingerprint = checkModelFingerprint(store, engine.modelId, engine.manifest.sha256);
    if (fingerprint.kind === 'replaced') {
      logger.warn({ model: engine.modelId, previousSha256: fingerprint.previousSha256, sha256: engine.manifest.sha256 }, 'the model file changed under the same id; no voiceprint of it was held, so the new file is recorded');
    }
  } catch (e) {
    await engine.close();
    store.close();
    throw e;
  }
  const scorer = Scorer.fromManifest(engine.manifest);
  logger.info({ model: config.modelId, workers: config.workers, calibrated: engine.manifest.calibration !== undefined, scoreNormalisation: scorer.scale === 'as-norm' ? 'as-norm' : 'none' }, 'model loaded');

  let sweeper: RetentionSweeper | undefined;
  try {
    const metrics = createMetrics({ engine, keyExpiries: () => activeKeyExpiries(store) });
    const passport = createPassportContext({
      store,
      embedder: timedEmbedder(engine, metrics),
      notices,
      retention,
      enrolment: { requiredSeconds: config.enrolMinSeconds, requiredSamples: config.enrolMinSamples },
      qualityLimits: { ...defaultQualityLimits, minSnrDb: config.minSnrDb },
      // Calibrated LLR scores and policies set by false match rate when the manifest has a calibration.
      calibration: engine.manifest.calibration,
      // AS-norm comparison scores when the manifest enables scoreNormalisation (the calibration is then fitted on them).
      scorer,
    });
    for (const warning of noticesInUseWarnings(store, notices)) logger.warn(warning);
    // A policy the calibration cannot support (too few trials or pairs of speakers behind its
    // target) stays in force; the operator is told at every start, not only when it was set.
    for (const warning of storedPolicyWarnings(passport)) logger.warn({ model: config.modelId }, warning);

    const initial = bootstrapApiKeys(store, config.dataDir);
    if (initial) {
      // The path only: the keys are in the 0600 file, never in the log.
      logger.warn({ file: initial.file, roles: initial.keys.map((k) => k.role) }, 'no API keys existed: created one per role; read them from the file once, then delete it');
    }

    sweeper = new RetentionSweeper({ store, settings: retention, metrics, logger, intervalMs: retentionSweepIntervalMs });
    await sweeper.start();

    const streams = new VerificationStreams({
      passport,
      maxAudioSeconds: config.maxAudioSeconds,
      maxOpen: config.streamMaxOpen,
      idleSeconds: config.streamIdleSeconds,
      metrics,
    });
    // Set when close() begins: /readyz then says not-ready, so a load balancer that polls it stops
    // sending requests during VP_SHUTDOWN_DELAY_MS.
    let closing: Promise<void> | undefined;
    const app = buildApp({
      logger,
      readiness: [
        { name: 'running', ready: () => closing === undefined },
        { name: 'model', ready: () => engine.ready },
        { name: 'database', ready: () => store.db.isOpen },
        { name: 'masterKey', ready: () => store.masterKeyCurrent() },
      ],
      api: { passport, rateLimitPerMinute: config.rateLimitPerMinute, maxAudioSeconds: config.maxAudioSeconds, metrics, streams },
      ...(config.console ? { consoleDir: defaultConsoleDir() } : {}),
    });

    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    serveApp(server, app);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ port, host: config.host, ...(config.console ? { console: '/console/' } : {}) }, 'listening');

    const close = () =>
      (closing ??= (async () => {
        if (config.shutdownDelayMs > 0) {
          logger.info({ delayMs: config.shutdownDelayMs }, '/readyz answers 503; requests are still taken until VP_SHUTDOWN_DELAY_MS has passed');
          await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
        }
        // The server stops taking connections, while the sweep and the streams stop.
        const drained = drainServer(server, config.shutdownGraceMs);
        // A sweep in progress stops between two of its transactions, before the store closes.
        await sweeper?.stop();
        // Open streams end (1001, going away); their sockets are the server's until they close.
        await streams.close();
        const { cutRequests } = await drained;
        if (cutRequests > 0) logger.warn({ cutRequests, graceMs: config.shutdownGraceMs }, 'requests still unfinished at the end of VP_SHUTDOWN_GRACE_MS were cut');
        await engine.close();
        closeStore(store, logger);
      })());
    return { server, port, close };
  } catch (e) {
    await sweeper?.stop();
    await engine.close();
    closeStore(store, logger);
    throw e;
  }
}

function closeStore(store: Store, logger: Logger): void {
  try {
    store.close();
  } catch (err) {
    logger.error({ err }, 'closing the store failed');
  }
}
