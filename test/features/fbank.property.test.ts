import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeFbank, FLOAT32_EPSILON } from '../../src/features/fbank.js';
import { normaliseFeatures } from '../../src/features/normalise.js';
import { type FbankOptions, torchaudioFbankDefaults } from '../../src/features/options.js';

const LOG_EPS = Math.fround(Math.log(FLOAT32_EPSILON));

/** Option sets drawn from: the two public conventions and torchaudio's other knobs. */
const optionSets: FbankOptions[] = [
  { ...torchaudioFbankDefaults, numMelBins: 80, windowType: 'hamming' },
  { ...torchaudioFbankDefaults, numMelBins: 80, snipEdges: false, highFreq: -400 },
  { ...torchaudioFbankDefaults, numMelBins: 40, windowType: 'rectangular', useEnergy: true, rawEnergy: false },
  { ...torchaudioFbankDefaults, numMelBins: 23, windowType: 'blackman', roundToPowerOfTwo: false, snipEdges: false },
  { ...torchaudioFbankDefaults, numMelBins: 64, removeDcOffset: false, preemphasisCoefficient: 0, usePower: false },
  { ...torchaudioFbankDefaults, numMelBins: 30, frameLength: 20, frameShift: 15, windowType: 'hanning', energyFloor: 0, useEnergy: true },
];

const arbOptions = fc.constantFrom(...optionSets);
const arbRate = fc.constantFrom(8000, 16000);
const arbScale = fc.constantFrom('int16' as const, 'unit' as const);
/** Bounded audio: ±1 floats, any values including exact zeros, runs of silence and full scale. */
const arbSamples = fc
  .array(fc.oneof(fc.float({ min: -1, max: 1, noNaN: true }), fc.constant(0), fc.constant(1), fc.constant(-1)), {
    minLength: 0,
    maxLength: 2400,
  })
  .map((a) => Float32Array.from(a));

describe('computeFbank properties', () => {
  it('frame count follows Kaldi’s formula for every length (0 below one window)', () => {
    fc.assert(
      fc.property(fc.nat(6000), arbRate, arbOptions, (n, sr, o) => {
        const size = Math.trunc(sr * o.frameLength * 0.001);
        const shift = Math.trunc(sr * o.frameShift * 0.001);
        const expected = n < size ? 0 : o.snipEdges ? 1 + Math.floor((n - size) / shift) : Math.floor((n + Math.floor(shift / 2)) / shift);
        const m = computeFbank(new Float32Array(n), sr, o, 'unit');
        expect(m.frames).toBe(expected);
        expect(m.bins).toBe(o.numMelBins + (o.useEnergy ? 1 : 0));
        expect(m.data.length).toBe(m.frames * m.bins);
      }),
      { numRuns: 100 },
    );
  });

  it('is finite, and never below the log floor, for arbitrary bounded input', () => {
    fc.assert(
      fc.property(arbSamples, arbRate, arbOptions, arbScale, (x, sr, o, scale) => {
        const m = computeFbank(x, sr, o, scale);
        const floor = o.useLogFbank ? LOG_EPS : 0;
        const bad = Array.from(m.data).filter((v) => !Number.isFinite(v) || v < floor);
        expect(bad).toEqual([]);
      }),
      { numRuns: 80 },
    );
  });

  it('mean-normalised features do not depend on int16 vs unit scale (away from the log floor)', () => {
    // The int16 scale adds 2·ln 32768 to every log-mel value, which per-utterance mean
    // normalisation removes, except where ln(max(·, ε)) clips the ±1-scale value: bins with any
    // frame within 3 nats of the floor (e.g. 80 bins at 8 kHz leave the lowest triangles with
    // almost no FFT bins) are skipped, and most bins must remain.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.05, max: 0.9, noNaN: true }),
        fc.integer({ min: 1600, max: 3200 }),
        arbRate,
        fc.constantFrom(optionSets[0]!, optionSets[1]!),
        (seed, amp, n, sr, o) => {
          let s = seed;
          const x = Float32Array.from({ length: n }, () => {
            s = (Math.imul(1664525, s) + 1013904223) >>> 0;
            return amp * (s / 2 ** 32 - 0.5);
          });
          const unit = computeFbank(x, sr, o, 'unit');
          const a = normaliseFeatures(computeFbank(x, sr, o, 'int16'), 'mean');
          const b = normaliseFeatures(unit, 'mean');
          expect(a.frames).toBe(b.frames);
          let compared = 0;
          let maxDiff = 0;
          for (let bin = 0; bin < a.bins; bin++) {
            let nearFloor = false;
            for (let t = 0; t < a.frames; t++) if (unit.data[t * a.bins + bin]! < LOG_EPS + 3) nearFloor = true;
            if (nearFloor) continue;
            compared++;
            for (let t = 0; t < a.frames; t++) {
              const i = t * a.bins + bin;
              maxDiff = Math.max(maxDiff, Math.abs(a.data[i]! - b.data[i]!));
            }
          }
          expect(maxDiff).toBeLessThan(1e-3);
          expect(compared).toBeGreaterThanOrEqual(a.bins * 0.75);
        },
      ),
      { numRuns: 25 },
    );
  });
});
