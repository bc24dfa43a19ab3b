import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { percentile, round, summarise } from '../../scripts/bench/stats.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it('returns observed samples at the nearest rank', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0.5)).toBe(1);
    // 10 samples: p99 → rank ceil(9.9) = 10, the maximum; p50 → rank 5.
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([7], 99)).toBe(7);
  });

  it('refuses empty input and percentiles outside (0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(/no samples/);
    expect(() => percentile([1], 0)).toThrow(/outside/);
    expect(() => percentile([1], 101)).toThrow(/outside/);
  });

  it('is always a member of the samples, monotone in p, and at least p % of samples lie at or below it', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 100 }), (xs, p) => {
        const s = [...xs].sort((a, b) => a - b);
        const v = percentile(s, p);
        expect(s).toContain(v);
        expect(s.filter((x) => x <= v).length).toBeGreaterThanOrEqual(Math.ceil((p / 100) * s.length));
        if (p < 100) expect(percentile(s, p + 1)).toBeGreaterThanOrEqual(v);
      }),
    );
  });
});

describe('summarise', () => {
  it('gives exact figures for a known set, in any order', () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(summarise(samples)).toEqual({ n: 10, meanMs: 5.5, minMs: 1, p50Ms: 5, p90Ms: 9, p99Ms: 10, maxMs: 10 });
    expect(samples[0]).toBe(5); // the caller's array is not sorted in place
  });

  it('rounds to microseconds', () => {
    expect(round(1.23456)).toBe(1.235);
    expect(round(2.5e-4)).toBe(0);
    expect(round(15.876, 2)).toBe(15.88);
  });
});
