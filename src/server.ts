/**
 * The process: configuration, start, signals, graceful shutdown. Importing this module runs
 * the service (`npm start`, `voice-passport serve`); tests use startService() from service.ts.
 */
import { loadConfig, type Config } from './config.js';
import { EX_CONFIG, isVoicePassportError } from './errors.js';
import { createLogger } from './observability/logger.js';
import { superviseProcess } from './process-lifecycle.js';
import { startService, type RunningService } from './service.js';

async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (e) {
    process.stderr.write(`${isVoicePassportError(e) ? e.message : String(e)}\n`);
    process.exit(EX_CONFIG);
  }
  const logger = createLogger(config.logLevel);
  // Before the first await: a stop signal that comes while the model loads is kept, not lost.
  const supervisor = superviseProcess({ source: process, logger, drainMs: config.shutdownDelayMs + config.shutdownGraceMs, exit: (code) => process.exit(code) });
  logger.info({ pid: process.pid, node: process.version }, 'starting');
  let service: RunningService;
  try {
    service = await startService(config, logger);
  } catch (e) {
    logger.fatal({ code: isVoicePassportError(e) ? e.code : 'internal', err: e }, 'start-up failed');
    // A configuration found invalid only at start (the master key, the consent notices) is still one.
    process.exit(isVoicePassportError(e) && e.code === 'config-invalid' ? EX_CONFIG : 1);
  }
  supervisor.started(service);
}

await main();
