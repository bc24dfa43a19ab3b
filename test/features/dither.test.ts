import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ditherSamples } from '../../src/features/dither.js';

const INT16 = 32768;

describe('ditherSamples', () => {
  it('adds zero-mean Gaussian noise of the asked standard deviation, in the samples’ units', () => {
    const n = 200_001; // odd: the last sample gets the first half of a Box–Muller pair
    const out = ditherSamples(new Float32Array(n), 1, INT16);
    const noise = Array.from(out, (v) => v * INT16);
    const mean = noise.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(noise.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    // Standard error of the mean is 1/√n ≈ 0.0022; of the sd ≈ 1/√(2n) ≈ 0.0016.
    expect(Math.abs(mean)).toBeLessThan(0.011);
    expect(Math.abs(sd - 1)).toBeLessThan(0.008);
    // Gaussian, not merely unit variance: shares within 1 and 2 sd (0.6827, 0.9545).
    expect(noise.filter((v) => Math.abs(v) < 1).length / n).toBeCloseTo(0.6827, 2);
    expect(noise.filter((v) => Math.abs(v) < 2).length / n).toBeCloseTo(0.9545, 2);
    // Neighbouring samples are uncorrelated (white): lag-1 correlation within 5 standard errors.
    let lag1 = 0;
    for (let i = 1; i < n; i++) lag1 += noise[i]! * noise[i - 1]!;
    expect(Math.abs(lag1 / (n - 1))).toBeLessThan(5 / Math.sqrt(n));
    expect(Number.isFinite(noise[n - 1]!) && noise[n - 1] !== 0).toBe(true);
  });

  it('scales with the amount and the sample scale', () => {
    const x = new Float32Array(50_000);
    const sd = (a: Float32Array): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(sd(ditherSamples(x, 4, INT16)) * INT16).toBeCloseTo(4, 1);
    expect(sd(ditherSamples(x, 0.5, 1))).toBeCloseTo(0.5, 2);
  });

  it('is seeded by the audio: the same recording always gets the same noise, another recording other noise', () => {
    const a = Float32Array.from({ length: 16_000 }, (_, i) => (i < 8000 ? 0.1 * Math.sin(i / 7) : 0));
    const b = a.slice();
    b[10] = b[10]! + 1 / INT16; // one sample differs by one int16 step
    const a1 = ditherSamples(a, 1, INT16);
    const a2 = ditherSamples(a.slice(), 1, INT16);
    const b1 = ditherSamples(b, 1, INT16);
    expect(a2).toEqual(a1);
    // In the shared silent half, a's and b's noise must be unrelated (correlation near 0).
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 8000; i < 16_000; i++) {
      dot += a1[i]! * b1[i]!;
      na += a1[i]! ** 2;
      nb += b1[i]! ** 2;
    }
    expect(Math.abs(dot / Math.sqrt(na * nb))).toBeLessThan(0.06);
  });

  it('never changes its input, and amount 0 returns an equal copy', () => {
    const x = Float32Array.from([0.5, -0.25, 0, 1]);
    const before = x.slice();
    const out = ditherSamples(x, 1, INT16);
    expect(x).toEqual(before);
    expect(out).not.toEqual(before);
    const same = ditherSamples(x, 0, INT16);
    expect(same).toEqual(x);
    expect(same).not.toBe(x);
    expect(ditherSamples(new Float32Array(0), 1, INT16)).toEqual(new Float32Array(0));
  });

  it('property: any audio gives finite samples of the same length, each within 10 sd of its input, the same every time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { maxLength: 500 }).map((a) => Float32Array.from(a)),
        fc.constantFrom(0.5, 1, 4),
        (x, amount) => {
          const out = ditherSamples(x, amount, INT16);
          expect(out.length).toBe(x.length);
          for (let i = 0; i < x.length; i++) {
            expect(Number.isFinite(out[i]!)).toBe(true);
            expect(Math.abs(out[i]! - x[i]!) * INT16).toBeLessThan(10 * amount);
          }
          expect(ditherSamples(x, amount, INT16)).toEqual(out);
        },
      ),
    );
  });
});
