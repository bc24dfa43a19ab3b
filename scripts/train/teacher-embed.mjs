// Runs the teacher ONNX graph on a file of its input windows (scripts/train/teacher.py).
//   node scripts/train/teacher-embed.mjs <model.onnx> <features.f32> <embeddings.f32>
// features: little-endian float32 [N, 80, 128]; embeddings: float32 [N, D]. Debian's Python has no
// onnxruntime, so this training-time tool uses the service's onnxruntime-node.
import fs from 'node:fs';
import ort from 'onnxruntime-node';

const [modelPath, featuresPath, outPath] = process.argv.slice(2);
if (outPath === undefined) {
  console.error('usage: node scripts/train/teacher-embed.mjs <model.onnx> <features.f32> <embeddings.f32>');
  process.exit(2);
}
const PER_WINDOW = 80 * 128;
const BATCH = 64;
const bytes = fs.readFileSync(featuresPath);
const feats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const n = feats.length / PER_WINDOW;
if (!Number.isInteger(n)) throw new Error(`${featuresPath}: ${feats.length} floats is not a whole number of 80 x 128 windows`);
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
const [input] = session.inputNames;
const [output] = session.outputNames;
let out;
for (let i = 0; i < n; i += BATCH) {
  const b = Math.min(BATCH, n - i);
  const result = await session.run({ [input]: new ort.Tensor('float32', feats.slice(i * PER_WINDOW, (i + b) * PER_WINDOW), [b, 1, 80, 128]) });
  const embs = result[output];
  const dim = embs.dims[1];
  out ??= new Float32Array(n * dim);
  out.set(embs.data, i * dim);
}
fs.writeFileSync(outPath, Buffer.from(out.buffer));
