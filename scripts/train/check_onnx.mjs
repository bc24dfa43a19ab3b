// Runs an exported speaker model in onnxruntime-node (the service's runtime) on the cases written by
// export.py and prints, as JSON, the largest |onnx - torch| difference and the smallest cosine per case.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const dir = process.argv[2];
const spec = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8'));
const readF32 = (f) => {
  const b = readFileSync(path.join(dir, f));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const session = await ort.InferenceSession.create(spec.model, { intraOpNumThreads: 1, executionProviders: ['cpu'] });
const report = [];
for (const c of spec.cases) {
  const out = await session.run({ feats: new ort.Tensor('float32', readF32(c.input), c.dims) });
  const got = out.embs.data;
  const want = readF32(c.output);
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let maxAbsDiff = 0;
  for (let i = 0; i < got.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i] - want[i]));
  const d = out.embs.dims[1];
  let minCos = 1;
  for (let b = 0; b < out.embs.dims[0]; b++) {
    let dot = 0, na = 0, nb = 0;
    for (let k = 0; k < d; k++) {
      const x = got[b * d + k], y = want[b * d + k];
      dot += x * y; na += x * x; nb += y * y;
    }
    minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
  }
  report.push({ dims: c.dims, outDims: out.embs.dims, maxAbsDiff, minCos });
}
console.log(JSON.stringify(report));
