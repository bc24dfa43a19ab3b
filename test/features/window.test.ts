import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featureWindow, firstSampleOffset, frameCount, reflectIndex } from '../../src/features/window.js';

describe('featureWindow', () => {
  it('hamming: 0.54 − 0.46 cos(2πn/(N−1)), symmetric, 0.08 at the ends, 1 in the middle', () => {
    const w = featureWindow('hamming', 401);
    expect(w[0]).toBeCloseTo(0.08, 12);
    expect(w[400]).toBeCloseTo(0.08, 12);
    expect(w[200]).toBeCloseTo(1, 12);
    expect(w[100]).toBeCloseTo(0.54 - 0.46 * Math.cos((2 * Math.PI * 100) / 400), 12);
    for (let n = 0; n < 401; n++) expect(w[n]).toBeCloseTo(w[400 - n]!, 12);
  });

  it('hanning goes to 0 at both ends; povey is hanning^0.85', () => {
    const hann = featureWindow('hanning', 400);
    const povey = featureWindow('povey', 400);
    expect(hann[0]).toBe(0);
    expect(hann[399]).toBeCloseTo(0, 12);
    expect(povey[0]).toBe(0);
    for (const n of [1, 50, 199, 200, 350]) expect(povey[n]).toBeCloseTo(Math.pow(hann[n]!, 0.85), 12);
    // 0.85 < 1 lifts the window: povey ≥ hanning everywhere.
    for (let n = 0; n < 400; n++) expect(povey[n]!).toBeGreaterThanOrEqual(hann[n]! - 1e-15);
  });

  it('rectangular is all ones; blackman uses Kaldi’s coefficient form', () => {
    expect(Array.from(featureWindow('rectangular', 5))).toEqual([1, 1, 1, 1, 1]);
    const b = featureWindow('blackman', 9, 0.42);
    expect(b[0]).toBeCloseTo(0, 12); // 0.42 − 0.5 + 0.08
    expect(b[4]).toBeCloseTo(1, 12); // 0.42 + 0.5 + 0.08
    const b2 = featureWindow('blackman', 9, 0.5); // coefficient 0.5 drops the cos 2a term
    expect(b2[2]).toBeCloseTo(0.5 - 0.5 * Math.cos((2 * Math.PI * 2) / 8), 12);
  });
});

describe('frameCount (Kaldi NumFrames)', () => {
  // 25 ms / 10 ms at 16 kHz.
  const size = 400;
  const shift = 160;

  it('snip_edges true: only whole frames', () => {
    expect(frameCount(0, size, shift, true)).toBe(0);
    expect(frameCount(399, size, shift, true)).toBe(0);
    expect(frameCount(400, size, shift, true)).toBe(1);
    expect(frameCount(559, size, shift, true)).toBe(1);
    expect(frameCount(560, size, shift, true)).toBe(2);
    expect(frameCount(48000, size, shift, true)).toBe(298);
  });

  it('snip_edges false: ⌊(n + shift/2) / shift⌋, but 0 below one window (torchaudio refuses that input)', () => {
    expect(frameCount(0, size, shift, false)).toBe(0);
    expect(frameCount(399, size, shift, false)).toBe(0);
    expect(frameCount(400, size, shift, false)).toBe(3); // (400 + 80) / 160
    expect(frameCount(559, size, shift, false)).toBe(3);
    expect(frameCount(560, size, shift, false)).toBe(4);
    expect(frameCount(48000, size, shift, false)).toBe(300);
  });

  it('agrees with the closed forms for arbitrary lengths and geometries', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.integer({ min: 2, max: 2048 }), fc.integer({ min: 1, max: 2048 }), (n, sz, sh) => {
        const snip = frameCount(n, sz, sh, true);
        const noSnip = frameCount(n, sz, sh, false);
        if (n < sz) {
          expect(snip).toBe(0);
          expect(noSnip).toBe(0);
          return;
        }
        // Last snipped frame fits, one more would not.
        expect((snip - 1) * sh + sz).toBeLessThanOrEqual(n);
        expect(snip * sh + sz).toBeGreaterThan(n);
        // Unsnipped: one frame per shift, n / shift rounded (half up for even shifts).
        expect(noSnip).toBe(Math.floor((n + Math.floor(sh / 2)) / sh));
        if (sh % 2 === 0) expect(noSnip).toBe(Math.floor(n / sh + 0.5));
      }),
    );
  });
});

describe('framing with reflection (snip_edges false)', () => {
  it('frame 0 starts ⌊size/2⌋ − ⌊shift/2⌋ before the signal', () => {
    expect(firstSampleOffset(400, 160, false)).toBe(-120);
    expect(firstSampleOffset(400, 160, true)).toBe(0);
    expect(firstSampleOffset(160, 400, false)).toBe(120); // shift longer than the window
  });

  it('reflects like Kaldi: the edge sample repeats ([2,1,0 | 0,1,2 … 7,8,9 | 9,8,7])', () => {
    const n = 10;
    expect([-3, -2, -1].map((s) => reflectIndex(s, n))).toEqual([2, 1, 0]);
    expect([0, 5, 9].map((s) => reflectIndex(s, n))).toEqual([0, 5, 9]);
    expect([10, 11, 12].map((s) => reflectIndex(s, n))).toEqual([9, 8, 7]);
  });
});
