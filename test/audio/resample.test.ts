import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { describeResampler, resample } from '../../src/audio/resample.js';
import { VoicePassportError } from '../../src/errors.js';
import { chirp, db, fitTone, rms, tone } from './signal-analysis.js';

// Rate pairs the service meets: telephone up/down, CD and DVD rates to the model rate, and one
// awkward pair (gcd 1) that exercises the interpolated filter bank.
const PAIRS: [number, number][] = [
  [8000, 16000],
  [16000, 8000],
  [11025, 16000],
  [22050, 16000],
  [24000, 16000],
  [32000, 16000],
  [44100, 16000],
  [48000, 16000],
  [16000, 44100],
  [44101, 16000],
];

const AMPLITUDE = 0.5;
const TONE_RMS = AMPLITUDE / Math.SQRT2;

/** Analyse the output away from its ends, where the zero padding of the input does not matter. */
function middle(length: number, rate: number): [number, number] {
  const edge = Math.round(0.03 * rate);
  return [edge, length - edge];
}

describe('resample: passband (≤ 0.1 dB ripple up to 0.9 × the lower Nyquist)', () => {
  it.each(PAIRS)('%i → %i Hz keeps tone amplitudes within ±0.1 dB and adds nothing ≥ −60 dB', (from, to) => {
    const lowerNyquist = Math.min(from, to) / 2;
    for (const fraction of [0.01, 0.1, 0.25, 0.5, 0.7, 0.8, 0.85, 0.9]) {
      const f = fraction * lowerNyquist;
      const y = resample(tone(f, from, 0.25, AMPLITUDE), from, to);
      const [a, b] = middle(y.length, to);
      const fit = fitTone(y, f, to, a, b);
      const gainDb = db(fit.amplitude / AMPLITUDE);
      expect(Math.abs(gainDb), `${f} Hz gain ${gainDb.toFixed(4)} dB`).toBeLessThanOrEqual(0.1);
      // What is not the tone: images (upsampling), aliases, interpolation error.
      expect(db(fit.residualRms / TONE_RMS), `${f} Hz residual`).toBeLessThanOrEqual(-60);
    }
  });
});

describe('resample: stopband (≥ 60 dB for tones above the lower Nyquist)', () => {
  it.each(PAIRS.filter(([from, to]) => from > to))('%i → %i Hz attenuates every tone above the output Nyquist by ≥ 60 dB', (from, to) => {
    const outputNyquist = to / 2;
    const inputNyquist = from / 2;
    for (const fraction of [0.0, 0.02, 0.1, 0.3, 0.5, 0.8, 0.98]) {
      // Start just above the Nyquist frequency: the hardest alias lands just below it.
      const f = outputNyquist + 20 + fraction * (inputNyquist - outputNyquist - 40);
      const y = resample(tone(f, from, 0.25, AMPLITUDE), from, to);
      const [a, b] = middle(y.length, to);
      const levelDb = db(rms(y, a, b) / TONE_RMS);
      expect(levelDb, `${f.toFixed(0)} Hz alias at ${levelDb.toFixed(1)} dB`).toBeLessThanOrEqual(-60);
    }
  });
});

describe('resample: sweeps', () => {
  it.each([
    [48000, 16000],
    [44100, 16000],
    [16000, 8000],
  ])('%i → %i Hz: a 0 → input-Nyquist sweep comes out exact in the passband and silent above the output Nyquist', (from, to) => {
    const seconds = 2;
    const sweep = chirp(0, from / 2, from, seconds, AMPLITUDE);
    const y = resample(sweep.samples, from, to);
    const outputNyquist = to / 2;
    let passError = 0;
    let passCount = 0;
    let stopEnergy = 0;
    let stopCount = 0;
    for (let m = Math.round(0.01 * to); m < y.length - Math.round(0.01 * to); m++) {
      const t = m / to;
      const f = sweep.frequencyAt(t);
      if (f <= 0.9 * outputNyquist - 100) {
        const e = y[m]! - sweep.at(t);
        passError += e * e;
        passCount++;
      } else if (f >= outputNyquist + 100) {
        stopEnergy += y[m]! * y[m]!;
        stopCount++;
      }
    }
    expect(passCount).toBeGreaterThan(0.2 * y.length);
    expect(stopCount).toBeGreaterThan(0.2 * y.length);
    // Sample by sample: the output is the band-limited input with zero delay.
    expect(db(Math.sqrt(passError / passCount) / TONE_RMS)).toBeLessThanOrEqual(-55);
    expect(db(Math.sqrt(stopEnergy / stopCount) / TONE_RMS)).toBeLessThanOrEqual(-60);
  });

  it('8000 → 16000 Hz: a 0 → 3.6 kHz sweep is interpolated exactly (no images)', () => {
    const sweep = chirp(0, 3600, 8000, 2, AMPLITUDE);
    const y = resample(sweep.samples, 8000, 16000);
    let err = 0;
    const [a, b] = middle(y.length, 16000);
    for (let m = a; m < b; m++) err += (y[m]! - sweep.at(m / 16000)) ** 2;
    expect(db(Math.sqrt(err / (b - a)) / TONE_RMS)).toBeLessThanOrEqual(-55);
  });
});

describe('resample: shape and bookkeeping', () => {
  it('returns ceil(n × to / from) samples', () => {
    expect(resample(new Float32Array(48000), 48000, 16000).length).toBe(16000);
    expect(resample(new Float32Array(10), 48000, 16000).length).toBe(4);
    expect(resample(new Float32Array(441), 44100, 16000).length).toBe(160);
    expect(resample(new Float32Array(1), 8000, 16000).length).toBe(2);
    expect(resample(new Float32Array(0), 8000, 16000).length).toBe(0);
  });

  it('returns a copy at the same rate', () => {
    const x = Float32Array.of(0.1, -0.2, 0.3);
    const y = resample(x, 16000, 16000);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
  });

  it('keeps DC exactly (every phase has unit gain) away from the ends', () => {
    const y = resample(new Float32Array(4410).fill(0.25), 44100, 16000);
    for (let m = 200; m < y.length - 200; m++) expect(y[m]).toBeCloseTo(0.25, 6);
  });

  it('uses exact polyphase banks for common pairs and an interpolated bank for gcd-1 pairs', () => {
    expect(describeResampler(44100, 16000)).toMatchObject({ interpolation: 160, decimation: 441, exact: true, phases: 160 });
    expect(describeResampler(48000, 16000)).toMatchObject({ interpolation: 1, decimation: 3, exact: true });
    expect(describeResampler(44101, 16000)).toMatchObject({ interpolation: 16000, decimation: 44101, exact: false });
  });

  it.each([
    [0, 16000],
    [16000, -1],
    [16000.5, 16000],
    [Number.NaN, 16000],
    [16000, Number.POSITIVE_INFINITY],
    [10_000_000, 16000],
  ])('refuses rates %s → %s with a typed error', (from, to) => {
    expect(() => resample(new Float32Array(4), from, to)).toThrow(VoicePassportError);
  });

  it('is fast: 20 s of 48 kHz to 16 kHz in well under 2 s even on a loaded machine', () => {
    const x = tone(440, 48000, 20);
    const t0 = performance.now();
    resample(x, 48000, 16000);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('gives finite output of the right length, bounded by the kernel gain, for any input', () => {
    const rates = fc.constantFrom(8000, 11025, 16000, 22050, 32000, 44100, 48000, 12345);
    fc.assert(
      fc.property(fc.float32Array({ min: -1, max: 1, noNaN: true, maxLength: 300 }), rates, rates, (x, from, to) => {
        const y = resample(x, from, to);
        expect(y.length).toBe(Math.ceil((x.length * to) / from));
        // A windowed sinc's L1 norm stays below 2 for these transition widths (Gibbs overshoot).
        for (const v of y) expect(Math.abs(v)).toBeLessThan(2);
      }),
      { numRuns: 200 },
    );
  });
});
