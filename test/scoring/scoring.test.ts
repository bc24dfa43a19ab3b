import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gateAttempt, recordOutcome, type AttemptState } from '../../src/scoring/attempts.js';
import { combineEmbeddings, cosine, dot, l2Normalise } from '../../src/scoring/cosine.js';
import { decideVerification, tooNoisy } from '../../src/scoring/decision.js';
import type { Policy } from '../../src/scoring/policy.js';

const vec = (n: number) => fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -100, max: 100 });

describe('cosine', () => {
  it('is 1 for a vector with itself, -1 for its negation, 0 for orthogonal', () => {
    const a = new Float32Array([3, 4, 0]);
    expect(cosine(a, a)).toBeCloseTo(1, 6);
    expect(cosine(a, new Float32Array([-3, -4, 0]))).toBeCloseTo(-1, 6);
    expect(cosine(a, new Float32Array([0, 0, 5]))).toBe(0);
  });

  it('refuses vectors of different sizes', () => {
    expect(() => dot(new Float32Array(2), new Float32Array(3))).toThrow(RangeError);
  });

  it('property: bounded, symmetric, scale invariant', () => {
    fc.assert(
      fc.property(vec(8), vec(8), fc.float({ min: Math.fround(0.01), max: 100, noNaN: true }), (a, b, k) => {
        const c = cosine(a, b);
        expect(c).toBeGreaterThanOrEqual(-1);
        expect(c).toBeLessThanOrEqual(1);
        expect(cosine(b, a)).toBeCloseTo(c, 5);
        const scaled = a.map((x) => x * k);
        // Scale invariance holds while scaling keeps the vector's precision: a vector whose largest
        // component is subnormal in float32 (below 2^-126) keeps only a few bits, and times 0.01 may
        // round to zero (seed -253127969 found a = [0, …, -1.4e-45, …]).
        const normal = (v: Float32Array) => v.some((x) => Math.abs(x) >= 2 ** -126);
        if (normal(a) && normal(scaled) && l2Normalise(b).some((x) => x !== 0)) expect(cosine(scaled, b)).toBeCloseTo(c, 4);
      }),
    );
  });

  it('l2Normalise gives unit length, and zeros for a zero vector', () => {
    const u = l2Normalise(new Float32Array([1, 2, 2]));
    expect(Array.from(u)).toEqual([1 / 3, 2 / 3, 2 / 3].map(Math.fround));
    expect(Array.from(l2Normalise(new Float32Array(3)))).toEqual([0, 0, 0]);
  });

  it('combineEmbeddings is the speech-weighted mean direction', () => {
    const t = combineEmbeddings([
      { embedding: new Float32Array([1, 0]), weight: 3 },
      { embedding: new Float32Array([0, 10]), weight: 1 },
    ]);
    expect(t[0]).toBeCloseTo(3 / Math.sqrt(10), 6);
    expect(t[1]).toBeCloseTo(1 / Math.sqrt(10), 6);
    expect(() => combineEmbeddings([])).toThrow(RangeError);
  });
});

describe('decideVerification', () => {
  const policy: Policy = { name: 'standard', threshold: 0.5, minNetSpeechSeconds: 3, description: '' };
  const good = { netSpeechSeconds: 4, snrDb: 25, clippedRatio: 0 };

  it('accepts at and above the threshold, rejects below', () => {
    expect(decideVerification({ ...good, score: 0.5 }, policy)).toEqual({ decision: 'accept', reasons: ['score-above-threshold'] });
    expect(decideVerification({ ...good, score: 0.4999 }, policy)).toEqual({ decision: 'reject', reasons: ['score-below-threshold'] });
  });

  it('is inconclusive with the seconds still needed when speech is short', () => {
    expect(decideVerification({ ...good, score: 0.9, netSpeechSeconds: 1.25 }, policy)).toEqual({
      decision: 'inconclusive',
      reasons: ['insufficient-speech'],
      additionalSpeechSecondsNeeded: 1.8,
    });
  });

  it('property: asks for the speech missing, in tenths rounded up, never a tenth more (float noise)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 29 }), fc.integer({ min: 0, max: 9 }), (tenths, hundredths) => {
        const net = tenths / 10 + hundredths / 100;
        const needed = decideVerification({ ...good, score: 0.9, netSpeechSeconds: net }, policy).additionalSpeechSecondsNeeded!;
        // The least number of tenths that brings net to the 3 s minimum.
        const exact = Math.ceil(Math.round((3 - net) * 100) / 10) / 10;
        expect(needed).toBe(exact);
      }),
    );
    expect(decideVerification({ ...good, score: 0.9, netSpeechSeconds: 2.9 }, policy).additionalSpeechSecondsNeeded).toBe(0.1);
  });

  it('is inconclusive on noisy or clipped audio, whatever the score', () => {
    expect(decideVerification({ ...good, score: 0.99, snrDb: 2 }, policy)).toEqual({ decision: 'inconclusive', reasons: ['low-snr'] });
    expect(decideVerification({ ...good, score: 0.99, clippedRatio: 0.05 }, policy)).toEqual({ decision: 'inconclusive', reasons: ['clipped-audio'] });
  });

  it('the SNR gate: under the bar is too noisy; at the bar, above it or without an estimate it is not', () => {
    expect([tooNoisy(4.99, 5), tooNoisy(5, 5), tooNoisy(30, 5), tooNoisy(null, 5), tooNoisy(-3, -2)]).toEqual([true, false, false, false, true]);
    expect(decideVerification({ ...good, score: 0.99, snrDb: 5 }, policy).decision).toBe('accept');
    expect(decideVerification({ ...good, score: 0.99, snrDb: null }, policy).decision).toBe('accept');
  });

  it('property: never accepts below threshold, never decides without enough speech', () => {
    fc.assert(
      fc.property(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: 0, max: 20, noNaN: true }), (score, net) => {
        const d = decideVerification({ score, netSpeechSeconds: net, snrDb: 30, clippedRatio: 0 }, policy);
        if (net < policy.minNetSpeechSeconds) expect(d.decision).toBe('inconclusive');
        else expect(d.decision).toBe(score >= policy.threshold ? 'accept' : 'reject');
      }),
    );
  });
});

describe('attempt limiting (NIST SP 800-63B-4 §3.2.3)', () => {
  const fresh: AttemptState = { consecutiveRejects: 0, lastRejectAt: null, disabled: false };

  it('allows five rejects, then throttles 30 s per attempt', () => {
    let s = fresh;
    for (let i = 0; i < 5; i++) {
      expect(gateAttempt(s, 1000 * i).allowed).toBe(true);
      s = recordOutcome(s, 'reject', 1000 * i);
    }
    expect(gateAttempt(s, 4000 + 10_000)).toEqual({ allowed: false, reason: 'throttled', retryAfterSeconds: 20 });
    expect(gateAttempt(s, 4000 + 30_000)).toEqual({ allowed: true });
  });

  it('disables after 50 consecutive rejects until reset; an accept resets the count', () => {
    let s = fresh;
    for (let i = 0; i < 50; i++) s = recordOutcome(s, 'reject', i * 60_000);
    expect(s.disabled).toBe(true);
    expect(gateAttempt(s, 1e12)).toEqual({ allowed: false, reason: 'disabled' });
    const t = recordOutcome({ consecutiveRejects: 7, lastRejectAt: 5, disabled: false }, 'accept', 10);
    expect(t).toEqual(fresh);
  });

  it('inconclusive attempts do not count', () => {
    const s = { consecutiveRejects: 3, lastRejectAt: 7, disabled: false };
    expect(recordOutcome(s, 'inconclusive', 100)).toBe(s);
  });
});
