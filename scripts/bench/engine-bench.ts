/**
 * Section 2: the whole request path through the EmbeddingEngine (src/model/engine.ts), exactly
 * as the HTTP handlers call it: WAV bytes → decode → Silero VAD → quality → fbank → ONNX → L2,
 * in the worker pool.
 *
 * - latency: one request at a time (an idle service), so each figure is one analysis plus the
 *   thread hand-off, with no queueing;
 * - throughput: a closed loop of `concurrency` callers (more than the workers, so none idles
 *   between tasks), counting analyses that finish inside a fixed window.
 */
import os from 'node:os';
import type { EmbeddingEngine } from '../../src/model/engine.js';
import { processCpuMs, round, summarise, type Summary } from './stats.js';

export interface Upload {
  bytes: Uint8Array;
  contentType: string;
}

export interface LatencyResult {
  runs: number;
  time: Summary;
  /** Process CPU time (main thread + workers) per request: the unloaded machine's latency, roughly. */
  cpuMsPerRequest: number;
  /** Speech that VAD kept and the network saw, for the 3 s input. */
  netSpeechSeconds: number;
  embeddingDim: number;
}

export interface ThroughputResult {
  workers: number;
  concurrency: number;
  windowSeconds: number;
  completed: number;
  failed: number;
  perSecond: number;
  /** Per-request time seen by callers under this load (queueing included). */
  time: Summary;
  /** Process CPU time per finished analysis under load. */
  cpuMsPerAnalysis: number;
  /**
   * What `workers` cores would finish per second if this process had them to itself:
   * min(workers, cores) × 1000 / cpuMsPerAnalysis. An estimate for a shared machine, not a measurement.
   */
  cpuBoundPerSecond: number;
}

/** Every worker analyses a few requests, so sessions have allocated their buffers. */
export async function warmUp(engine: EmbeddingEngine, upload: Upload, perWorker: number): Promise<void> {
  const n = engine.stats().workers * perWorker;
  await Promise.all(Array.from({ length: n }, () => engine.analyse(upload)));
}

export async function measureLatency(engine: EmbeddingEngine, upload: Upload, runs: number): Promise<LatencyResult> {
  const times: number[] = [];
  let netSpeechSeconds = 0;
  let embeddingDim = 0;
  const cpu0 = processCpuMs();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const a = await engine.analyse(upload);
    times.push(performance.now() - t0);
    netSpeechSeconds = a.netSpeechSeconds;
    embeddingDim = a.embedding.length;
  }
  const cpuMsPerRequest = round((processCpuMs() - cpu0) / runs);
  return { runs, time: summarise(times), cpuMsPerRequest, netSpeechSeconds: round(netSpeechSeconds), embeddingDim };
}

export interface LoadHandle {
  /** Stops issuing requests and waits for those in flight. */
  stop(): Promise<{ completed: number; failed: number; timesMs: number[] }>;
}

/**
 * Keeps `concurrency` analyses in flight until stopped: the "verify-like" saturating load.
 * Only requests that finish before stop() are counted.
 */
export function startLoad(engine: EmbeddingEngine, upload: Upload, concurrency: number): LoadHandle {
  let running = true;
  let completed = 0;
  let failed = 0;
  const timesMs: number[] = [];
  const caller = async (): Promise<void> => {
    while (running) {
      const t0 = performance.now();
      try {
        await engine.analyse(upload);
        if (running) {
          completed++;
          timesMs.push(performance.now() - t0);
        }
      } catch {
        if (running) failed++;
        // An overloaded refusal must not become a hot retry loop.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const callers = Array.from({ length: concurrency }, caller);
  return {
    async stop() {
      running = false;
      const result = { completed, failed, timesMs: [...timesMs] };
      await Promise.all(callers);
      return result;
    },
  };
}

export async function measureThroughput(
  engine: EmbeddingEngine,
  upload: Upload,
  opts: { concurrency: number; durationMs: number },
): Promise<ThroughputResult> {
  const load = startLoad(engine, upload, opts.concurrency);
  const cpu0 = processCpuMs();
  await new Promise((r) => setTimeout(r, opts.durationMs));
  const cpuMs = processCpuMs() - cpu0;
  const { completed, failed, timesMs } = await load.stop();
  const workers = engine.stats().workers;
  const cpuMsPerAnalysis = cpuMs / completed;
  if (completed === 0) throw new Error(`no analysis finished in ${opts.durationMs} ms (${failed} failed)`);
  return {
    workers,
    concurrency: opts.concurrency,
    windowSeconds: opts.durationMs / 1000,
    completed,
    failed,
    perSecond: round(completed / (opts.durationMs / 1000), 2),
    time: summarise(timesMs),
    cpuMsPerAnalysis: round(cpuMsPerAnalysis),
    cpuBoundPerSecond: round((Math.min(workers, os.availableParallelism()) * 1000) / cpuMsPerAnalysis, 2),
  };
}
