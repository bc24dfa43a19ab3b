/** AS-norm (src/scoring/as-norm.ts): hand-computed cases, properties, and a straightforward reference. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AS_NORM_SD_FLOOR, asNormScore, cohortCosines, cohortStats, topKStats, type CohortMatrix } from '../../src/scoring/as-norm.js';
import { l2Normalise } from '../../src/scoring/cosine.js';

const finite = (min = -1, max = 1) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const stats = fc.record({ mean: finite(-1, 1), sd: fc.double({ min: 1e-3, max: 2, noNaN: true }) });

function cohortOf(rows: readonly Float32Array[]): CohortMatrix {
  const dim = rows[0]!.length;
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(l2Normalise(r), i * dim));
  return { rows: out, size: rows.length, dim };
}

/** The definition, written as plainly as possible: sort descending, take K, mean, population sd. */
function reference(e: Float32Array, t: Float32Array, cohort: readonly Float32Array[], k: number): number {
  const unit = (v: Float32Array) => Array.from(l2Normalise(v));
  const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
  const side = (x: number[]) => {
    const top = cohort
      .map((c) => cos(x, unit(c)))
      .sort((a, b) => b - a)
      .slice(0, k);
    const mean = top.reduce((s, v) => s + v, 0) / top.length;
    const sd = Math.sqrt(top.reduce((s, v) => s + (v - mean) ** 2, 0) / top.length);
    return { mean, sd: Math.max(sd, AS_NORM_SD_FLOOR) };
  };
  const ue = unit(e);
  const ut = unit(t);
  const s = cos(ue, ut);
  const se = side(ue);
  const st = side(ut);
  return ((s - se.mean) / se.sd + (s - st.mean) / st.sd) / 2;
}

describe('topKStats', () => {
  it('mean and population sd of the K largest', () => {
    // Top 3 of [0.1, 0.9, 0.5, 0.7, 0.3] = 0.9, 0.7, 0.5: mean 0.7, sd sqrt(0.08/3).
    const s = topKStats([0.1, 0.9, 0.5, 0.7, 0.3], 3);
    expect(s.used).toBe(3);
    expect(s.mean).toBeCloseTo(0.7, 12);
    expect(s.sd).toBeCloseTo(Math.sqrt(0.08 / 3), 12);
  });

  it('K above the cohort size uses the whole cohort; equal values get the floor', () => {
    const s = topKStats([0.2, 0.4], 100);
    expect(s).toEqual({ mean: expect.closeTo(0.3, 12), sd: expect.closeTo(0.1, 12), used: 2 });
    expect(topKStats([0.5, 0.5, 0.5], 2)).toEqual({ mean: 0.5, sd: AS_NORM_SD_FLOOR, used: 2 });
    expect(topKStats([0.5], 1).sd).toBe(AS_NORM_SD_FLOOR);
  });

  it('refuses K < 1, a non-integer K, an empty cohort and non-finite scores', () => {
    expect(() => topKStats([0.1], 0)).toThrow(RangeError);
    expect(() => topKStats([0.1], 1.5)).toThrow(RangeError);
    expect(() => topKStats([], 3)).toThrow(/at least one cohort score/);
    expect(() => topKStats([0.1, Number.NaN], 2)).toThrow(/non-finite/);
  });

  it('property: never reads more than the cohort holds; sd ≥ floor; mean within the values', () => {
    fc.assert(
      fc.property(fc.array(finite(), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 100 }), (values, k) => {
        const s = topKStats(values, k);
        expect(s.used).toBe(Math.min(k, values.length));
        expect(s.sd).toBeGreaterThanOrEqual(AS_NORM_SD_FLOOR);
        const top = [...values].sort((a, b) => b - a).slice(0, s.used);
        expect(s.mean).toBeGreaterThanOrEqual(Math.min(...top) - 1e-12);
        expect(s.mean).toBeLessThanOrEqual(Math.max(...top) + 1e-12);
      }),
    );
  });
});

describe('asNormScore', () => {
  it('a hand-computed trial', () => {
    // ((0.6 − 0.2)/0.1 + (0.6 − 0.3)/0.05) / 2 = (4 + 6) / 2 = 5
    expect(asNormScore(0.6, { mean: 0.2, sd: 0.1 }, { mean: 0.3, sd: 0.05 })).toBeCloseTo(5, 12);
  });

  it('property: symmetric in its two sides', () => {
    fc.assert(
      fc.property(finite(), stats, stats, (s, e, t) => {
        expect(asNormScore(s, e, t)).toBe(asNormScore(s, t, e));
      }),
    );
  });

  it('property: strictly increasing in s for fixed statistics', () => {
    fc.assert(
      fc.property(finite(-1, 0.99), fc.double({ min: 1e-6, max: 1, noNaN: true }), stats, stats, (s, gap, e, t) => {
        expect(asNormScore(s + gap, e, t)).toBeGreaterThan(asNormScore(s, e, t));
      }),
    );
  });

  it('property: equals (s − μ)/σ when both sides have the same statistics', () => {
    fc.assert(
      fc.property(finite(), stats, (s, st) => {
        expect(asNormScore(s, st, st)).toBeCloseTo((s - st.mean) / st.sd, 9);
      }),
    );
  });
});

describe('cohortStats against the reference implementation', () => {
  const vec = (dim: number) => fc.float32Array({ minLength: dim, maxLength: dim, min: -1, max: 1, noNaN: true, noDefaultInfinity: true }).filter((v) => v.some((x) => Math.abs(x) > 1e-3));

  it('property: random embeddings, cohorts and K agree with sort-take-K-mean-sd', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }).chain((dim) => fc.tuple(vec(dim), vec(dim), fc.array(vec(dim), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 50 }))),
        ([e, t, rows, k]) => {
          const cohort = cohortOf(rows);
          const ue = l2Normalise(e);
          const ut = l2Normalise(t);
          const s = ue.reduce((acc, x, i) => acc + x * ut[i]!, 0);
          const got = asNormScore(s, cohortStats(ue, cohort, k), cohortStats(ut, cohort, k));
          const want = reference(e, t, rows, k);
          expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('cohortCosines refuses an embedding of another size and a cohort of the wrong length', () => {
    const cohort = cohortOf([new Float32Array([1, 0, 0]), new Float32Array([0, 1, 0])]);
    expect(Array.from(cohortCosines(new Float32Array([1, 0, 0]), cohort))).toEqual([1, 0]);
    expect(() => cohortCosines(new Float32Array([1, 0]), cohort)).toThrow(/2 dimensions, the cohort 3/);
    expect(() => cohortCosines(new Float32Array([1, 0, 0]), { ...cohort, size: 3 })).toThrow(/not 3 × 3/);
  });
});
