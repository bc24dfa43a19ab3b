import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { falseMatchPairs, wilsonInterval } from '../../src/evaluation/confidence.js';
import { speakerTrials, type TrialSet } from '../../src/evaluation/trials.js';

const trialSet = (rows: readonly [score: number, a: number, b: number][]): TrialSet => ({
  scores: Float64Array.from(rows, (r) => r[0]),
  isTarget: Uint8Array.from(rows, (r) => (r[1] === r[2] ? 1 : 0)),
  speakerA: Uint32Array.from(rows, (r) => r[1]),
  speakerB: Uint32Array.from(rows, (r) => r[2]),
});

describe('falseMatchPairs', () => {
  it('counts the distinct unordered impostor pairs at or above each threshold, targets aside', () => {
    const set = trialSet([
      [0.9, 0, 1], // pair {0,1}
      [0.8, 1, 0], // the same pair, the other way round
      [0.95, 2, 2], // a target: never counted
      [0.7, 2, 3], // pair {2,3}
      [0.5, 0, 3], // pair {0,3}
      [0.5, 3, 1], // pair {1,3}, tied with the one above
      [0.1, 0, 2], // pair {0,2}
    ]);
    const trials = speakerTrials(set, 4);
    // Thresholds in any order; "at or above" includes a score equal to the threshold.
    expect(falseMatchPairs(trials, [0.5, 1, 0.9, 0.85, 0.7, 0, 0.51])).toEqual([4, 0, 1, 1, 2, 5, 2]);
  });

  it('property: equals counting the pairs by brute force', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 80 }),
        fc.array(fc.integer({ min: -1, max: 21 }), { minLength: 1, maxLength: 10 }),
        (rows, thresholds) => {
          const set = trialSet(rows);
          const brute = thresholds.map((t) => new Set(rows.filter(([s, a, b]) => a !== b && s >= t).map(([, a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`)).size);
          expect(falseMatchPairs(speakerTrials(set, 7), thresholds)).toEqual(brute);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('wilsonInterval', () => {
  it('matches the published 95 % Wilson intervals', () => {
    // Brown, Cai & DasGupta (2001) and any statistics package: 0/10, 1/10, 5/10, 0/100.
    const r = (x: number, n: number) => {
      const { low, high } = wilsonInterval(x, n);
      return [Number(low.toFixed(4)), Number(high.toFixed(4))];
    };
    expect(r(0, 10)).toEqual([0, 0.2775]);
    expect(r(1, 10)).toEqual([0.0179, 0.4042]);
    expect(r(5, 10)).toEqual([0.2366, 0.7634]);
    expect(r(0, 100)).toEqual([0, 0.037]);
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(0, 0)).toThrow(RangeError);
  });

  it('always holds the observed rate, within [0, 1], and narrows as n grows at the same rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, q) => {
        const x = Math.round(q * n);
        const { low, high } = wilsonInterval(x, n);
        expect(low).toBeGreaterThanOrEqual(0);
        expect(high).toBeLessThanOrEqual(1);
        expect(low).toBeLessThanOrEqual(x / n + 1e-12);
        expect(high).toBeGreaterThanOrEqual(x / n - 1e-12);
        const wider = wilsonInterval(x, n);
        const narrower = wilsonInterval(4 * x, 4 * n);
        expect(narrower.high - narrower.low).toBeLessThan(wider.high - wider.low);
      }),
    );
  });
});
