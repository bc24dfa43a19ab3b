/**
 * Reference: the bare onnxruntime loop. `workers` threads, one session each, all told to start
 * at the same moment and run the model on a fixed 3 s feature tensor for a fixed window.
 * Throughput is runs finished inside the window / window; latency is per run.
 */
import os from 'node:os';
import type { LoadedManifest } from '../../src/model/manifest.js';
import type { BareFromWorker, BareToWorker, BareWorkerInit } from './bare-onnx-worker.js';
import { processCpuMs, round, summarise, type Summary } from './stats.js';
import { startTsWorker } from './ts-worker.js';

export interface BareOnnxResult {
  workers: number;
  intraOpNumThreads: number;
  inputDims: number[];
  windowSeconds: number;
  runs: number;
  perSecond: number;
  runLatency: Summary;
  /** Process CPU time per run; cpuBoundPerSecond = min(workers, cores) × 1000 / cpuMsPerRun. */
  cpuMsPerRun: number;
  cpuBoundPerSecond: number;
}

export async function measureBareOnnx(
  manifest: LoadedManifest,
  feats: { data: Float32Array; frames: number; bins: number },
  opts: { workers: number; intraOpNumThreads: number; durationMs: number; warmupRuns: number },
): Promise<BareOnnxResult> {
  // The manifest's layout, batch of one, as the embedder builds it.
  const dims = manifest.input.layout === 'BTF' ? [1, feats.frames, feats.bins] : [1, feats.bins, feats.frames];
  const data = manifest.input.layout === 'BTF' ? feats.data : transpose(feats);
  const init: BareWorkerInit = {
    modelPath: manifest.modelPath,
    inputName: manifest.input.name,
    outputName: manifest.output.name,
    intraOpNumThreads: opts.intraOpNumThreads,
    feats: data,
    dims,
    warmupRuns: opts.warmupRuns,
  };
  const workers = Array.from({ length: opts.workers }, () => startTsWorker(new URL('./bare-onnx-worker.ts', import.meta.url), init));
  try {
    const next = (w: (typeof workers)[number]) =>
      new Promise<BareFromWorker>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    const ready = await Promise.all(workers.map(next));
    const failed = ready.find((m) => m.type === 'failed');
    if (failed?.type === 'failed') throw new Error(`bare onnxruntime worker failed: ${failed.message}`);
    const done = workers.map(next);
    const cpu0 = processCpuMs();
    for (const w of workers) w.postMessage({ type: 'go', durationMs: opts.durationMs } satisfies BareToWorker);
    const results = await Promise.all(done);
    const cpuMs = processCpuMs() - cpu0;
    const runMs = results.flatMap((m) => (m.type === 'done' ? m.runMs : []));
    // The CPU window also holds each worker's last run, which overran the deadline.
    const totalRuns = results.reduce((n, m) => n + (m.type === 'done' ? m.totalRuns : 0), 0);
    if (runMs.length === 0) throw new Error('the bare onnxruntime loop finished no run inside its window');
    return {
      workers: opts.workers,
      intraOpNumThreads: opts.intraOpNumThreads,
      inputDims: dims,
      windowSeconds: opts.durationMs / 1000,
      runs: runMs.length,
      perSecond: round(runMs.length / (opts.durationMs / 1000), 2),
      runLatency: summarise(runMs),
      cpuMsPerRun: round(cpuMs / totalRuns),
      cpuBoundPerSecond: round((Math.min(opts.workers, os.availableParallelism()) * 1000 * totalRuns) / cpuMs, 2),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function transpose(m: { data: Float32Array; frames: number; bins: number }): Float32Array {
  const out = new Float32Array(m.data.length);
  for (let t = 0; t < m.frames; t++) for (let f = 0; f < m.bins; f++) out[f * m.frames + t] = m.data[t * m.bins + f] as number;
  return out;
}
