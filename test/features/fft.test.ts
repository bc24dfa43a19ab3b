import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RealFft } from '../../src/features/fft.js';

/** Textbook O(n²) DFT in float64, the ground truth. */
function naiveDft(x: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      sr += x[t]! * Math.cos(a);
      si += x[t]! * Math.sin(a);
    }
    re[k] = sr;
    im[k] = si;
  }
  return { re, im };
}

function seeded(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(1664525, s) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

// Powers of two of both parities of log2(n/2) (radix-4 with and without a leading radix-2
// stage), the tiny special cases, and non-powers of two (Bluestein, half-length odd or even).
const LENGTHS = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 6, 10, 18, 200, 400, 402, 552];

describe('RealFft', () => {
  for (const n of LENGTHS) {
    it(`matches a naive DFT for n = ${n}`, () => {
      const x = seeded(n, n);
      const fft = new RealFft(n);
      const re = new Float64Array(n / 2 + 1);
      const im = new Float64Array(n / 2 + 1);
      fft.forward(x, re, im);
      const ref = naiveDft(x);
      let maxErr = 0;
      for (let k = 0; k <= n / 2; k++) {
        maxErr = Math.max(maxErr, Math.abs(re[k]! - ref.re[k]!), Math.abs(im[k]! - ref.im[k]!));
      }
      // Inputs are O(1) and bins O(√n): float64 round-off is far below this.
      expect(maxErr).toBeLessThan(1e-11 * n);
      expect(fft.bins).toBe(n / 2 + 1);
    });
  }

  it('puts a cosine exactly in its bin', () => {
    const n = 512;
    const x = Float64Array.from({ length: n }, (_, t) => Math.cos((2 * Math.PI * 37 * t) / n));
    const power = new Float64Array(n / 2 + 1);
    const fft = new RealFft(n);
    for (let t = 0; t < n / 2; t++) {
      fft.packedRe[t] = x[2 * t]!;
      fft.packedIm[t] = x[2 * t + 1]!;
    }
    fft.powerSpectrumOfPacked(power);
    for (let k = 0; k <= n / 2; k++) {
      if (k === 37) expect(power[k]!).toBeCloseTo((n / 2) ** 2, 6);
      else expect(power[k]!).toBeLessThan(1e-18 * n * n);
    }
  });

  it('power spectrum of packed input equals |forward|², for radix-2 and Bluestein lengths', () => {
    for (const n of [512, 256, 400, 200]) {
      const x = seeded(n, 7);
      const fft = new RealFft(n);
      const re = new Float64Array(n / 2 + 1);
      const im = new Float64Array(n / 2 + 1);
      fft.forward(x, re, im);
      for (let t = 0; t < n / 2; t++) {
        fft.packedRe[t] = x[2 * t]!;
        fft.packedIm[t] = x[2 * t + 1]!;
      }
      const power = new Float64Array(n / 2 + 1);
      fft.powerSpectrumOfPacked(power);
      for (let k = 0; k <= n / 2; k++) expect(power[k]!).toBeCloseTo(re[k]! ** 2 + im[k]! ** 2, 9);
    }
  });

  it('rejects odd and non-integer lengths', () => {
    expect(() => new RealFft(401)).toThrow(RangeError);
    expect(() => new RealFft(0)).toThrow(RangeError);
    expect(() => new RealFft(7.5)).toThrow(RangeError);
  });

  it("satisfies Parseval's theorem for arbitrary inputs", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 64, 512, 200, 30),
        fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 512, maxLength: 512 }),
        (n, values) => {
          const x = Float64Array.from(values.slice(0, n));
          const fft = new RealFft(n);
          const re = new Float64Array(n / 2 + 1);
          const im = new Float64Array(n / 2 + 1);
          fft.forward(x, re, im);
          // Σx² = (1/n)(|X0|² + |X_{n/2}|² + 2 Σ_{0<k<n/2} |Xk|²) for real x.
          let time = 0;
          for (const v of x) time += v * v;
          let freq = re[0]! ** 2 + im[0]! ** 2 + re[n / 2]! ** 2 + im[n / 2]! ** 2;
          for (let k = 1; k < n / 2; k++) freq += 2 * (re[k]! ** 2 + im[k]! ** 2);
          expect(Math.abs(freq / n - time)).toBeLessThanOrEqual(1e-9 * Math.max(time, 1));
        },
      ),
      { numRuns: 30 },
    );
  });
});
