import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ALAW_DECODE_TABLE,
  MULAW_DECODE_TABLE,
  decodeAlaw,
  decodeMulaw,
  encodeAlaw,
  encodeMulaw,
  linear16ToAlaw,
  linear16ToMulaw,
} from '../../src/audio/g711.js';

const allCodes = Uint8Array.from({ length: 256 }, (_, i) => i);
const toInt16 = (x: number) => Math.round(x * 32768);

describe('G.711 µ-law', () => {
  it('decodes codes to the G.711 table values (16-bit scale)', () => {
    // Values from ITU-T G.711 table 2a (14-bit ×4) / Sun g711.c.
    const known: [number, number][] = [
      [0x00, -32124],
      [0x80, 32124],
      [0x0f, -16764], // segment 7 is 0x00..0x0f: 0x0f is its smallest magnitude (4191 × 4)
      [0x7e, -8],
      [0xfe, 8],
      [0xff, 0],
      [0x7f, 0],
      [0xf0, 120],
      [0x70, -120],
      [0xc0, 1884],
    ];
    for (const [code, value] of known) expect(toInt16(MULAW_DECODE_TABLE[code]!), `code 0x${code.toString(16)}`).toBe(value);
  });

  it('round-trips all 256 codes (the two zeros 0x7f and 0xff both encode as 0xff)', () => {
    const back = encodeMulaw(decodeMulaw(allCodes));
    for (let code = 0; code < 256; code++) expect(back[code], `code ${code}`).toBe(code === 0x7f ? 0xff : code);
  });

  it('encodes the extremes and zero as the reference does', () => {
    expect(linear16ToMulaw(0)).toBe(0xff);
    expect(linear16ToMulaw(32767)).toBe(0x80);
    expect(linear16ToMulaw(-32768)).toBe(0x00);
    expect(encodeMulaw(Float32Array.of(5, -5, Number.NaN))).toEqual(Uint8Array.of(0x80, 0x00, 0xff));
  });

  it('keeps the quantisation error within one step (≤ 1/16 of the magnitude above the first segments)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32767 }), (x) => {
        const y = toInt16(MULAW_DECODE_TABLE[linear16ToMulaw(x)]!);
        expect(Math.sign(y) === Math.sign(x) || y === 0 || Math.abs(x) < 8).toBe(true);
        expect(Math.abs(y - x)).toBeLessThanOrEqual(Math.max(16, Math.abs(x) / 16) + 644 * Number(Math.abs(x) > 32124));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('G.711 A-law', () => {
  it('decodes codes to the G.711 table values (16-bit scale)', () => {
    const known: [number, number][] = [
      [0xd5, 8],
      [0x55, -8],
      [0xd4, 24],
      [0xaa, 32256],
      [0x2a, -32256],
      [0xc5, 264], // first code of segment 1
      [0x80 ^ 0x55 ^ 0x70, 16896], // first code of segment 7
    ];
    for (const [code, value] of known) expect(toInt16(ALAW_DECODE_TABLE[code]!), `code 0x${code.toString(16)}`).toBe(value);
  });

  it('round-trips all 256 codes exactly', () => {
    expect(encodeAlaw(decodeAlaw(allCodes))).toEqual(allCodes);
  });

  it('encodes the extremes and zero as the reference does', () => {
    expect(linear16ToAlaw(0)).toBe(0xd5);
    expect(linear16ToAlaw(-1)).toBe(0x55);
    expect(linear16ToAlaw(32767)).toBe(0xaa);
    expect(linear16ToAlaw(-32768)).toBe(0x2a);
  });

  it('keeps the quantisation error within one step (≤ 1/32 of the magnitude above the first segments)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32767 }), (x) => {
        const y = toInt16(ALAW_DECODE_TABLE[linear16ToAlaw(x)]!);
        expect(Math.abs(y - x)).toBeLessThanOrEqual(Math.max(16, Math.abs(x) / 32));
      }),
      { numRuns: 2000 },
    );
  });

  it('has 256 distinct, antisymmetric decoded values', () => {
    expect(new Set(ALAW_DECODE_TABLE).size).toBe(256);
    for (let code = 0; code < 128; code++) expect(ALAW_DECODE_TABLE[code]).toBe(-ALAW_DECODE_TABLE[code | 0x80]!);
  });
});
