/**
 * Worker for the bare-runtime reference loop (bare-onnx.ts): one onnxruntime session
 * (through src/model/onnx-runtime.ts, intra-op threads as configured) running the same feature
 * tensor again and again, with no decoding, VAD, fbank or messaging per run. What it reaches is
 * the ceiling for the engine on this machine.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createInferenceSession } from '../../src/model/onnx-runtime.js';

export interface BareWorkerInit {
  modelPath: string;
  inputName: string;
  outputName: string;
  intraOpNumThreads: number;
  feats: Float32Array;
  dims: number[];
  warmupRuns: number;
}

export type BareToWorker = { type: 'go'; durationMs: number };
export type BareFromWorker =
  | { type: 'ready' }
  /** runMs: the runs that finished inside the window; totalRuns also counts the one that overran it. */
  | { type: 'done'; runMs: number[]; totalRuns: number }
  | { type: 'failed'; message: string };

const port = parentPort;
if (port === null) throw new Error('bare-onnx-worker.ts must run as a worker thread');
const init = workerData as BareWorkerInit;

async function main(): Promise<void> {
  const session = await createInferenceSession(init.modelPath, { intraOpNumThreads: init.intraOpNumThreads });
  const feeds = { [init.inputName]: { type: 'float32' as const, data: init.feats, dims: init.dims } };
  for (let i = 0; i < init.warmupRuns; i++) await session.run(feeds);
  port!.once('message', async (msg: BareToWorker) => {
    const runMs: number[] = [];
    const deadline = performance.now() + msg.durationMs;
    // Only runs that finish inside the window count, so workers × window is the exact denominator.
    for (;;) {
      const t0 = performance.now();
      const out = await session.run(feeds);
      const t1 = performance.now();
      if (out[init.outputName] === undefined) throw new Error(`no output ${init.outputName}`);
      if (t1 > deadline) break;
      runMs.push(t1 - t0);
    }
    port!.postMessage({ type: 'done', runMs, totalRuns: runMs.length + 1 } satisfies BareFromWorker);
    await session.release();
  });
  port!.postMessage({ type: 'ready' } satisfies BareFromWorker);
}

main().catch((e: unknown) => port.postMessage({ type: 'failed', message: (e as Error).message } satisfies BareFromWorker));
