/**
 * Additive noise at a chosen signal-to-noise ratio, for `voice-passport eval --noise`: how the
 * error rates hold up when a caller speaks from a noisy place, and how the service's own SNR
 * estimate (src/speech/quality.ts, which gates decisions as `low-snr`) reads such audio.
 *
 * The SNR is the clean recording's active speech level (ITU-T P.56, method B: the mean power of
 * the samples an envelope detector marks as speech, so pauses and leading silence do not dilute
 * it) over the noise's mean power. Noise is white or pink (Gaussian), or a looped recording
 * (babble, a call centre, a street). Every draw is seeded by the clean recording itself
 * (src/features/dither.ts generatorSeededBy), so a run is reproducible and two recordings never
 * share a noise realisation.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { MonoAudio } from '../audio/types.js';
import { addGaussian, generatorSeededBy } from '../features/dither.js';

export const noiseKinds = ['white', 'pink'] as const;
export type NoiseKind = (typeof noiseKinds)[number];

/** A noise source: a generated colour, or a recording looped from a seeded offset (at the clean audio's rate). */
export type NoiseSource = { kind: NoiseKind } | { kind: 'file'; name: string; audio: MonoAudio };

// ITU-T P.56 (12/2011) method B constants: envelope time constant 0.03 s, hangover 0.2 s, margin
// 15.9 dB, thresholds a factor 2 (6.02 dB) apart over the 16-bit range.
const P56_TIME_CONSTANT_SECONDS = 0.03;
const P56_HANGOVER_SECONDS = 0.2;
const P56_MARGIN_DB = 15.9;
const P56_THRESHOLDS = Array.from({ length: 16 }, (_, j) => 2 ** (j - 15));

export interface ActiveSpeechLevel {
  /** Mean power (mean square, full scale 1) of the active samples, in dB. */
  levelDb: number;
  /** Fraction of the samples counted as active. */
  activity: number;
}

/** ITU-T P.56 method B active speech level; null for digital silence. */
export function activeSpeechLevel(samples: Float32Array, sampleRate: number): ActiveSpeechLevel | null {
  const g = Math.exp(-1 / (sampleRate * P56_TIME_CONSTANT_SECONDS));
  const hangover = Math.round(P56_HANGOVER_SECONDS * sampleRate);
  const T = P56_THRESHOLDS.length;
  const active = new Float64Array(T);
  const hang = new Int32Array(T).fill(hangover); // everything starts inactive
  let p = 0;
  let q = 0;
  let energy = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    energy += x * x;
    // Two first-order smoothers of |x| (the standard's envelope q).
    p = g * p + (1 - g) * Math.abs(x);
    q = g * q + (1 - g) * p;
    for (let j = 0; j < T; j++) {
      if (q >= P56_THRESHOLDS[j]!) {
        active[j]!++;
        hang[j] = 0;
      } else if (hang[j]! < hangover) {
        active[j]!++;
        hang[j]!++;
      }
    }
  }
  if (energy === 0) return null;
  // A_j, the level over the samples active at threshold c_j, falls behind C_j = 20·log10(c_j) as
  // j rises; the active level is A where A − C crosses the margin (interpolated between thresholds).
  let prev: { a: number; delta: number; n: number } | null = null;
  for (let j = 0; j < T; j++) {
    if (active[j] === 0) break;
    const a = 10 * Math.log10(energy / active[j]!);
    const delta = a - 20 * Math.log10(P56_THRESHOLDS[j]!);
    if (delta <= P56_MARGIN_DB) {
      if (prev === null) return { levelDb: a, activity: active[j]! / samples.length };
      const t = (prev.delta - P56_MARGIN_DB) / (prev.delta - delta);
      return { levelDb: prev.a + t * (a - prev.a), activity: (prev.n + t * (active[j]! - prev.n)) / samples.length };
    }
    prev = { a, delta, n: active[j]! };
  }
  // The margin is never reached (a signal loud at every threshold, or active only briefly): the
  // level over the samples active at the highest threshold that saw any.
  return prev === null ? null : { levelDb: prev.a, activity: prev.n / samples.length };
}

/**
 * Pink (1/f power) noise from white: Paul Kellett's "refined" filter (musicdsp.org, 1999), six
 * first-order sections. Designed at 44.1 kHz; at 8–16 kHz the same poles sit lower in the band, so
 * the slope stays about −3 dB an octave across the speech band.
 */
function pinkFromWhite(white: Float32Array): Float32Array {
  const out = new Float32Array(white.length);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0; // prettier-ignore
  for (let i = 0; i < white.length; i++) {
    const w = white[i]!;
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  return out;
}

/** `length` samples of the source's noise (unscaled), seeded by the clean recording. */
export function noiseFor(source: NoiseSource, clean: MonoAudio, length: number): Float32Array {
  const rng = generatorSeededBy(clean.samples, `eval-noise:${source.kind}`);
  if (source.kind === 'file') {
    const n = source.audio.samples;
    if (source.audio.sampleRate !== clean.sampleRate) throw new RangeError(`noise at ${source.audio.sampleRate} Hz for audio at ${clean.sampleRate} Hz`);
    if (n.length === 0) throw new RangeError(`noise file ${source.name} is empty`);
    const out = new Float32Array(length);
    const start = Math.floor(uniformFloat64(rng) * n.length);
    for (let i = 0; i < length; i++) out[i] = n[(start + i) % n.length]!;
    return out;
  }
  const white = new Float32Array(length);
  addGaussian(white, 1, rng);
  return source.kind === 'white' ? white : pinkFromWhite(white);
}

export interface NoisyAudio {
  audio: MonoAudio;
  /** The clean recording's active speech level, dB; null for digital silence (then no noise is added). */
  speechLevelDb: number | null;
  /** The gain that brought the mixture under full scale (1 when nothing would have clipped). */
  gain: number;
}

/** Peak of a mixture that would otherwise clip: −0.9 dBFS, under the clipping gate's CLIP_LEVEL (0.999). */
export const MIXTURE_PEAK = 0.9;

/**
 * The recording with noise added at `snrDb` below its active speech level. A mixture that would
 * pass full scale is scaled down as a whole to MIXTURE_PEAK (the SNR is kept; clipping would trip
 * the service's own clipping gate and measure something else).
 */
export function addNoise(clean: MonoAudio, source: NoiseSource, snrDb: number): NoisyAudio {
  const level = activeSpeechLevel(clean.samples, clean.sampleRate);
  if (level === null) return { audio: clean, speechLevelDb: null, gain: 1 };
  const noise = noiseFor(source, clean, clean.samples.length);
  let power = 0;
  for (let i = 0; i < noise.length; i++) power += noise[i]! * noise[i]!;
  power /= noise.length;
  const out = new Float32Array(clean.samples);
  if (power > 0) {
    const k = Math.sqrt(10 ** ((level.levelDb - snrDb) / 10) / power);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + k * noise[i]!;
  }
  let peak = 0;
  for (let i = 0; i < out.length; i++) peak = Math.max(peak, Math.abs(out[i]!));
  const gain = peak > 1 ? MIXTURE_PEAK / peak : 1;
  if (gain !== 1) for (let i = 0; i < out.length; i++) out[i] = out[i]! * gain;
  return { audio: { sampleRate: clean.sampleRate, samples: out }, speechLevelDb: level.levelDb, gain };
}
