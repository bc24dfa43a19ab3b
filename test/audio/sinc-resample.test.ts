import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { torchaudioResample, torchaudioResamples } from '../../src/audio/sinc-resample.js';
import { isVoicePassportError } from '../../src/errors.js';

interface Case {
  fromRate: number;
  toRate: number;
  inputLength: number;
  input: string;
  output: string;
  outputLength: number;
}

const fixture = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../../fixtures/resample/torchaudio.json'), 'utf8')) as { cases: Case[] };
const floats = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

describe('torchaudioResample: torchaudio.functional.resample at its defaults', () => {
  it.each(fixture.cases.map((c) => [`${c.fromRate} → ${c.toRate} Hz, ${c.inputLength} samples`, c] as const))('%s: the same samples as torchaudio', (_, c) => {
    const x = floats(c.input);
    const want = floats(c.output);
    expect(x.length).toBe(c.inputLength);
    const got = torchaudioResample(x, c.fromRate, c.toRate);
    expect(got.length).toBe(c.outputLength);
    // torchaudio sums hundreds of taps in float32 (conv1d); this sums in float64. 1e-5 of full
    // scale is −100 dB, far below the 16-bit floor; a wrong kernel or offset is off by 1e-2 or more.
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it('the fixture covers the telephone path both ways and a CD rate', () => {
    expect(fixture.cases.map((c) => `${c.fromRate}:${c.toRate}`)).toEqual(expect.arrayContaining(['8000:16000', '16000:8000', '44100:16000']));
  });

  it('property: ceil(n·to/from) samples; linear; the same rate is the identity', () => {
    fc.assert(
      fc.property(
        fc.constantFrom([8000, 16000], [16000, 8000], [22050, 16000], [48000, 16000]),
        fc.float32Array({ minLength: 0, maxLength: 300, noDefaultInfinity: true, noNaN: true, min: -1, max: 1 }),
        fc.double({ min: -4, max: 4, noNaN: true }),
        ([from, to], x, gain) => {
          const y = torchaudioResample(x, from!, to!);
          expect(y.length).toBe(Math.ceil((x.length * to!) / from!));
          const scaled = torchaudioResample(Float32Array.from(x, (v) => v * gain), from!, to!);
          y.forEach((v, i) => expect(scaled[i]!).toBeCloseTo(v * gain, 4));
          expect(torchaudioResample(x, from!, from!)).toBe(x);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('takes every common rate to 16 kHz; refuses rates that are not whole Hz, or whose bank would be huge, as an unsupported sample rate', () => {
    for (const rate of [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]) expect(torchaudioResamples(rate, 16000)).toBe(true);
    for (const [from, to] of [
      [8000.5, 16000],
      [0, 16000],
      [44101, 16000],
      [47996, 16000], // 4 000 rows of 12 037 taps
    ] as const) {
      expect(torchaudioResamples(from, to)).toBe(false);
      let error: unknown;
      try {
        torchaudioResample(new Float32Array(10), from, to);
      } catch (e) {
        error = e;
      }
      expect(isVoicePassportError(error) && error.code).toBe('audio-sample-rate-unsupported');
    }
  });
});
