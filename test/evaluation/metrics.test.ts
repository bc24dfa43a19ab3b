import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binomialUpperBound,
  equalErrorRate,
  errorCountsAt,
  minDetectionCost,
  operatingPoints,
  quoteRate,
  sortTrials,
  tieGroups,
  weightedEer,
  type TrialScores,
} from '../../src/evaluation/metrics.js';

const eerOf = (t: TrialScores) => equalErrorRate(operatingPoints(sortTrials(t)));
const minDcfOf = (t: TrialScores, pTarget = 0.01) => minDetectionCost(operatingPoints(sortTrials(t)), { pTarget, cMiss: 1, cFalseAlarm: 1 });

/** C(n, k) as a float, for the small k the tests use. */
const binomial = (n: number, k: number) => {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - i + 1)) / i;
  return c;
};

const scores = (min = 1) => fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: min, maxLength: 60 });

describe('operating points', () => {
  it('hand-worked: targets [0.9, 0.5, 0.3], non-targets [0.5, 0.1]; the tie at 0.5 is one point', () => {
    const p = operatingPoints(sortTrials({ target: [0.9, 0.5, 0.3], nonTarget: [0.5, 0.1] }));
    expect(Array.from(p.thresholds)).toEqual([Infinity, 0.9, 0.5, 0.3, 0.1]);
    expect(Array.from(p.fmr)).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(Array.from(p.fnmr, (v) => Number(v.toFixed(12)))).toEqual([1, 0.666666666667, 0.333333333333, 0, 0]);
  });

  it('refuses trial sets without targets or without non-targets, and non-finite scores', () => {
    expect(() => operatingPoints(sortTrials({ target: [], nonTarget: [0.1] }))).toThrow(/both target and non-target/);
    expect(() => operatingPoints(sortTrials({ target: [0.2], nonTarget: [] }))).toThrow(/both target and non-target/);
    expect(() => sortTrials({ target: [NaN], nonTarget: [0] })).toThrow(/not a finite number/);
  });

  it('integer weights count like repeated trials', () => {
    fc.assert(
      fc.property(scores(), scores(), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 120, maxLength: 120 }), (t, n, w) => {
        const sorted = sortTrials({ target: t, nonTarget: n });
        // Weight of each sorted trial = w[input index]; expand the input the same way.
        const weights = new Float64Array(t.length + n.length);
        for (let i = 0; i < weights.length; i++) weights[sorted.order[i] as number] = w[i] as number;
        const repeat = (xs: number[], offset: number) => xs.flatMap((x, i) => Array<number>(w[offset + i] as number).fill(x));
        const weighted = equalErrorRate(operatingPoints(sorted, weights)).eer;
        const repeated = eerOf({ target: repeat(t, 0), nonTarget: repeat(n, t.length) }).eer;
        expect(weighted).toBeCloseTo(repeated, 12);
      }),
      { numRuns: 100 },
    );
  });
});

describe('weightedEer (the bootstrap\'s one-pass EER)', () => {
  it('tieGroups: end of each run of equal scores', () => {
    expect(Array.from(tieGroups(sortTrials({ target: [0.9, 0.5, 0.3], nonTarget: [0.5, 0.1] })))).toEqual([1, 3, 4, 5]);
  });

  it('equals the EER of the full operating-point curve for any weights (zeros included)', () => {
    fc.assert(
      fc.property(scores(), scores(), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 120, maxLength: 120 }), (t, n, w) => {
        const sorted = sortTrials({ target: t, nonTarget: n });
        const weights = Float64Array.from({ length: t.length + n.length }, (_, i) => w[i] as number);
        let wT = 0;
        let wN = 0;
        weights.forEach((x, i) => (sorted.isTarget[i] === 1 ? (wT += x) : (wN += x)));
        fc.pre(wT > 0 && wN > 0);
        const expected = equalErrorRate(operatingPoints(sorted, weights)).eer;
        expect(weightedEer(sorted, tieGroups(sorted), weights, wT, wN)).toBeCloseTo(expected, 12);
      }),
      { numRuns: 200 },
    );
  });
});

describe('equal error rate', () => {
  it('hand-worked: the DET segment from (FMR 0, FNMR 2/3) to (1/2, 1/3) meets the diagonal at exactly 0.4', () => {
    // Accept ≥ 0.9: FMR 0, FNMR 2/3. Accept ≥ 0.5: FMR 1/2, FNMR 1/3. On the segment
    // x = s/2, y = 2/3 − s/3; x = y at s = 4/5, so EER = 0.4 and the threshold 0.9 − 0.8·0.4 = 0.58.
    const r = eerOf({ target: [0.9, 0.5, 0.3], nonTarget: [0.5, 0.1] });
    expect(r.eer).toBeCloseTo(0.4, 15);
    expect(r.threshold).toBeCloseTo(0.58, 15);
  });

  it('hand-worked: a crossing at an operating point gives that point (1/3)', () => {
    const r = eerOf({ target: [0.9, 0.8, 0.3], nonTarget: [0.7, 0.2, 0.1] });
    expect(r.eer).toBeCloseTo(1 / 3, 15);
  });

  it('perfectly separated scores: EER 0 and minDCF 0', () => {
    fc.assert(
      fc.property(scores(), scores(), fc.integer({ min: 1, max: 50 }), (t, n, gap) => {
        const top = Math.max(...n);
        const target = t.map((x) => top + gap + Math.abs(x));
        expect(eerOf({ target, nonTarget: n }).eer).toBe(0);
        expect(minDcfOf({ target, nonTarget: n }).minDcf).toBe(0);
      }),
    );
  });

  it('perfectly inverted scores: EER 1', () => {
    expect(eerOf({ target: [0, 1, 2], nonTarget: [3, 4] }).eer).toBe(1);
  });

  it('identical score lists: EER exactly 50 %', () => {
    fc.assert(
      fc.property(scores(), (s) => {
        expect(eerOf({ target: s, nonTarget: [...s].reverse() }).eer).toBeCloseTo(0.5, 12);
      }),
    );
  });

  it('two large samples of one distribution: EER ≈ 50 %', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        let a = seed;
        const rnd = () => ((a = (a * 48271) % 2147483647) / 2147483647) * 2 - 1;
        const t = Array.from({ length: 2000 }, rnd);
        const n = Array.from({ length: 2000 }, rnd);
        expect(Math.abs(eerOf({ target: t, nonTarget: n }).eer - 0.5)).toBeLessThan(0.06);
      }),
      { numRuns: 20 },
    );
  });

  it('is invariant to strictly increasing transforms of the scores (EER and minDCF)', () => {
    const transforms = [(x: number) => 3 * x - 7, (x: number) => x ** 3, (x: number) => Math.exp(x / 100), (x: number) => Math.atan(x / 50)];
    fc.assert(
      fc.property(scores(), scores(), fc.constantFrom(...transforms), (t, n, f) => {
        const base = { target: t, nonTarget: n };
        const moved = { target: t.map(f), nonTarget: n.map(f) };
        expect(eerOf(moved).eer).toBe(eerOf(base).eer);
        expect(minDcfOf(moved).minDcf).toBe(minDcfOf(base).minDcf);
      }),
    );
  });

  it('lies in [0, 1]', () => {
    fc.assert(
      fc.property(scores(), scores(), (t, n) => {
        const { eer } = eerOf({ target: t, nonTarget: n });
        expect(eer).toBeGreaterThanOrEqual(0);
        expect(eer).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('minimum detection cost', () => {
  it('hand-worked at P_target 0.01: the best point is accept ≥ 0.9 (FNMR 2/3, FMR 0): 2/3', () => {
    const r = minDcfOf({ target: [0.9, 0.5, 0.3], nonTarget: [0.5, 0.1] });
    expect(r.minDcf).toBeCloseTo(2 / 3, 12);
    expect(r.threshold).toBe(0.9);
    expect(r.fmr).toBe(0);
  });

  it('normalised: never above 1 (the better trivial system) and never below 0, for any P_target', () => {
    fc.assert(
      fc.property(scores(), scores(), fc.double({ min: 0.001, max: 0.999, noNaN: true }), (t, n, p) => {
        const { minDcf } = minDcfOf({ target: t, nonTarget: n }, p);
        expect(minDcf).toBeGreaterThanOrEqual(0);
        expect(minDcf).toBeLessThanOrEqual(1 + 1e-12);
      }),
    );
  });

  it('refuses an impossible cost model', () => {
    const p = operatingPoints(sortTrials({ target: [1], nonTarget: [0] }));
    expect(() => minDetectionCost(p, { pTarget: 0, cMiss: 1, cFalseAlarm: 1 })).toThrow(/P_target/);
    expect(() => minDetectionCost(p, { pTarget: 0.5, cMiss: 0, cFalseAlarm: 1 })).toThrow(/costs/);
  });
});

describe('FMR and FNMR at a threshold', () => {
  it('accept when score ≥ threshold: counts on a hand example', () => {
    const c = errorCountsAt({ target: [0.9, 0.5, 0.3], nonTarget: [0.5, 0.1] }, 0.5);
    expect(c).toEqual({ falseMatches: 1, nonTargetTrials: 2, falseNonMatches: 1, targetTrials: 3, fmr: 0.5, fnmr: 1 / 3 });
  });

  it('FMR never rises and FNMR never falls as the threshold rises', () => {
    fc.assert(
      fc.property(scores(), scores(), fc.array(fc.integer({ min: -1100, max: 1100 }), { minLength: 2, maxLength: 20 }), (t, n, ths) => {
        const sortedThs = [...ths].sort((a, b) => a - b);
        const rates = sortedThs.map((th) => errorCountsAt({ target: t, nonTarget: n }, th));
        for (let i = 1; i < rates.length; i++) {
          expect(rates[i]!.fmr).toBeLessThanOrEqual(rates[i - 1]!.fmr);
          expect(rates[i]!.fnmr).toBeGreaterThanOrEqual(rates[i - 1]!.fnmr);
        }
      }),
    );
  });

  it('agrees with the operating points at every distinct score', () => {
    fc.assert(
      fc.property(scores(), scores(), (t, n) => {
        const p = operatingPoints(sortTrials({ target: t, nonTarget: n }));
        for (let k = 1; k < p.thresholds.length; k++) {
          const c = errorCountsAt({ target: t, nonTarget: n }, p.thresholds[k]!);
          expect(c.fmr).toBeCloseTo(p.fmr[k]!, 12);
          expect(c.fnmr).toBeCloseTo(p.fnmr[k]!, 12);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('quoting a rate (ISO/IEC 19795-1 rule of three)', () => {
  it('no error in 30 000 trials is "< 3/30000", not 0 %', () => {
    expect(quoteRate(0, 30000)).toEqual({ value: null, upperBound: 1e-4, text: '< 3/30000 (0.0100 %)' });
  });

  it('a measured rate below 3/N is also withheld, with the exact 95 % bound for its 1 or 2 errors; at or above it, it is printed', () => {
    expect(quoteRate(2, 30000)).toEqual({ value: null, upperBound: expect.closeTo(6.2953 / 30000, 8), text: '< 3/30000 (0.0100 %)' });
    expect(quoteRate(1, 30000).upperBound).toBeCloseTo(4.7436 / 30000, 8);
    expect(quoteRate(3, 30000)).toEqual({ value: 1e-4, upperBound: null, text: '0.010 %' });
    expect(quoteRate(150, 1000)).toEqual({ value: 0.15, upperBound: null, text: '15.00 %' });
  });

  it('never prints a value below 3/N', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100000 }), fc.integer({ min: 0, max: 100000 }), (n, e) => {
        const q = quoteRate(Math.min(e, n), n);
        if (q.value !== null) expect(q.value).toBeGreaterThanOrEqual(3 / n);
        else if (n < 3) expect(q.upperBound).toBeNull();
        // The bound is never below the rule of three's 3/N (nor, for 1 or 2 errors, below the measured rate).
        else expect(q.upperBound).toBeGreaterThanOrEqual(Math.min(3 / n, 1) * (1 - 1e-9));
      }),
    );
  });

  it('under 3 trials quotes no rate: 3/N would be over 100 %', () => {
    expect(quoteRate(2, 2)).toEqual({ value: null, upperBound: null, text: '2/2 (too few trials to quote a rate)' });
    expect(quoteRate(0, 1)).toEqual({ value: null, upperBound: null, text: '0/1 (too few trials to quote a rate)' });
  });

  it('the Clopper–Pearson bound leaves 5 % below it: P(X ≤ k | n, bound) = 0.05', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 5000 }), fc.integer({ min: 0, max: 2 }), (n, k) => {
        const p = binomialUpperBound(k, n);
        let cdf = 0;
        for (let i = 0; i <= k; i++) cdf += binomial(n, i) * p ** i * (1 - p) ** (n - i);
        expect(cdf).toBeCloseTo(0.05, 6);
      }),
      { numRuns: 200 },
    );
    // Zero errors: 1 − 0.05^(1/n), which the rule of three rounds to 3/n.
    expect(binomialUpperBound(0, 1000)).toBeCloseTo(1 - 0.05 ** (1 / 1000), 12);
  });

  it('no trials', () => {
    expect(quoteRate(0, 0)).toEqual({ value: null, upperBound: null, text: 'no trials' });
  });
});
