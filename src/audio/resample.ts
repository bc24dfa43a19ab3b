/**
 * Band-limited sample-rate conversion: a polyphase windowed-sinc (Kaiser window) resampler.
 *
 * Specification (issue 2 §2): passband ripple ≤ 0.1 dB up to 0.9 × the lower Nyquist frequency,
 * stopband attenuation ≥ 60 dB from the lower Nyquist frequency up (so a tone above the output's
 * Nyquist cannot alias into the band when downsampling, and the spectral images of the input
 * cannot leak into the output when upsampling).
 *
 * Design (J. O. Smith, "Digital Audio Resampling Home Page", bandlimited interpolation; Kaiser &
 * Schafer 1980 for the window formulas):
 * - The ideal interpolator y(t) = Σᵢ x[i] · g(t − i), with t the output instant measured in input
 *   samples, is a low-pass sinc with its cutoff half-way through the transition band
 *   (0.95 × lower Nyquist) and a transition 0.1 × lower Nyquist wide, windowed by a Kaiser window
 *   whose β and length come from Kaiser's formulas for the attenuation target below.
 * - With from/to = M/L in lowest terms (gcd), the fractional part of t only takes L values, so the
 *   kernel is sampled once per phase into a filter bank of L rows ("polyphase"); each row is
 *   normalised to unit DC gain. Banks are cached per rate pair.
 * - For rate pairs with a huge L (e.g. 44101 → 16000, L = 16000), the bank is instead sampled at
 *   {@link INTERPOLATED_PHASES} phases and coefficients are linearly interpolated between adjacent
 *   phases, as the Speex and libsamplerate resamplers do; the interpolation error of a kernel this
 *   oversampled is below −100 dB.
 * The output has zero delay: output sample m is the input's band-limited value at time m/toRate.
 */
import { VoicePassportError } from '../errors.js';
import { besselI0, kaiserBeta, kaiserLength, kaiserWindow } from './kaiser.js';

/**
 * Kaiser design attenuation. The spec asks ≥ 60 dB; Kaiser's length formula is approximate, so the
 * design target carries a margin, and the tests measure what the filters really achieve.
 */
const DESIGN_ATTENUATION_DB = 66;
/** Passband edge and stopband edge as fractions of the lower Nyquist frequency (the spec's 0.9 and 1.0). */
const PASSBAND_EDGE = 0.9;
const STOPBAND_EDGE = 1.0;
/** Above this many exact phases, switch to an interpolated bank (memory stays bounded for odd rate pairs). */
const MAX_EXACT_PHASES = 1024;
const INTERPOLATED_PHASES = 512;
const MAX_RATE = 384_000;
const CACHE_LIMIT = 16;

interface FilterBank {
  /** Output samples per `decimation` input samples (to/gcd). */
  interpolation: number;
  /** Input samples per `interpolation` output samples (from/gcd). */
  decimation: number;
  /** Taps per phase (even). */
  taps: number;
  /** Taps before the current input sample that the kernel reaches back (taps / 2 − 1). */
  reach: number;
  /** Rows of `taps` coefficients; row p is the kernel at fractional delay p / phases. */
  coefficients: Float64Array;
  /** Number of rows; equals `interpolation` for an exact bank, INTERPOLATED_PHASES (+1 guard row) otherwise. */
  phases: number;
  exact: boolean;
}

/** Greatest common divisor of two whole numbers (rate pairs in lowest terms). */
export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Windowed-sinc low-pass kernel in input-sample time: cutoff `cutoff` as a fraction of the input
 * Nyquist, Kaiser window of half-width `halfWidth` input samples.
 */
function kernel(tau: number, cutoff: number, halfWidth: number, beta: number, i0Beta: number): number {
  const r = tau / halfWidth;
  if (r <= -1 || r >= 1) return 0;
  const window = kaiserWindow(r, beta, i0Beta);
  const x = cutoff * tau;
  const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
  return cutoff * sinc * window;
}

function designBank(fromRate: number, toRate: number): FilterBank {
  const divisor = gcd(fromRate, toRate);
  const interpolation = toRate / divisor;
  const decimation = fromRate / divisor;

  const lowerNyquist = Math.min(fromRate, toRate) / 2;
  const cutoffHz = ((PASSBAND_EDGE + STOPBAND_EDGE) / 2) * lowerNyquist;
  const transitionHz = (STOPBAND_EDGE - PASSBAND_EDGE) * lowerNyquist;
  const cutoff = cutoffHz / (fromRate / 2); // fraction of the input Nyquist
  const length = kaiserLength(DESIGN_ATTENUATION_DB, (2 * Math.PI * transitionHz) / fromRate);
  const halfWidth = length / 2;
  const reach = Math.ceil(halfWidth) - 1;
  const taps = 2 * (reach + 1);
  const beta = kaiserBeta(DESIGN_ATTENUATION_DB);
  const i0Beta = besselI0(beta);

  const exact = interpolation <= MAX_EXACT_PHASES;
  const resolution = exact ? interpolation : INTERPOLATED_PHASES;
  // The interpolated bank carries a guard row at fraction 1.0 so that row p + 1 always exists.
  const phases = exact ? interpolation : INTERPOLATED_PHASES + 1;
  const coefficients = new Float64Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const frac = p / resolution;
    const row = p * taps;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      // Tap k multiplies input sample (i0 − reach + k); its distance from the output instant is:
      const value = kernel(frac + reach - k, cutoff, halfWidth, beta, i0Beta);
      coefficients[row + k] = value;
      sum += value;
    }
    // Unit DC gain for every phase: removes the small phase-dependent gain ripple of the windowed sinc.
    for (let k = 0; k < taps; k++) coefficients[row + k]! /= sum;
  }
  return { interpolation, decimation, taps, reach, coefficients, phases, exact };
}

const bankCache = new Map<string, FilterBank>();

function filterBankFor(fromRate: number, toRate: number): FilterBank {
  const key = `${fromRate}:${toRate}`;
  let bank = bankCache.get(key);
  if (bank !== undefined) {
    // Re-insert so the Map's insertion order works as least-recently-used order.
    bankCache.delete(key);
    bankCache.set(key, bank);
    return bank;
  }
  bank = designBank(fromRate, toRate);
  if (bankCache.size >= CACHE_LIMIT) bankCache.delete(bankCache.keys().next().value!);
  bankCache.set(key, bank);
  return bank;
}

function checkRate(rate: number, name: string): void {
  if (!Number.isInteger(rate) || rate <= 0 || rate > MAX_RATE) {
    throw new VoicePassportError('audio-sample-rate-unsupported', `Cannot resample: ${name} ${rate} is not a whole number of Hz between 1 and ${MAX_RATE}.`, {
      sampleRate: rate,
    });
  }
}

/**
 * Resample ±1 float audio from `fromRate` to `toRate` (both whole Hz). The output has
 * ceil(n × toRate / fromRate) samples and no delay; samples beyond the input's ends count as zero.
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  checkRate(fromRate, 'the input rate');
  checkRate(toRate, 'the output rate');
  if (fromRate === toRate) return samples.slice();
  if (samples.length === 0) return new Float32Array(0);

  const bank = filterBankFor(fromRate, toRate);
  const out = new Float32Array(Math.ceil((samples.length * bank.interpolation) / bank.decimation));
  if (!bank.exact) convolveInterpolated(bank, samples, out);
  else if (bank.interpolation === 1) decimateSymmetric(bank, samples, out);
  else convolvePolyphase(bank, samples, out);
  return out;
}

/** Σ coefficients[row + k] · samples[start + k] over the taps that fall inside the signal. */
function dot(coefficients: Float64Array, row: number, taps: number, samples: Float32Array, start: number): number {
  const n = samples.length;
  const kFrom = start < 0 ? -start : 0;
  const kTo = start + taps > n ? n - start : taps;
  // Four independent accumulators let the JIT overlap the multiply-adds (≈2× faster than one).
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let k = kFrom;
  let c = row + k;
  let j = start + k;
  for (; k + 3 < kTo; k += 4, c += 4, j += 4) {
    a0 += coefficients[c]! * samples[j]!;
    a1 += coefficients[c + 1]! * samples[j + 1]!;
    a2 += coefficients[c + 2]! * samples[j + 2]!;
    a3 += coefficients[c + 3]! * samples[j + 3]!;
  }
  for (; k < kTo; k++, c++, j++) a0 += coefficients[c]! * samples[j]!;
  return a0 + a1 + a2 + a3;
}

/** General rational ratio: output m sits at input time m·M/L = i0 + p/L, tracked in integers. */
function convolvePolyphase(bank: FilterBank, samples: Float32Array, out: Float32Array): void {
  const { interpolation: L, decimation: M, taps, reach, coefficients } = bank;
  const stepWhole = Math.floor(M / L);
  const stepPhase = M % L;
  let i0 = 0;
  let p = 0;
  for (let m = 0; m < out.length; m++) {
    out[m] = dot(coefficients, p * taps, taps, samples, i0 - reach);
    i0 += stepWhole;
    p += stepPhase;
    if (p >= L) {
      p -= L;
      i0 += 1;
    }
  }
}

/**
 * Integer decimation (L = 1, e.g. 48 → 16 kHz): the single phase is the kernel at τ = reach … −reach
 * (plus a final zero tap), symmetric about tap `reach`, so pairs of samples share one multiply.
 */
function decimateSymmetric(bank: FilterBank, samples: Float32Array, out: Float32Array): void {
  const { decimation: M, taps, reach, coefficients } = bank;
  const n = samples.length;
  for (let m = 0, i0 = 0; m < out.length; m++, i0 += M) {
    if (i0 - reach < 0 || i0 + reach >= n) {
      out[m] = dot(coefficients, 0, taps, samples, i0 - reach);
      continue;
    }
    let a0 = coefficients[reach]! * samples[i0]!;
    let a1 = 0;
    let j = 1;
    for (; j + 1 <= reach; j += 2) {
      a0 += coefficients[reach + j]! * (samples[i0 - j]! + samples[i0 + j]!);
      a1 += coefficients[reach + j + 1]! * (samples[i0 - j - 1]! + samples[i0 + j + 1]!);
    }
    for (; j <= reach; j++) a0 += coefficients[reach + j]! * (samples[i0 - j]! + samples[i0 + j]!);
    out[m] = a0 + a1;
  }
}

/** Huge L (odd rate pairs): coefficients linearly interpolated between the nearest two of the sampled phases. */
function convolveInterpolated(bank: FilterBank, samples: Float32Array, out: Float32Array): void {
  const { interpolation: L, decimation: M, taps, reach, coefficients } = bank;
  const n = samples.length;
  const stepWhole = Math.floor(M / L);
  const stepPhase = M % L;
  let i0 = 0;
  let p = 0;
  for (let m = 0; m < out.length; m++) {
    const start = i0 - reach;
    const kFrom = start < 0 ? -start : 0;
    const kTo = start + taps > n ? n - start : taps;
    const position = (p / L) * INTERPOLATED_PHASES;
    const lower = Math.floor(position);
    const alpha = position - lower;
    const rowA = lower * taps;
    const rowB = rowA + taps;
    let acc = 0;
    for (let k = kFrom; k < kTo; k++) {
      const c = coefficients[rowA + k]! + alpha * (coefficients[rowB + k]! - coefficients[rowA + k]!);
      acc += c * samples[start + k]!;
    }
    out[m] = acc;
    i0 += stepWhole;
    p += stepPhase;
    if (p >= L) {
      p -= L;
      i0 += 1;
    }
  }
}

/** Design figures of the filter used for a rate pair (for tests, benchmarks and documentation). */
export function describeResampler(fromRate: number, toRate: number): {
  interpolation: number;
  decimation: number;
  tapsPerPhase: number;
  phases: number;
  exact: boolean;
} {
  checkRate(fromRate, 'the input rate');
  checkRate(toRate, 'the output rate');
  const bank = filterBankFor(fromRate, toRate);
  return { interpolation: bank.interpolation, decimation: bank.decimation, tapsPerPhase: bank.taps, phases: bank.phases, exact: bank.exact };
}
