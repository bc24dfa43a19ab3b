/**
 * A small real-input FFT for the filterbank: one plan per length, all tables precomputed.
 *
 * A real sequence of even length N is packed into a complex sequence of length N/2
 * (even samples → real part, odd samples → imaginary part), transformed, and split back
 * into the N/2 + 1 non-redundant bins (the standard "two-for-one" real FFT). The half-length
 * complex FFT is an in-place radix-2 decimation-in-frequency transform when N/2 is a power of
 * two (Kaldi's default, `round_to_power_of_two`), and Bluestein's chirp-z algorithm otherwise
 * (e.g. a 400-sample window with `round_to_power_of_two: false`), so every even length
 * torchaudio accepts works.
 *
 * Speed matters (one FFT per 10 ms frame): the caller writes its windowed frame straight into
 * the packed buffers, the radix-2 output stays in bit-reversed order (the split step reads it
 * through the permutation instead of reordering), and the last two stages are a fused,
 * multiply-free radix-4 pass. Everything is float64: more precise than torchaudio's float32.
 */

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function bitReversal(n: number): Uint32Array {
  let bits = 0;
  while (1 << bits < n) bits++;
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  return rev;
}

/**
 * In-place complex FFT of a power-of-two length (forward: e^{-2πi kn/N}), decimation in
 * frequency: radix-4 stages (half the memory passes of radix-2), one radix-2 stage first when
 * log2 N is odd, and a multiply-free size-4 pass last. A radix-4 stage is exactly two radix-2
 * stages fused, so the output is in plain bit-reversed order.
 */
class Radix2ComplexFft {
  readonly n: number;
  /** rev[k]: where bin k sits after {@link transformBitReversed}. */
  readonly rev: Uint32Array;
  private readonly swaps: Uint32Array; // pairs (i, j), i < j, exchanged to restore natural order
  /** Whether the first stage is radix-2 (log2 n odd). */
  private readonly leadingRadix2: boolean;
  /** Twiddles w^k (w = e^{-2πi/n}, k < n/2) of the leading radix-2 stage. */
  private readonly leadRe: Float64Array;
  private readonly leadIm: Float64Array;
  // Twiddles w^k, w^2k, w^3k (w = e^{-2πi/L}, k < L/4) of each radix-4 stage of size L ≥ 16,
  // stages concatenated from the largest.
  private readonly tw1Re: Float64Array;
  private readonly tw1Im: Float64Array;
  private readonly tw2Re: Float64Array;
  private readonly tw2Im: Float64Array;
  private readonly tw3Re: Float64Array;
  private readonly tw3Im: Float64Array;

  constructor(n: number) {
    if (!isPowerOfTwo(n)) throw new RangeError(`radix-2 FFT length must be a power of two, got ${n}`);
    this.n = n;
    this.rev = bitReversal(n);
    const swaps: number[] = [];
    for (let i = 0; i < n; i++) if (this.rev[i]! > i) swaps.push(i, this.rev[i]!);
    this.swaps = Uint32Array.from(swaps);
    let log2 = 0;
    while (1 << log2 < n) log2++;
    this.leadingRadix2 = log2 % 2 === 1 && n >= 8;
    const t: number[][] = [[], [], [], [], [], [], [], []];
    const push = (size: number, k: number, mult: number, re: number, im: number): void => {
      const a = (-2 * Math.PI * ((k * mult) % size)) / size;
      t[re]!.push(Math.cos(a));
      t[im]!.push(Math.sin(a));
    };
    let size = n;
    if (this.leadingRadix2) {
      for (let k = 0; k < n / 2; k++) push(n, k, 1, 6, 7);
      size = n / 2;
    }
    for (; size >= 16; size /= 4) {
      for (let k = 0; k < size / 4; k++) {
        push(size, k, 1, 0, 1);
        push(size, k, 2, 2, 3);
        push(size, k, 3, 4, 5);
      }
    }
    this.tw1Re = Float64Array.from(t[0]!);
    this.tw1Im = Float64Array.from(t[1]!);
    this.tw2Re = Float64Array.from(t[2]!);
    this.tw2Im = Float64Array.from(t[3]!);
    this.tw3Re = Float64Array.from(t[4]!);
    this.tw3Im = Float64Array.from(t[5]!);
    this.leadRe = Float64Array.from(t[6]!);
    this.leadIm = Float64Array.from(t[7]!);
  }

  /**
   * Natural-order input, output bin k at index rev[k]; in place.
   * `inverse` uses e^{+2πi kn/N} (no 1/N scaling).
   */
  transformBitReversed(re: Float64Array, im: Float64Array, inverse = false): void {
    const n = this.n;
    if (n === 1) return;
    if (n === 2) {
      const ar = re[0]!;
      const ai = im[0]!;
      re[0] = ar + re[1]!;
      im[0] = ai + im[1]!;
      re[1] = ar - re[1]!;
      im[1] = ai - im[1]!;
      return;
    }
    const sign = inverse ? -1 : 1;
    const t1r = this.tw1Re;
    const t1i = this.tw1Im;
    const t2r = this.tw2Re;
    const t2i = this.tw2Im;
    const t3r = this.tw3Re;
    const t3i = this.tw3Im;
    let base = 0;
    let size = n;
    if (this.leadingRadix2) {
      const half = n >> 1;
      const lr = this.leadRe;
      const li = this.leadIm;
      for (let k = 0; k < half; k++) {
        const wr = lr[k]!;
        const wi = sign * li[k]!;
        const b = k + half;
        const ar = re[k]!;
        const ai = im[k]!;
        const br = re[b]!;
        const bi = im[b]!;
        re[k] = ar + br;
        im[k] = ai + bi;
        const dr = ar - br;
        const di = ai - bi;
        re[b] = dr * wr - di * wi;
        im[b] = dr * wi + di * wr;
      }
      size = half;
    }
    for (; size >= 16; size >>= 2) {
      const q = size >> 2;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < q; k++) {
          const i0 = start + k;
          const i1 = i0 + q;
          const i2 = i1 + q;
          const i3 = i2 + q;
          const ar = re[i0]!;
          const ai = im[i0]!;
          const br = re[i1]!;
          const bi = im[i1]!;
          const cr = re[i2]!;
          const ci = im[i2]!;
          const dr = re[i3]!;
          const di = im[i3]!;
          const s0r = ar + cr;
          const s0i = ai + ci;
          const s1r = ar - cr;
          const s1i = ai - ci;
          const s2r = br + dr;
          const s2i = bi + di;
          // (b − d)·(∓i): forward −i → (y, −x); inverse +i → (−y, x).
          const s3r = sign * (bi - di);
          const s3i = -sign * (br - dr);
          // Frequencies ≡ 0, 2, 1, 3 (mod 4) go to quarters 0, 1, 2, 3 (bit-reversed order).
          re[i0] = s0r + s2r;
          im[i0] = s0i + s2i;
          const y2r = s0r - s2r;
          const y2i = s0i - s2i;
          const y1r = s1r + s3r;
          const y1i = s1i + s3i;
          const y3r = s1r - s3r;
          const y3i = s1i - s3i;
          const w1r = t1r[base + k]!;
          const w1i = sign * t1i[base + k]!;
          const w2r = t2r[base + k]!;
          const w2i = sign * t2i[base + k]!;
          const w3r = t3r[base + k]!;
          const w3i = sign * t3i[base + k]!;
          re[i1] = y2r * w2r - y2i * w2i;
          im[i1] = y2r * w2i + y2i * w2r;
          re[i2] = y1r * w1r - y1i * w1i;
          im[i2] = y1r * w1i + y1i * w1r;
          re[i3] = y3r * w3r - y3i * w3i;
          im[i3] = y3r * w3i + y3i * w3r;
        }
      }
      base += q;
    }
    // Last radix-4 stage (size 4): twiddles are all 1, so only additions.
    for (let b = 0; b < n; b += 4) {
      const r0 = re[b]!;
      const i0 = im[b]!;
      const r1 = re[b + 1]!;
      const i1 = im[b + 1]!;
      const r2 = re[b + 2]!;
      const i2 = im[b + 2]!;
      const r3 = re[b + 3]!;
      const i3 = im[b + 3]!;
      const sr = r0 + r2;
      const si = i0 + i2;
      const tr = r1 + r3;
      const ti = i1 + i3;
      const ur = r0 - r2;
      const ui = i0 - i2;
      const vr = sign * (i1 - i3);
      const vi = -sign * (r1 - r3);
      re[b] = sr + tr;
      im[b] = si + ti;
      re[b + 1] = sr - tr;
      im[b + 1] = si - ti;
      re[b + 2] = ur + vr;
      im[b + 2] = ui + vi;
      re[b + 3] = ur - vr;
      im[b + 3] = ui - vi;
    }
  }

  /** Natural order in and out. */
  transform(re: Float64Array, im: Float64Array, inverse = false): void {
    this.transformBitReversed(re, im, inverse);
    const swaps = this.swaps;
    for (let s = 0; s < swaps.length; s += 2) {
      const i = swaps[s]!;
      const j = swaps[s + 1]!;
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
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

  /** Natural order in and out. */
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
 * Forward FFT of a real sequence of even length `n`: bins 0..n/2.
 * Not re-entrant (one set of scratch buffers); one instance per filterbank plan.
 */
export class RealFft {
  readonly n: number;
  /** Number of output bins, n/2 + 1. */
  readonly bins: number;
  /**
   * The packed input, n/2 long each: sample 2k goes in packedRe[k], sample 2k+1 in packedIm[k].
   * Callers may fill these directly and call {@link powerSpectrumOfPacked}; they are overwritten
   * by the transform, so every entry must be rewritten before each call.
   */
  readonly packedRe: Float64Array;
  readonly packedIm: Float64Array;
  private readonly half: number;
  private readonly radix2: Radix2ComplexFft | null;
  private readonly bluestein: BluesteinComplexFft | null;
  /** Storage index of half-length bin k (k = 0..n/2, bin n/2 ≡ bin 0) after the transform. */
  private readonly at: Uint32Array;
  private readonly twRe: Float64Array; // e^{-2πik/n}, k = 0..n/2
  private readonly twIm: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 2 || n % 2 !== 0) {
      throw new RangeError(`real FFT length must be an even integer ≥ 2, got ${n}`);
    }
    this.n = n;
    const h = n / 2;
    this.half = h;
    this.bins = h + 1;
    this.radix2 = isPowerOfTwo(h) ? new Radix2ComplexFft(h) : null;
    this.bluestein = this.radix2 ? null : new BluesteinComplexFft(h);
    this.at = new Uint32Array(h + 1);
    for (let k = 0; k <= h; k++) this.at[k] = this.radix2 ? this.radix2.rev[k % h]! : k % h;
    this.packedRe = new Float64Array(h);
    this.packedIm = new Float64Array(h);
    this.twRe = new Float64Array(h + 1);
    this.twIm = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      const a = (-2 * Math.PI * k) / n;
      this.twRe[k] = Math.cos(a);
      this.twIm[k] = Math.sin(a);
    }
  }

  private transformPacked(): void {
    if (this.radix2) this.radix2.transformBitReversed(this.packedRe, this.packedIm);
    else this.bluestein!.transform(this.packedRe, this.packedIm);
  }

  /**
   * Splits the half-length spectrum Z of the packed input into bin k of the real input:
   * X[k] = E[k] + e^{-2πik/n} O[k], where E[k] = (Z[k] + conj Z[h−k]) / 2 and
   * O[k] = (Z[k] − conj Z[h−k]) / 2i are the DFTs of the even and odd samples.
   * Writes (re, im) into out[0], out[1].
   */
  private split(k: number, out: Float64Array): void {
    const zr = this.packedRe;
    const zi = this.packedIm;
    const a = this.at[k]!;
    const b = this.at[this.half - k]!;
    const ar = zr[a]!;
    const ai = zi[a]!;
    const br = zr[b]!;
    const bi = -zi[b]!; // conj Z[h−k]
    const er = 0.5 * (ar + br);
    const ei = 0.5 * (ai + bi);
    const or = 0.5 * (ai - bi); // (Z − conj Z') / 2i = ((ai − bi) − i(ar − br)) / 2
    const oi = -0.5 * (ar - br);
    const tr = this.twRe[k]!;
    const ti = this.twIm[k]!;
    out[0] = er + (or * tr - oi * ti);
    out[1] = ei + (or * ti + oi * tr);
  }

  /** |X[k]|² for k = 0..n/2 of the samples in packedRe/packedIm (which it overwrites). */
  powerSpectrumOfPacked(power: Float64Array): void {
    this.transformPacked();
    const h = this.half;
    const zr = this.packedRe;
    const zi = this.packedIm;
    const at = this.at;
    const twRe = this.twRe;
    const twIm = this.twIm;
    // Same split as `split`, inlined: this loop runs once per bin of every frame.
    for (let k = 0; k <= h; k++) {
      const a = at[k]!;
      const b = at[h - k]!;
      const ar = zr[a]!;
      const ai = zi[a]!;
      const br = zr[b]!;
      const bi = -zi[b]!;
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      const or = 0.5 * (ai - bi);
      const oi = -0.5 * (ar - br);
      const tr = twRe[k]!;
      const ti = twIm[k]!;
      const xr = er + (or * tr - oi * ti);
      const xi = ei + (or * ti + oi * tr);
      power[k] = xr * xr + xi * xi;
    }
  }

  /** Complex spectrum of `input` (n real samples, read only) into outRe/outIm (n/2 + 1 each). */
  forward(input: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    for (let k = 0; k < this.half; k++) {
      this.packedRe[k] = input[2 * k]!;
      this.packedIm[k] = input[2 * k + 1]!;
    }
    this.transformPacked();
    const pair = new Float64Array(2);
    for (let k = 0; k <= this.half; k++) {
      this.split(k, pair);
      outRe[k] = pair[0]!;
      outIm[k] = pair[1]!;
    }
  }
}
