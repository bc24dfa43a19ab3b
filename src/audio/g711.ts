/**
 * ITU-T G.711 companding: µ-law (North America, Japan) and A-law (rest of the world), the two
 * 8-bit codecs every telephone network and most VoIP trunks carry (RTP payload types 0 and 8).
 *
 * The conversions follow the reference implementation that ITU-T G.191 and Sun's public-domain
 * `g711.c` share, so every code decodes to exactly the linear value in the G.711 tables
 * (µ-law: 14-bit range ±8031 × 4 = ±32124; A-law: 13-bit range ±4032 × 8 = ±32256, both
 * expressed here on the 16-bit scale and then divided by 32768 to give ±1 floats).
 *
 * Decoding is a 256-entry table lookup; encoding is the segment search of the reference code.
 */

/** Decode one µ-law code to a 16-bit linear value (G.711 table 2a, Sun `ulaw2linear`). */
function mulawToLinear16(code: number): number {
  const u = ~code & 0xff;
  // 0x84 is the µ-law bias (33 on the 14-bit scale, × 4): the segments are offset so that
  // 0 falls on a code boundary.
  let t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

/** Decode one A-law code to a 16-bit linear value (G.711 table 1a, Sun `alaw2linear`). */
function alawToLinear16(code: number): number {
  // Even bits are inverted on the line (the 0x55 mask) so that idle channels carry transitions.
  const a = (code ^ 0x55) & 0xff;
  let t = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) t += 8;
  else if (segment === 1) t += 0x108;
  else t = (t + 0x108) << (segment - 1);
  return a & 0x80 ? t : -t;
}

function buildTable(decode: (code: number) => number): Float32Array {
  const table = new Float32Array(256);
  for (let code = 0; code < 256; code++) table[code] = decode(code) / 32768;
  return table;
}

/** ±1 float value of every µ-law code, indexed by the code. */
export const MULAW_DECODE_TABLE: Float32Array = buildTable(mulawToLinear16);
/** ±1 float value of every A-law code, indexed by the code. */
export const ALAW_DECODE_TABLE: Float32Array = buildTable(alawToLinear16);

const MULAW_SEGMENT_ENDS = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff] as const;
const ALAW_SEGMENT_ENDS = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff] as const;

function segmentOf(value: number, ends: readonly number[]): number {
  for (let i = 0; i < ends.length; i++) if (value <= ends[i]!) return i;
  return ends.length;
}

/** Encode a 16-bit linear value (−32768..32767) to a µ-law code (Sun `linear2ulaw`). */
export function linear16ToMulaw(pcm: number): number {
  let value = pcm >> 2; // µ-law works on 14 bits
  let mask: number;
  if (value < 0) {
    value = -value;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  if (value > 8159) value = 8159; // clip to the largest encodable magnitude
  value += 0x84 >> 2;
  const segment = segmentOf(value, MULAW_SEGMENT_ENDS);
  if (segment >= 8) return 0x7f ^ mask;
  return (((segment << 4) | ((value >> (segment + 1)) & 0x0f)) ^ mask) & 0xff;
}

/** Encode a 16-bit linear value (−32768..32767) to an A-law code (Sun `linear2alaw`). */
export function linear16ToAlaw(pcm: number): number {
  let value = pcm >> 3; // A-law works on 13 bits
  let mask: number;
  if (value >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    value = -value - 1;
  }
  const segment = segmentOf(value, ALAW_SEGMENT_ENDS);
  if (segment >= 8) return (0x7f ^ mask) & 0xff;
  let code = segment << 4;
  code |= segment < 2 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return (code ^ mask) & 0xff;
}

function floatToLinear16(x: number): number {
  // NaN maps to silence rather than poisoning the integer code path.
  if (!(x === x)) return 0;
  const v = Math.round(x * 32768);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** Decode µ-law codes to ±1 floats. */
export function decodeMulaw(codes: Uint8Array): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = MULAW_DECODE_TABLE[codes[i]!]!;
  return out;
}

/** Decode A-law codes to ±1 floats. */
export function decodeAlaw(codes: Uint8Array): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = ALAW_DECODE_TABLE[codes[i]!]!;
  return out;
}

/** Encode ±1 floats to µ-law codes (values beyond ±1 saturate, as a real codec would). */
export function encodeMulaw(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linear16ToMulaw(floatToLinear16(samples[i]!));
  return out;
}

/** Encode ±1 floats to A-law codes (values beyond ±1 saturate, as a real codec would). */
export function encodeAlaw(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linear16ToAlaw(floatToLinear16(samples[i]!));
  return out;
}
