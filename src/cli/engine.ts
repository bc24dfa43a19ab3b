/** The embedding engine the CLI commands (embed, compare, eval, calibrate, cohort) run: the server's, sized for feeding files. */
import type { Config } from '../config.js';
import { EmbeddingEngine } from '../model/engine.js';

export function startCliEngine(config: Readonly<Config>, modelId: string, workers: number = config.workers): Promise<EmbeddingEngine> {
  return EmbeddingEngine.start({
    modelsDir: config.modelsDir,
    modelId,
    workers,
    intraOpNumThreads: config.intraOpNumThreads,
    // The CLI feeds files a few at a time per worker; the queue only needs room for that.
    maxQueue: Math.max(config.queueMax, 64),
    maxAudioSeconds: config.maxAudioSeconds,
    taskTimeoutMs: config.inferenceTimeoutMs,
  });
}
