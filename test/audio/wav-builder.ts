/**
 * Writes WAV files byte by byte for the tests, independently of `wavefile`, so the decoder is
 * checked against the format rather than against the library it uses.
 */

export interface WavSpec {
  container?: 'RIFF' | 'RIFX' | 'RF64';
  formatTag?: number;
  channels?: number;
  sampleRate?: number;
  bitsPerSample?: number;
  /** Override the block align the header states (default channels × bytes per sample). */
  blockAlign?: number;
  /** Write a WAVE_FORMAT_EXTENSIBLE fmt chunk whose SubFormat is `formatTag`. */
  extensible?: boolean;
  validBits?: number;
  /** Sample bytes of the data chunk, already encoded. */
  data: Uint8Array;
  /** Override the size the data chunk header states. */
  dataSizeField?: number;
  /** Chunks placed before `fmt `, between `fmt ` and `data`, and after `data`. */
  before?: Chunk[];
  between?: Chunk[];
  after?: Chunk[];
  /** Put `fmt ` after `data`. */
  fmtAfterData?: boolean;
  riffSizeField?: number;
}

export interface Chunk {
  id: string;
  body: Uint8Array;
  sizeField?: number;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function chunk(id: string, body: Uint8Array, le: boolean, sizeField?: number): Uint8Array {
  const head = new Uint8Array(8);
  head.set(ascii(id), 0);
  new DataView(head.buffer).setUint32(4, sizeField ?? body.length, le);
  const pad = body.length % 2 === 1 ? [new Uint8Array(1)] : [];
  return concat([head, body, ...pad]);
}

export function buildWav(spec: WavSpec): Uint8Array {
  const container = spec.container ?? 'RIFF';
  const le = container !== 'RIFX';
  const channels = spec.channels ?? 1;
  const rate = spec.sampleRate ?? 16000;
  const bits = spec.bitsPerSample ?? 16;
  const tag = spec.formatTag ?? 1;
  const blockAlign = spec.blockAlign ?? (channels * bits) / 8;

  const fmt = new Uint8Array(spec.extensible ? 40 : 16);
  const v = new DataView(fmt.buffer);
  v.setUint16(0, spec.extensible ? 0xfffe : tag, le);
  v.setUint16(2, channels, le);
  v.setUint32(4, rate, le);
  v.setUint32(8, rate * blockAlign, le);
  v.setUint16(12, blockAlign, le);
  v.setUint16(14, bits, le);
  if (spec.extensible) {
    v.setUint16(16, 22, le);
    v.setUint16(18, spec.validBits ?? bits, le);
    v.setUint32(20, channels === 2 ? 3 : 4, le);
    // KSDATAFORMAT_SUBTYPE_xxx = {0000xxxx-0000-0010-8000-00AA00389B71}
    v.setUint16(24, tag, true);
    fmt.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }

  const parts: Uint8Array[] = [];
  const dataChunk = chunk('data', spec.data, le, container === 'RF64' ? 0xffffffff : spec.dataSizeField);
  if (container === 'RF64') {
    const ds64 = new Uint8Array(28);
    const d = new DataView(ds64.buffer);
    const dataSize = spec.dataSizeField ?? spec.data.length;
    d.setUint32(8, dataSize % 2 ** 32, true);
    d.setUint32(12, Math.floor(dataSize / 2 ** 32), true);
    parts.push(chunk('ds64', ds64, true));
  }
  for (const c of spec.before ?? []) parts.push(chunk(c.id, c.body, le, c.sizeField));
  if (!spec.fmtAfterData) parts.push(chunk('fmt ', fmt, le));
  for (const c of spec.between ?? []) parts.push(chunk(c.id, c.body, le, c.sizeField));
  parts.push(dataChunk);
  if (spec.fmtAfterData) parts.push(chunk('fmt ', fmt, le));
  for (const c of spec.after ?? []) parts.push(chunk(c.id, c.body, le, c.sizeField));

  const body = concat(parts);
  const head = new Uint8Array(12);
  head.set(ascii(container), 0);
  new DataView(head.buffer).setUint32(4, spec.riffSizeField ?? (container === 'RF64' ? 0xffffffff : body.length + 4), le);
  head.set(ascii('WAVE'), 8);
  return concat([head, body]);
}

/** Encode ints as little- or big-endian two's complement of `bytes` bytes each. */
export function packInts(values: number[], bytes: number, le = true): Uint8Array {
  const out = new Uint8Array(values.length * bytes);
  values.forEach((value, i) => {
    let u = value < 0 ? value + 2 ** (8 * bytes) : value;
    for (let b = 0; b < bytes; b++) {
      const byte = u % 256;
      u = Math.floor(u / 256);
      out[i * bytes + (le ? b : bytes - 1 - b)] = byte;
    }
  });
  return out;
}

export function packFloats(values: number[], bits: 32 | 64, le = true): Uint8Array {
  const out = new Uint8Array((values.length * bits) / 8);
  const v = new DataView(out.buffer);
  values.forEach((value, i) => (bits === 32 ? v.setFloat32(i * 4, value, le) : v.setFloat64(i * 8, value, le)));
  return out;
}
