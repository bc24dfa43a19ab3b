/**
 * The only module that imports onnxruntime-node. Everything else talks to models through the
 * small `InferenceSessionLike` interface, so tests can fake it and the runtime can be swapped.
 *
 * Sessions are created inside worker threads only: `InferenceSession.run()` is native work
 * that would otherwise block the event loop.
 */
import * as ort from 'onnxruntime-node';

export type TensorInput =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };

export interface TensorOutput {
  data: Float32Array;
  dims: readonly number[];
}

export interface InferenceSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, TensorInput>): Promise<Record<string, TensorOutput>>;
  release(): Promise<void>;
}

export interface SessionOptions {
  /**
   * Threads inside one session. Always set explicitly: left alone, onnxruntime sizes its pool
   * to the host's cores and ignores container CPU limits.
   */
  intraOpNumThreads: number;
}

export async function createInferenceSession(
  modelPathOrBytes: string | Uint8Array,
  options: SessionOptions,
): Promise<InferenceSessionLike> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  };
  const session =
    typeof modelPathOrBytes === 'string'
      ? await ort.InferenceSession.create(modelPathOrBytes, sessionOptions)
      : await ort.InferenceSession.create(modelPathOrBytes, sessionOptions);
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims as number[]);
      }
      const out = await session.run(ortFeeds);
      const result: Record<string, TensorOutput> = {};
      for (const [name, t] of Object.entries(out)) {
        if (t.type !== 'float32') throw new Error(`output ${name} has type ${t.type}, expected float32`);
        result[name] = { data: t.data as Float32Array, dims: t.dims };
      }
      return result;
    },
    async release() {
      await session.release();
    },
  };
}
