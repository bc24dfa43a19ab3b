/**
 * A small real-input FFT for the filterbank: one plan per length, all tables precomputed.
 *
 * A real sequence of even length N is packed into a complex sequence of length N/2
 * (even samples → real part, odd samples → imaginary part), transformed, and split back
 * into the N/2 + 1 non-redundant bins (the standard "two-for-one" real FFT). The half-length
 * complex FFT is an iterative radix-2 transform when N/2 is a power of two (Kaldi's default,
 * `round_to_power_of_two`), and Bluestein's chirp-z algorithm otherwise (e.g. a 400-sample
 * window with `round_to_power_of_two: false`), so every even length torchaudio accepts works.
 *
 * Everything runs in float64: more precise than torchaudio's float32, which is what we compare to.
 */

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** In-place iterative radix-2 complex FFT (forward, e^{-2πi kn/N}) of a power-of-two length. */
class Radix2ComplexFft {
  readonly n: number;
  private readonly bitReverse: Uint32Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(n: number) {
    if (!isPowerOfTwo(n)) throw new RangeError(`radix-2 FFT length must be a power of two, got ${n}`);
    this.n = n;
    this.bitReverse = new Uint32Array(n);
    let bits = 0;
    while (1 << bits < n) bits++;
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.bitReverse[i] = r;
    }
    // Twiddles for the largest stage; smaller stages read them with a stride.
    const half = n >> 1;
    this.cos = new Float64Array(Math.max(half, 1));
    this.sin = new Float64Array(Math.max(half, 1));
    for (let k = 0; k < half; k++) {
      const a = (-2 * Math.PI * k) / n;
      this.cos[k] = Math.cos(a);
      this.sin[k] = Math.sin(a);
    }
  }

  /** Forward transform of (re, im) in place. `inverse` conjugates the twiddles (no 1/N scaling). */
  transform(re: Float64Array, im: Float64Array, inverse = false): void {
    const n = this.n;
    const rev = this.bitReverse;
    for (let i = 0; i < n; i++) {
      const j = rev[i]!;
      if (j > i) {
        const tr = re[i]!;
        re[i] = re[j]!;
        re[j] = tr;
        const ti = im[i]!;
        im[i] = im[j]!;
        im[j] = ti;
      }
    }
    const cosT = this.cos;
    const sinT = this.sin;
    const sign = inverse ? -1 : 1;
    for (let size = 2; size <= n; size <<= 1) {
      const halfSize = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0, t = 0; k < halfSize; k++, t += step) {
          const wr = cosT[t]!;
          const wi = sign * sinT[t]!;
          const a = start + k;
          const b = a + halfSize;
          const br = re[b]!;
          const bi = im[b]!;
          const xr = br * wr - bi * wi;
          const xi = br * wi + bi * wr;
          const ar = re[a]!;
          const ai = im[a]!;
          re[b] = ar - xr;
          im[b] = ai - xi;
          re[a] = ar + xr;
          im[a] = ai + xi;
        }
      }
    }
  }
}

/** Forward complex DFT of any length via Bluestein's chirp-z transform over a power-of-two FFT. */
class BluesteinComplexFft {
  readonly n: number;
  private readonly inner: Radix2ComplexFft;
  private readonly chirpRe: Float64Array; // w[k] = exp(-iπ k²/n)
  private readonly chirpIm: Float64Array;
  private readonly kernelRe: Float64Array; // FFT of conj(w) laid out circularly
  private readonly kernelIm: Float64Array;
  private readonly workRe: Float64Array;
  private readonly workIm: Float64Array;

  constructor(n: number) {
    this.n = n;
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    this.inner = new Radix2ComplexFft(m);
    this.chirpRe = new Float64Array(n);
    this.chirpIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      // k² mod 2n keeps the angle small, so large k lose no precision.
      const a = (-Math.PI * ((k * k) % (2 * n))) / n;
      this.chirpRe[k] = Math.cos(a);
      this.chirpIm[k] = Math.sin(a);
    }
    this.kernelRe = new Float64Array(m);
    this.kernelIm = new Float64Array(m);
    for (let k = 0; k < n; k++) {
      this.kernelRe[k] = this.chirpRe[k]!;
      this.kernelIm[k] = -this.chirpIm[k]!;
      if (k > 0) {
        this.kernelRe[m - k] = this.chirpRe[k]!;
        this.kernelIm[m - k] = -this.chirpIm[k]!;
      }
    }
    this.inner.transform(this.kernelRe, this.kernelIm);
    this.workRe = new Float64Array(m);
    this.workIm = new Float64Array(m);
  }

  transform(re: Float64Array, im: Float64Array): void {
    const n = this.n;
    const m = this.inner.n;
    const wr = this.workRe;
    const wi = this.workIm;
    for (let k = 0; k < n; k++) {
      const cr = this.chirpRe[k]!;
      const ci = this.chirpIm[k]!;
      wr[k] = re[k]! * cr - im[k]! * ci;
      wi[k] = re[k]! * ci + im[k]! * cr;
    }
    wr.fill(0, n);
    wi.fill(0, n);
    this.inner.transform(wr, wi);
    for (let k = 0; k < m; k++) {
      const xr = wr[k]!;
      const xi = wi[k]!;
      const kr = this.kernelRe[k]!;
      const ki = this.kernelIm[k]!;
      wr[k] = xr * kr - xi * ki;
      wi[k] = xr * ki + xi * kr;
    }
    this.inner.transform(wr, wi, true);
    const scale = 1 / m;
    for (let k = 0; k < n; k++) {
      const yr = wr[k]! * scale;
      const yi = wi[k]! * scale;
      const cr = this.chirpRe[k]!;
      const ci = this.chirpIm[k]!;
      re[k] = yr * cr - yi * ci;
      im[k] = yr * ci + yi * cr;
    }
  }
}

/**
 * Forward FFT of a real sequence of even length `n`, returning the `n/2 + 1` bins 0..Nyquist.
 * Not thread-safe (reuses scratch buffers); one instance per plan.
 */
export class RealFft {
  readonly n: number;
  readonly bins: number;
  private readonly half: number;
  private readonly complex: Radix2ComplexFft | BluesteinComplexFft;
  private readonly zRe: Float64Array;
  private readonly zIm: Float64Array;
  private readonly twRe: Float64Array; // e^{-2πik/n}, k = 0..n/2
  private readonly twIm: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 2 || n % 2 !== 0) {
      throw new RangeError(`real FFT length must be an even integer ≥ 2, got ${n}`);
    }
    this.n = n;
    this.half = n / 2;
    this.bins = this.half + 1;
    this.complex = isPowerOfTwo(this.half) ? new Radix2ComplexFft(this.half) : new BluesteinComplexFft(this.half);
    this.zRe = new Float64Array(this.half);
    this.zIm = new Float64Array(this.half);
    this.twRe = new Float64Array(this.half + 1);
    this.twIm = new Float64Array(this.half + 1);
    for (let k = 0; k <= this.half; k++) {
      const a = (-2 * Math.PI * k) / n;
      this.twRe[k] = Math.cos(a);
      this.twIm[k] = Math.sin(a);
    }
  }

  /**
   * `input` holds n real samples (read only); writes bins 0..n/2 into outRe/outIm
   * (each at least n/2 + 1 long).
   */
  forward(input: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    const h = this.half;
    const zr = this.zRe;
    const zi = this.zIm;
    for (let k = 0; k < h; k++) {
      zr[k] = input[2 * k]!;
      zi[k] = input[2 * k + 1]!;
    }
    this.complex.transform(zr, zi);
    // X[k] = E[k] + e^{-2πik/n} O[k], with E/O the DFTs of the even/odd samples:
    //   E[k] = (Z[k] + conj Z[h-k]) / 2,  O[k] = (Z[k] - conj Z[h-k]) / 2i,  Z[h] ≡ Z[0].
    for (let k = 0; k <= h; k++) {
      const a = k === h ? 0 : k;
      const b = k === 0 ? 0 : h - k;
      const ar = zr[a]!;
      const ai = zi[a]!;
      const br = zr[b]!;
      const bi = -zi[b]!; // conj Z[h-k]
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      // (Z - conjZ') / 2i = (dr + i di) / 2i = (di - i dr) / 2
      const or = 0.5 * (ai - bi);
      const oi = -0.5 * (ar - br);
      const tr = this.twRe[k]!;
      const ti = this.twIm[k]!;
      outRe[k] = er + (or * tr - oi * ti);
      outIm[k] = ei + (or * ti + oi * tr);
    }
  }
}
