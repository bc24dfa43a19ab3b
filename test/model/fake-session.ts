import type { InferenceSessionLike, TensorInput, TensorOutput } from '../../src/model/onnx-runtime.js';

/**
 * A fake network: embedding[d] = Σ_t feats[t, d mod bins] · (1 + d/10) + 0.1·frames, read in
 * the layout the manifest says. It records every call so tests can inspect what was fed.
 */
export class FakeSession implements InferenceSessionLike {
  readonly calls: TensorInput[] = [];
  constructor(
    readonly dim: number,
    readonly layout: 'BTF' | 'BFT' = 'BTF',
    readonly inputNames: readonly string[] = ['feats'],
    readonly outputNames: readonly string[] = ['embs'],
    private readonly transform: (v: Float32Array) => Float32Array = (v) => v,
  ) {}

  async run(feeds: Record<string, TensorInput>): Promise<Record<string, TensorOutput>> {
    const input = feeds[this.inputNames[0] as string] as TensorInput;
    this.calls.push({ ...input, data: Float32Array.from(input.data as Float32Array) } as TensorInput);
    const [, a, b] = input.dims as [number, number, number];
    const [frames, bins] = this.layout === 'BTF' ? [a, b] : [b, a];
    const data = input.data as Float32Array;
    const out = new Float32Array(this.dim);
    for (let d = 0; d < this.dim; d++) {
      const f = d % bins;
      let s = 0;
      for (let t = 0; t < frames; t++) s += data[this.layout === 'BTF' ? t * bins + f : f * frames + t] as number;
      out[d] = s * (1 + d / 10) + 0.1 * frames;
    }
    return { [this.outputNames[0] as string]: { data: this.transform(out), dims: [1, this.dim] } };
  }

  async release(): Promise<void> {}
}
