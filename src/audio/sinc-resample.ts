/**
 * torchaudio's resampler, for models trained on audio that torchaudio resampled.
 *
 * A speaker model learns the artefacts of its training front-end along with the voices. The
 * project's training scripts (scripts/train/data.py) bring every rate to 16 kHz, and simulate the
 * phone line's 8 kHz round trip, with `torchaudio.functional.resample` at its defaults: a
 * Hann-windowed sinc with 6 zero crossings either side and its cutoff at 0.99 × the lower Nyquist
 * frequency. That kernel is short, so its transition band is wide; the service's own resampler
 * (src/audio/resample.ts, built to ≥ 60 dB stopband) is much steeper. The two give 8 kHz speech
 * different spectra near and above 4 kHz, and a model trained on one hears the other as another
 * channel (models/README.md, "The 8 kHz path"). A manifest names the resampler its model was trained
 * with (`resampler`), and the model input is made with it.
 *
 * This is torchaudio 0.13's `_get_sinc_resample_kernel` and `_apply_sinc_resample_kernel`
 * (method "sinc_interpolation"): with from/to = M/L in lowest terms, output sample j of each
 * block of L is the input block of M convolved with its own kernel row, the input zero-padded by
 * `width` before and `width + M` after; the output is ceil(L·n/M) samples. Kernels are computed in
 * float64 and rounded to float32, as torchaudio does; sums are accumulated in float64.
 * Checked against torchaudio's own output (fixtures/resample/torchaudio.json, made by
 * scripts/reference/resample_reference.py).
 */
import { VoicePassportError } from '../errors.js';
import { gcd } from './resample.js';

/** torchaudio.functional.resample's defaults. */
export const TORCHAUDIO_LOWPASS_WIDTH = 6;
export const TORCHAUDIO_ROLLOFF = 0.99;
/**
 * Largest bank (rows × taps) built: 11 025 → 16 000 Hz needs 291 200 coefficients. An odd rate
 * (47 996 Hz: 4 000 rows of 12 037 taps, 48 million coefficients) would cost about 200 MB per
 * request, and up to CACHE_LIMIT banks stay cached; such a rate gets the service's own resampler
 * instead (src/model/analyse.ts).
 */
const MAX_COEFFICIENTS = 1 << 20;
const CACHE_LIMIT = 16;

interface SincBank {
  /** Reduced input rate M: input samples per block. */
  decimation: number;
  /** Reduced output rate L: output samples per block, one kernel row each. */
  interpolation: number;
  /** Zero padding before the input (torchaudio's `width`). */
  width: number;
  /** Taps per row: 2·width + M. */
  taps: number;
  coefficients: Float32Array;
  /**
   * Per row, the first and one past the last non-zero tap: beyond six zero crossings the window
   * is zero, so most of a row is (44.1 → 16 kHz: 475 taps, 33 or so non-zero).
   */
  first: Int32Array;
  end: Int32Array;
}

const banks = new Map<string, SincBank>();

/** torchaudio's geometry for a rate pair: reduced rates M (orig) and L (next), padding and taps per row. */
function geometry(fromRate: number, toRate: number): { orig: number; next: number; base: number; width: number; taps: number } {
  const g = gcd(fromRate, toRate);
  const orig = fromRate / g;
  const next = toRate / g;
  const base = Math.min(orig, next) * TORCHAUDIO_ROLLOFF;
  const width = Math.ceil((TORCHAUDIO_LOWPASS_WIDTH * orig) / base);
  return { orig, next, base, width, taps: 2 * width + orig };
}

/** Whether torchaudioResample takes this pair of whole-Hz rates (its kernel bank stays small). */
export function torchaudioResamples(fromRate: number, toRate: number): boolean {
  if (!(Number.isInteger(fromRate) && Number.isInteger(toRate) && fromRate > 0 && toRate > 0)) return false;
  const { next, taps } = geometry(fromRate, toRate);
  return next * taps <= MAX_COEFFICIENTS;
}

function sincBank(fromRate: number, toRate: number): SincBank {
  const key = `${fromRate}:${toRate}`;
  const cached = banks.get(key);
  if (cached !== undefined) return cached;
  if (!torchaudioResamples(fromRate, toRate)) {
    throw new VoicePassportError('audio-sample-rate-unsupported', `Cannot resample ${fromRate} Hz to ${toRate} Hz with the torchaudio resampler: the rates share too small a factor.`, { fromRate, toRate });
  }
  const { orig, next, base, width, taps } = geometry(fromRate, toRate);
  const lw = TORCHAUDIO_LOWPASS_WIDTH;
  const coefficients = new Float32Array(next * taps);
  const scale = base / orig;
  for (let j = 0; j < next; j++) {
    for (let k = 0; k < taps; k++) {
      // torchaudio: t = (−j/L + idx/M) · base, idx = k − width, clamped to ±lw zero crossings; its
      // −j/L is a float32 tensor (integer arange divided), the rest float64.
      let t = (Math.fround(-j / next) + (k - width) / orig) * base;
      t = Math.max(-lw, Math.min(lw, t));
      const window = Math.cos((t * Math.PI) / lw / 2) ** 2;
      const x = t * Math.PI;
      const sinc = x === 0 ? 1 : Math.sin(x) / x;
      coefficients[j * taps + k] = sinc * window * scale;
    }
  }
  const first = new Int32Array(next);
  const end = new Int32Array(next);
  for (let j = 0; j < next; j++) {
    let a = 0;
    let b = taps;
    while (a < b && coefficients[j * taps + a] === 0) a++;
    while (b > a && coefficients[j * taps + b - 1] === 0) b--;
    first[j] = a;
    end[j] = b;
  }
  const bank = { decimation: orig, interpolation: next, width, taps, coefficients, first, end };
  if (banks.size >= CACHE_LIMIT) banks.delete(banks.keys().next().value as string);
  banks.set(key, bank);
  return bank;
}

/** `samples` at `fromRate` resampled to `toRate` exactly as torchaudio.functional.resample does by default. */
export function torchaudioResample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!(Number.isInteger(fromRate) && Number.isInteger(toRate) && fromRate > 0 && toRate > 0)) {
    throw new VoicePassportError('audio-sample-rate-unsupported', `Cannot resample: ${fromRate} → ${toRate} is not a pair of whole numbers of Hz.`, { fromRate, toRate });
  }
  if (fromRate === toRate) return samples;
  const { decimation: m, interpolation: l, width, taps, coefficients, first, end } = sincBank(fromRate, toRate);
  const n = samples.length;
  const outLength = Math.ceil((l * n) / m);
  const out = new Float32Array(outLength);
  // Block b reads padded input [b·M, b·M + taps), i.e. samples [b·M − width, b·M − width + taps).
  for (let b = 0, o = 0; o < outLength; b++) {
    const start = b * m - width;
    for (let j = 0; j < l && o < outLength; j++, o++) {
      const row = j * taps;
      const kFrom = Math.max(first[j]!, -start);
      const kTo = Math.min(end[j]!, n - start);
      let acc = 0;
      for (let k = kFrom; k < kTo; k++) acc += coefficients[row + k]! * samples[start + k]!;
      out[o] = acc;
    }
  }
  return out;
}
