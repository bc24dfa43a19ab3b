import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import type { FeatureMatrix } from '../../src/features/fbank.js';
import { normaliseFeatures } from '../../src/features/normalise.js';
import type { FeatureNormalisation } from '../../src/features/options.js';

function matrix(rows: number[][]): FeatureMatrix {
  return { frames: rows.length, bins: rows[0]?.length ?? 3, data: Float32Array.from(rows.flat()) };
}

function column(m: FeatureMatrix, b: number): number[] {
  return Array.from({ length: m.frames }, (_, t) => m.data[t * m.bins + b]!);
}

describe('normaliseFeatures', () => {
  const m = matrix([
    [1, 10, 5],
    [3, 20, 5],
    [5, 60, 5],
  ]);

  it("'none' returns an equal copy", () => {
    const out = normaliseFeatures(m, 'none');
    expect(out).toEqual(m);
    expect(out.data).not.toBe(m.data);
  });

  it("'mean' subtracts each bin's mean over the utterance (CMN)", () => {
    const out = normaliseFeatures(m, 'mean');
    expect(Array.from(out.data)).toEqual([-2, -20, 0, 0, -10, 0, 2, 30, 0]);
  });

  it("'mean-variance' also divides by the population standard deviation; a constant bin gives zeros", () => {
    const out = normaliseFeatures(m, 'mean-variance');
    const s0 = Math.sqrt(8 / 3);
    const s1 = Math.sqrt((400 + 100 + 900) / 3);
    expect(column(out, 0).map((v) => +v.toFixed(5))).toEqual([-2 / s0, 0, 2 / s0].map((v) => +v.toFixed(5)));
    expect(column(out, 1).map((v) => +v.toFixed(5))).toEqual([-20 / s1, -10 / s1, 30 / s1].map((v) => +v.toFixed(5)));
    expect(column(out, 2)).toEqual([0, 0, 0]);
  });

  it('leaves the input untouched and handles zero frames', () => {
    const before = Float32Array.from(m.data);
    normaliseFeatures(m, 'mean-variance');
    expect(m.data).toEqual(before);
    for (const mode of ['none', 'mean', 'mean-variance'] as const) {
      expect(normaliseFeatures({ frames: 0, bins: 80, data: new Float32Array(0) }, mode)).toEqual({
        frames: 0,
        bins: 80,
        data: new Float32Array(0),
      });
    }
  });

  it('a single frame normalises to zeros, not NaN', () => {
    expect(Array.from(normaliseFeatures(matrix([[4, -2, 7]]), 'mean-variance').data)).toEqual([0, 0, 0]);
  });

  it('rejects an unknown mode and a matrix whose data does not match its shape', () => {
    expect(() => normaliseFeatures(m, 'cmvn' as FeatureNormalisation)).toThrow(VoicePassportError);
    expect(() => normaliseFeatures({ frames: 2, bins: 3, data: new Float32Array(5) }, 'mean')).toThrow(/5 values, not 2 × 3/);
  });

  it('property: mean → per-bin means 0; mean-variance → per-bin variance 1 (or 0 for constant bins)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 320, maxLength: 320 }),
        (frames, bins, pool) => {
          const m: FeatureMatrix = { frames, bins, data: Float32Array.from(pool.slice(0, frames * bins)) };
          const cmn = normaliseFeatures(m, 'mean');
          const cmvn = normaliseFeatures(m, 'mean-variance');
          for (let b = 0; b < bins; b++) {
            const c = column(cmn, b);
            expect(Math.abs(c.reduce((s, v) => s + v, 0) / frames)).toBeLessThan(1e-3);
            const v = column(cmvn, b);
            const mean = v.reduce((s, x) => s + x, 0) / frames;
            const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / frames;
            const spread = Math.max(...column(m, b)) - Math.min(...column(m, b));
            if (spread > 1e-3) expect(variance).toBeCloseTo(1, 3);
            for (const x of v) expect(Number.isFinite(x)).toBe(true);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});
