/**
 * Builds a one-node ONNX model in memory, without Python: protobuf encoded by hand from the ONNX
 * schema (onnx/onnx.proto). The graph is `output = ReduceMax(input, axes=[1], keepdims=0)`, so a
 * [B, T, F] feature input gives a [B, F] "embedding": enough to exercise registration with any
 * tensor names (3D-Speaker's `feature` → `embedding`, sherpa-onnx's `x`, …). ReduceMax rather than
 * ReduceMean because mean-normalised features average to zero over time.
 */

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const key = (field: number, wireType: 0 | 2) => varint((field << 3) | wireType);
const int = (field: number, value: number) => [...key(field, 0), ...varint(value)];
const bytes = (field: number, payload: number[]) => [...key(field, 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string) => bytes(field, [...Buffer.from(s, 'utf8')]);

/** ValueInfoProto of a float tensor; a string dimension is symbolic (dim_param), a number fixed. */
function tensorInfo(name: string, shape: (number | string)[]): number[] {
  const dims = shape.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = [...int(1, 1 /* FLOAT */), ...bytes(2, dims)];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

export function tinyReduceMaxModel(opts: { input: string; output: string; bins?: number }): Uint8Array {
  const bins = opts.bins ?? 80;
  const attrAxes = [...str(1, 'axes'), ...int(8, 1), ...int(20, 7 /* INTS */)];
  const attrKeep = [...str(1, 'keepdims'), ...int(3, 0), ...int(20, 2 /* INT */)];
  const node = [...str(1, opts.input), ...str(2, opts.output), ...str(3, 'pool'), ...str(4, 'ReduceMax'), ...bytes(5, attrAxes), ...bytes(5, attrKeep)];
  const graph = [
    ...bytes(1, node),
    ...str(2, 'tiny'),
    ...bytes(11, tensorInfo(opts.input, ['B', 'T', bins])),
    ...bytes(12, tensorInfo(opts.output, ['B', bins])),
  ];
  const model = [...int(1, 7 /* IR version */), ...str(2, 'voice-passport-test'), ...bytes(7, graph), ...bytes(8, int(2, 13 /* opset */))];
  return Uint8Array.from(model);
}
