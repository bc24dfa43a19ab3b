import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCountsAt, type TrialScores } from '../../src/evaluation/metrics.js';
import {
  applyCalibration,
  cllr,
  cosineForLlr,
  fitLogisticCalibration,
  fmrGrid,
  lowestSupportedTarget,
  MIN_FALSE_MATCH_PAIRS,
  minSpeechForEer,
  nextUp,
  operatingTable,
  softplus,
  tableHasIntervals,
  thresholdForFmr,
  type OperatingRow,
} from '../../src/scoring/calibration.js';
import { falseMatchPairs } from '../../src/evaluation/confidence.js';
import { sortTrials } from '../../src/evaluation/metrics.js';

/** Inverse standard normal CDF (P. J. Acklam's rational approximation, relative error < 1.2e-9). */
function probit(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q = p < 0.5 ? p : 1 - p;
  let x: number;
  if (q < 0.02425) {
    const r = Math.sqrt(-2 * Math.log(q));
    x = (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) / ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1);
    return p < 0.5 ? x : -x; // x is the (negative) quantile of the lower tail q
  }
  const r = q - 0.5;
  const s = r * r;
  x = ((((((a[0]! * s + a[1]!) * s + a[2]!) * s + a[3]!) * s + a[4]!) * s + a[5]!) * r) / (((((b[0]! * s + b[1]!) * s + b[2]!) * s + b[3]!) * s + b[4]!) * s + 1);
  return p < 0.5 ? x : -x;
}

/** n deterministic draws of N(mean, sd²): the normal quantiles at (i + ½)/n (no sampling noise). */
function gaussianQuantiles(n: number, mean: number, sd: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => mean + sd * probit((i + 0.5) / n));
}

/**
 * Equal-variance Gaussian target/non-target scores: the true LLR is linear in the score,
 * a = (μT − μN)/σ², b = (μN² − μT²)/(2σ²).
 */
function gaussianTrials(muT: number, muN: number, sd: number, nT: number, nN: number): { scores: { target: Float64Array; nonTarget: Float64Array }; a: number; b: number } {
  return {
    scores: { target: gaussianQuantiles(nT, muT, sd), nonTarget: gaussianQuantiles(nN, muN, sd) },
    a: (muT - muN) / sd ** 2,
    b: (muN ** 2 - muT ** 2) / (2 * sd ** 2),
  };
}

describe('probit (test helper)', () => {
  it('matches known normal quantiles', () => {
    expect(probit(0.5)).toBeCloseTo(0, 12);
    expect(probit(0.975)).toBeCloseTo(1.959963985, 7);
    expect(probit(0.025)).toBeCloseTo(-1.959963985, 7);
    expect(probit(0.001)).toBeCloseTo(-3.090232306, 7);
    expect(probit(0.999)).toBeCloseTo(3.090232306, 7);
  });
});

describe('softplus and Cllr', () => {
  it('softplus is log(1 + e^x) without overflow', () => {
    expect(softplus(0)).toBe(Math.LN2);
    expect(softplus(1000)).toBe(1000);
    expect(softplus(-1000)).toBe(0);
    expect(softplus(2)).toBeCloseTo(Math.log(1 + Math.exp(2)), 14);
  });

  it('Cllr is 1 bit for LLRs that are all 0, 0 in the limit of perfect LLRs, > 1 for misleading ones', () => {
    expect(cllr({ target: [0, 0], nonTarget: [0] })).toBe(1);
    expect(cllr({ target: [50], nonTarget: [-50] })).toBeLessThan(1e-20);
    expect(cllr({ target: [-3], nonTarget: [3] })).toBeCloseTo((2 * softplus(3)) / 2 / Math.LN2, 12);
    expect(cllr({ target: [-3], nonTarget: [3] })).toBeGreaterThan(1);
  });

  it('refuses empty or non-finite trials', () => {
    expect(() => cllr({ target: [], nonTarget: [1] })).toThrow(/target and non-target/);
    expect(() => cllr({ target: [NaN], nonTarget: [1] })).toThrow(/not a finite number/);
  });
});

describe('fitLogisticCalibration', () => {
  it('recovers a and b of equal-variance Gaussian scores (hand example)', () => {
    // μT 0.6, μN 0.1, σ 0.1: a = 50, b = (0.01 − 0.36)/0.02 = −17.5.
    const { scores, a, b } = gaussianTrials(0.6, 0.1, 0.1, 4000, 20000);
    expect(a).toBeCloseTo(50, 12);
    expect(b).toBeCloseTo(-17.5, 12);
    const fit = fitLogisticCalibration(scores);
    expect(fit.a).toBeCloseTo(50, 0);
    expect(fit.b).toBeCloseTo(-17.5, 0);
    expect(Math.abs(fit.a / 50 - 1)).toBeLessThan(0.01);
    expect(fit.iterations).toBeGreaterThan(2);
    expect(fit.iterations).toBeLessThan(40);
  });

  it('property: recovers a and b for any separation, spread, class balance and effective prior', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -0.2, max: 0.3, noNaN: true }),
        // d' = gap/σ from barely separable to speaker-model-like; far beyond, the 1500 quantile
        // samples stop overlapping and the optimum runs off to infinity (tested below).
        fc.double({ min: 0.5, max: 3.5, noNaN: true }),
        fc.double({ min: 0.04, max: 0.2, noNaN: true }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(0.5, 0.1, 0.01),
        (muN, dPrime, sd, ratio, prior) => {
          const gap = dPrime * sd;
          // A correctly specified model's optimum is the true LLR at every prior: the prior only
          // moves the offset logit π, which the fit adds and the returned b excludes.
          const { scores, a, b } = gaussianTrials(muN + gap, muN, sd, 1500, 1500 * ratio);
          const fit = fitLogisticCalibration(scores, { prior });
          expect(Math.abs(fit.a - a)).toBeLessThan(0.02 * a + 0.05);
          // b is compared where it matters, as the LLR across the score range.
          for (const s of [muN, muN + gap / 2, muN + gap]) expect(Math.abs(applyCalibration(fit, s) - (a * s + b))).toBeLessThan(0.02 * Math.abs(a * gap) + 0.05);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('property: the fit minimises Cllr, so Cllr never gets worse than the raw scores or any other line', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 3.5, noNaN: true }),
        fc.double({ min: 0.05, max: 0.2, noNaN: true }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        (dPrime, sd, da, db) => {
          const gap = dPrime * sd;
          const { scores } = gaussianTrials(0.2 + gap, 0.2, sd, 300, 900);
          const fit = fitLogisticCalibration(scores);
          const calibrated = (c: { a: number; b: number }): TrialScores => ({
            target: Array.from(scores.target, (s) => applyCalibration(c, s)),
            nonTarget: Array.from(scores.nonTarget, (s) => applyCalibration(c, s)),
          });
          const best = cllr(calibrated(fit));
          expect(best).toBeLessThan(cllr(scores)); // raw cosine read as an LLR
          expect(best).toBeLessThan(1);
          expect(best).toBeLessThanOrEqual(cllr(calibrated({ a: fit.a + da, b: fit.b + db })) + 1e-12);
          expect(fit.crossEntropy / Math.LN2).toBeCloseTo(best, 10);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('property: equivariant under an affine change of the raw scores', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.2, max: 5, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), (k, m) => {
        const { scores } = gaussianTrials(0.5, 0.1, 0.15, 400, 800);
        const fit = fitLogisticCalibration(scores);
        const moved = fitLogisticCalibration({ target: scores.target.map((s) => k * s + m), nonTarget: scores.nonTarget.map((s) => k * s + m) });
        // Same LLR for the same trial: a'(k·s + m) + b' = a·s + b.
        expect(moved.a * k).toBeCloseTo(fit.a, 5);
        expect(moved.a * m + moved.b).toBeCloseTo(fit.b, 5);
      }),
      { numRuns: 20 },
    );
  });

  it('Cllr improves on a real-looking cosine distribution (hand figures)', () => {
    const { scores } = gaussianTrials(0.55, 0.05, 0.12, 1000, 10000);
    const fit = fitLogisticCalibration(scores);
    const raw = cllr(scores);
    const calibrated = cllr({ target: scores.target.map((s) => applyCalibration(fit, s)), nonTarget: scores.nonTarget.map((s) => applyCalibration(fit, s)) });
    expect(raw).toBeGreaterThan(0.7);
    expect(calibrated).toBeLessThan(0.2);
  });

  it('refuses separated, constant, reversed, empty and non-finite trials, and a bad prior', () => {
    expect(() => fitLogisticCalibration({ target: [0.8, 0.9], nonTarget: [0.1, 0.2] })).toThrow(/no finite optimum/);
    // Touching at one score is no better: the slope grows without bound.
    expect(() => fitLogisticCalibration({ target: [0.5, 0.7, 0.9], nonTarget: [0.1, 0.3, 0.5] })).toThrow(/is at or above every non-target score .*no finite optimum/);
    expect(() => fitLogisticCalibration({ target: [0.5, 0.5], nonTarget: [0.5, 0.5] })).toThrow(/singular/);
    const { scores } = gaussianTrials(0.1, 0.5, 0.1, 200, 200);
    expect(() => fitLogisticCalibration(scores)).toThrow(/slope is -/);
    expect(() => fitLogisticCalibration({ target: [], nonTarget: [0.1] })).toThrow(/target and non-target/);
    expect(() => fitLogisticCalibration({ target: [Infinity, 0.2], nonTarget: [0.1, 0.3] })).toThrow(/not a finite number/);
    expect(() => fitLogisticCalibration({ target: [0.2, 0.5], nonTarget: [0.1, 0.3] }, { prior: 1 })).toThrow(/prior/);
  });

  it('cosineForLlr inverts applyCalibration', () => {
    const c = { a: 12.5, b: -4 };
    expect(applyCalibration(c, 0.4)).toBe(1);
    expect(cosineForLlr(c, 1)).toBe(0.4);
  });
});

describe('nextUp', () => {
  it('is the next double', () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-Number.MIN_VALUE)).toBe(-0);
    expect(nextUp(-1)).toBe(-1 + Number.EPSILON / 2);
    expect(nextUp(Infinity)).toBe(Infinity);
  });

  it('property: strictly above, with no double in between', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }), (x) => {
        const y = nextUp(x);
        expect(y).toBeGreaterThan(x);
        const mid = x / 2 + y / 2;
        expect(mid === x || mid === y).toBe(true);
      }),
    );
  });
});

describe('operating table and thresholds from a target FMR', () => {
  // 10 non-target and 4 target scores, worked by hand.
  const hand: TrialScores = { nonTarget: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0], target: [0.95, 0.85, 0.65, 0.35] };

  it('fmrGrid: R10 values from 0.5 down to the first below 1/N', () => {
    expect(fmrGrid(10)).toEqual([0.5, 0.4, 0.315, 0.25, 0.2, 0.16, 0.125, 0.1, 0.08]);
    const g = fmrGrid(30_000);
    expect(g).toContain(0.01);
    expect(g).toContain(0.001);
    expect(g).toContain(0.0001);
    expect(g.at(-1)).toBe(0.0000315);
    // 0.5; 0.4 … 0.1 (7); three full decades (30); 8e-5 … 3.15e-5 (5).
    expect(g).toHaveLength(43);
  });

  it('is exact on the hand example', () => {
    expect(operatingTable(hand)).toEqual([
      { threshold: nextUp(0.4), fmr: 0.5, fnmr: 0.25 },
      { threshold: nextUp(0.5), fmr: 0.4, fnmr: 0.25 },
      { threshold: nextUp(0.6), fmr: 0.3, fnmr: 0.25 },
      { threshold: nextUp(0.7), fmr: 0.2, fnmr: 0.5 },
      { threshold: nextUp(0.8), fmr: 0.1, fnmr: 0.5 },
      { threshold: nextUp(0.9), fmr: 0, fnmr: 0.75 },
    ]);
  });

  it('picks the lowest threshold whose measured FMR meets the target, and flags targets below 3/N', () => {
    const table = operatingTable(hand);
    expect(thresholdForFmr(table, 0.3, 10)).toEqual({ threshold: nextUp(0.6), fmr: 0.3, fnmr: 0.25, targetFmr: 0.3, bound: 'estimate', supported: true, lowestSupportedFmr: 0.3, limitedBy: 'trials' });
    // Between rows: the stricter one (FMR 0.2 ≤ 0.25), and 0.25 < 3/10 cannot be shown by 10 trials.
    expect(thresholdForFmr(table, 0.25, 10)).toEqual({ threshold: nextUp(0.7), fmr: 0.2, fnmr: 0.5, targetFmr: 0.25, bound: 'estimate', supported: false, lowestSupportedFmr: 0.3, limitedBy: 'trials' });
    expect(thresholdForFmr(table, 1e-6, 10)).toMatchObject({ threshold: nextUp(0.9), fmr: 0, supported: false });
    expect(() => thresholdForFmr(table, 0, 10)).toThrow(/target FMR/);
    expect(() => thresholdForFmr(table.slice(0, 2), 0.1, 10)).toThrow(/FMR-0 row/);
  });

  it('upper-95: the lowest threshold whose FMR interval ends at or under the target; refuses a table without intervals', () => {
    // The hand table with made-up intervals: each row's upper end is above its FMR, as resampling speakers gives.
    const highs = [0.7, 0.6, 0.45, 0.35, 0.2, 0];
    const table = operatingTable(hand).map((r, i) => ({ ...r, fmrInterval: { low: 0, high: highs[i]! }, fnmrInterval: { low: 0, high: 1 } }));
    expect(tableHasIntervals(table)).toBe(true);
    // estimate: FMR 0.3 ≤ 0.3 at nextUp(0.6); upper-95: the first upper end ≤ 0.3 is 0.2, at nextUp(0.8).
    expect(thresholdForFmr(table, 0.3, 10).threshold).toBe(nextUp(0.6));
    expect(thresholdForFmr(table, 0.3, 10, 'upper-95')).toEqual({ ...table[4], targetFmr: 0.3, bound: 'upper-95', supported: true, lowestSupportedFmr: 0.3, limitedBy: 'trials' });
    // An upper end exactly at the target meets it.
    expect(thresholdForFmr(table, 0.45, 10, 'upper-95').threshold).toBe(nextUp(0.6));
    // Nothing but the FMR-0 row (interval [0, 0]) meets a tiny target.
    expect(thresholdForFmr(table, 0.01, 10, 'upper-95')).toMatchObject({ threshold: nextUp(0.9), fmr: 0, supported: false });
    const bare = operatingTable(hand);
    expect(tableHasIntervals(bare)).toBe(false);
    expect(tableHasIntervals([])).toBe(false);
    expect(tableHasIntervals([...table.slice(0, 5), bare[5]!])).toBe(false);
    expect(() => thresholdForFmr(bare, 0.3, 10, 'upper-95')).toThrow(/no FMR intervals/);
  });

  it('ties: a threshold cannot split equal impostor scores, so it moves above them', () => {
    const table = operatingTable({ nonTarget: [0.5, 0.5, 0.5, 0.1], target: [0.7, 0.3] });
    // Grid 0.5 (k = 2), 0.4 … 0.25 (k = 1), 0.2 (k = 0): every boundary is one of the tied 0.5s.
    expect(table).toEqual([{ threshold: nextUp(0.5), fmr: 0, fnmr: 0.5 }]);
    expect(thresholdForFmr(table, 0.5, 4)).toMatchObject({ threshold: nextUp(0.5), fmr: 0 });
  });

  it('property: every row agrees with the evaluation harness; the threshold is monotone in the target and meets it', () => {
    const scores = fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 300 });
    fc.assert(
      fc.property(scores, scores, fc.double({ min: 1e-4, max: 0.9, noNaN: true }), fc.double({ min: 1e-4, max: 0.9, noNaN: true }), (target, nonTarget, f1, f2) => {
        const trials = { target, nonTarget };
        const table = operatingTable(trials);
        for (let i = 0; i < table.length; i++) {
          const row = table[i]!;
          const c = errorCountsAt(trials, row.threshold);
          expect([row.fmr, row.fnmr]).toEqual([c.fmr, c.fnmr]);
          if (i > 0) {
            expect(row.threshold).toBeGreaterThan(table[i - 1]!.threshold);
            expect(row.fmr).toBeLessThanOrEqual(table[i - 1]!.fmr);
          }
        }
        const [lo, hi] = f1 < f2 ? [f1, f2] : [f2, f1];
        const strict = thresholdForFmr(table, lo, nonTarget.length);
        const loose = thresholdForFmr(table, hi, nonTarget.length);
        expect(strict.threshold).toBeGreaterThanOrEqual(loose.threshold);
        expect(strict.fmr).toBeLessThanOrEqual(lo);
        expect(loose.fmr).toBeLessThanOrEqual(hi);
        expect(strict.supported).toBe(lo >= 3 / nonTarget.length);
      }),
      { numRuns: 200 },
    );
  });

  it('on grid targets the threshold is the exact empirical quantile', () => {
    // 1000 distinct non-target scores 0.000..0.999: FMR 1 % means accepting the 10 highest.
    const nonTarget = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const t = thresholdForFmr(operatingTable({ nonTarget, target: [0.995] }), 0.01, 1000);
    expect(t).toEqual({ threshold: nextUp(0.989), fmr: 0.01, fnmr: 0, targetFmr: 0.01, bound: 'estimate', supported: true, lowestSupportedFmr: 0.003, limitedBy: 'trials' });
    expect(thresholdForFmr(operatingTable({ nonTarget, target: [0.995] }), 0.001, 1000)).toMatchObject({ threshold: nextUp(0.998), fmr: 0.001, supported: false });
  });
});

describe('the speaker-pair rule: a target is supported where its threshold rests on enough pairs of speakers', () => {
  // Rows ascend by threshold; their FMRs, the upper ends of the FMR intervals and the pair counts descend.
  const row = (threshold: number, fmr: number, high: number, falseMatchPairs: number): OperatingRow => ({
    threshold,
    fmr,
    fnmr: threshold / 2,
    fmrInterval: { low: fmr / 2, high },
    fnmrInterval: { low: 0, high: 1 },
    falseMatchPairs,
  });
  const table = [row(0.1, 0.2, 0.3, 10), row(0.2, 0.1, 0.15, 5), row(0.3, 0.05, 0.08, 3), row(0.4, 0.02, 0.04, 2), row(0.5, 0.01, 0.02, 1), row(0.6, 0, 0, 0)];

  it('the lowest target is the bound of the last row with MIN_FALSE_MATCH_PAIRS pairs, unless the rule of three asks for more', () => {
    expect(MIN_FALSE_MATCH_PAIRS).toBe(3);
    // 1000 non-targets: 3/N = 0.3 %, below the pairs' limit.
    expect(lowestSupportedTarget(table, 1000, 'estimate')).toEqual({ fmr: 0.05, limitedBy: 'speaker-pairs' });
    expect(lowestSupportedTarget(table, 1000, 'upper-95')).toEqual({ fmr: 0.08, limitedBy: 'speaker-pairs' });
    // 20 non-targets: 3/N = 15 % is the higher limit.
    expect(lowestSupportedTarget(table, 20, 'estimate')).toEqual({ fmr: 0.15, limitedBy: 'trials' });
    // Without pair counts (a calibration from before them) only the trials limit.
    const withoutPairs = table.map(({ falseMatchPairs: _, ...r }) => r);
    expect(lowestSupportedTarget(withoutPairs, 1000, 'upper-95')).toEqual({ fmr: 0.003, limitedBy: 'trials' });
    // No row with enough pairs: no target below 1 is supported.
    const fewPairs = table.map((r) => ({ ...r, falseMatchPairs: Math.min(r.falseMatchPairs!, 2) }));
    expect(lowestSupportedTarget(fewPairs, 1000, 'estimate')).toEqual({ fmr: 1, limitedBy: 'speaker-pairs' });
  });

  it('thresholdForFmr: supported down to that target, flagged below it with the pairs of the row that decides', () => {
    expect(thresholdForFmr(table, 0.05, 1000)).toMatchObject({ threshold: 0.3, falseMatchPairs: 3, supported: true, lowestSupportedFmr: 0.05, limitedBy: 'speaker-pairs' });
    expect(thresholdForFmr(table, 0.02, 1000)).toMatchObject({ threshold: 0.4, falseMatchPairs: 2, supported: false, lowestSupportedFmr: 0.05, limitedBy: 'speaker-pairs' });
    // upper-95: a 10 % target is met by the row whose interval ends at 8 % (3 pairs); 5 % by the next (2 pairs).
    expect(thresholdForFmr(table, 0.1, 1000, 'upper-95')).toMatchObject({ threshold: 0.3, falseMatchPairs: 3, supported: true });
    expect(thresholdForFmr(table, 0.05, 1000, 'upper-95')).toMatchObject({ threshold: 0.4, falseMatchPairs: 2, supported: false, lowestSupportedFmr: 0.08 });
  });

  it('property: on measured tables, a target is supported exactly when its row rests on MIN_FALSE_MATCH_PAIRS pairs and it is at least 3/N', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ score: fc.integer({ min: 0, max: 40 }), a: fc.integer({ min: 0, max: 5 }), b: fc.integer({ min: 0, max: 5 }) }), { minLength: 1, maxLength: 120 }),
        fc.double({ min: 0.001, max: 0.9, noNaN: true }),
        fc.constantFrom('estimate' as const, 'upper-95' as const),
        (trials, target, bound) => {
          const non = trials.filter((t) => t.a !== t.b);
          fc.pre(non.length > 0);
          const scores = { target: [2], nonTarget: non.map((t) => t.score / 40) };
          const sorted = sortTrials(scores);
          // sortTrials puts the target first, then the non-targets in their order; sides follow `order`.
          const speakerA = new Uint32Array(sorted.scores.length);
          const speakerB = new Uint32Array(sorted.scores.length);
          non.forEach((t, k) => {
            speakerA[sorted.order[k + 1]!] = t.a;
            speakerB[sorted.order[k + 1]!] = t.b;
          });
          const rows = operatingTable(scores);
          const pairs = falseMatchPairs({ sorted, speakerA, speakerB, speakers: 6 }, rows.map((r) => r.threshold));
          // Intervals: any bound that does not rise with the threshold will do here.
          const table = rows.map((r, k) => ({ ...r, falseMatchPairs: pairs[k]!, fmrInterval: { low: r.fmr / 2, high: Math.min(1, 2 * r.fmr) } }));
          const t = thresholdForFmr(table, target, non.length, bound);
          expect(t.supported).toBe(t.falseMatchPairs! >= MIN_FALSE_MATCH_PAIRS && target >= 3 / non.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('minSpeechForEer', () => {
  const table = [
    { seconds: 5, eer: 0.03 },
    { seconds: 2, eer: 0.08 },
    { seconds: 10, eer: 0.02 },
    { seconds: 3, eer: 0.05 },
  ];
  it('a tested duration whose EER is the need exactly, the shortest when it meets it, else the longest tested; null without a table', () => {
    expect(minSpeechForEer(table, 0.05)).toBe(3);
    expect(minSpeechForEer(table, 0.1)).toBe(2);
    expect(minSpeechForEer(table, 0.02)).toBe(10);
    expect(minSpeechForEer(table, 0.01)).toBe(10);
    expect(minSpeechForEer([], 0.05)).toBeNull();
    expect(minSpeechForEer(undefined, 0.05)).toBeNull();
  });

  it('between two tested durations, where the chord between them reaches the need, rounded up to 0.1 s', () => {
    // 3 s: 5 %, 5 s: 3 %; 4 % is halfway.
    expect(minSpeechForEer(table, 0.04)).toBe(4);
    // 2 s: 8 %, 3 s: 5 %; 6 % at 2.667 s.
    expect(minSpeechForEer(table, 0.06)).toBe(2.7);
    // vp-resnet-v9's telephone rows: 3 s 5.0595 %, 5 s 2.6914 %: a hair over the need at 3 s asks for 3.1 s, not 5 s.
    expect(minSpeechForEer([{ seconds: 3, eer: 0.050595 }, { seconds: 5, eer: 0.026914 }], 0.05)).toBe(3.1);
  });

  it('property: never under the tested duration before the first one meeting the need, never over that one, and less need never asks for less speech', () => {
    const row = fc.record({ seconds: fc.integer({ min: 1, max: 60 }), eer: fc.double({ min: 0, max: 0.5, noNaN: true }) });
    fc.assert(
      fc.property(fc.uniqueArray(row, { minLength: 1, maxLength: 6, selector: (r) => r.seconds }), fc.double({ min: 0, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 0.5, noNaN: true }), (rows, a, b) => {
        const sorted = [...rows].sort((x, y) => x.seconds - y.seconds);
        const need = Math.max(a, b);
        const seconds = minSpeechForEer(rows, need)!;
        const first = sorted.findIndex((r) => r.eer <= need);
        if (first === -1) {
          expect(seconds).toBe(sorted[sorted.length - 1]!.seconds);
        } else {
          expect(seconds).toBeLessThanOrEqual(sorted[first]!.seconds);
          expect(seconds).toBeGreaterThanOrEqual(sorted[Math.max(0, first - 1)]!.seconds);
          expect(Math.round(seconds * 10)).toBeCloseTo(seconds * 10, 9);
        }
        // A stricter need (lower EER) never asks for less speech.
        expect(minSpeechForEer(rows, Math.min(a, b))!).toBeGreaterThanOrEqual(seconds);
      }),
    );
  });
});
