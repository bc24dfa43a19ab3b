/**
 * Kaldi-compatible log mel filterbank: reproduces `torchaudio.compliance.kaldi.fbank`
 * (itself Kaldi's `compute-fbank-feats`) for the options in {@link FbankOptions}.
 *
 * Dither, when asked for, is added to the samples first (seeded by the audio: dither.ts).
 * Per frame, in torchaudio's order: extract (with reflection when snip_edges is false) →
 * remove DC offset → raw log energy → pre-emphasis x[j] −= c·x[max(0, j−1)] → window →
 * zero-pad to the FFT size → |rfft|² (or |rfft| when use_power is false) → triangular mel
 * bank → ln(max(·, FLT_EPSILON)). The constant parts (window, mel bank, FFT tables) live in a
 * plan cached per (sample rate, options), so a call only does the per-frame work.
 *
 * Arithmetic is float64 internally (torchaudio computes in float32); the output is float32.
 */
import { VoicePassportError } from '../errors.js';
import { ditherSamples } from './dither.js';
import { RealFft } from './fft.js';
import { buildMelBank, effectiveHighFreq, type SparseMelBank } from './mel-bank.js';
import type { FbankOptions, SampleScale, WindowType } from './options.js';
import { featureWindow, firstSampleOffset, frameCount, reflectIndex } from './window.js';

export interface FeatureMatrix {
  frames: number;
  bins: number;
  /** Row-major frames × bins. */
  data: Float32Array;
}

/** std::numeric_limits<float>::epsilon(): Kaldi's floor inside every log. */
export const FLOAT32_EPSILON = 1.1920928955078125e-7;

/** int16 full scale: WeSpeaker-style models were trained on samples in [−32768, 32767]. */
const INT16_SCALE = 32768;

/** Defensive limits (not in Kaldi): keep a bad option from allocating absurd tables. */
const MAX_PADDED_WINDOW = 1 << 16;
const MAX_MEL_BINS = 1024;

const WINDOW_TYPES: readonly WindowType[] = ['povey', 'hamming', 'hanning', 'rectangular', 'blackman'];

export interface FbankGeometry {
  /** Samples per frame: ⌊sampleRate · frame_length · 0.001⌋ (torchaudio's int()). */
  windowSize: number;
  /** Samples between frames: ⌊sampleRate · frame_shift · 0.001⌋. */
  windowShift: number;
  /** FFT length: next power of two ≥ windowSize when round_to_power_of_two, else windowSize. */
  paddedWindowSize: number;
}

function nextPowerOfTwo(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

function invalid(message: string, details: Record<string, unknown>): VoicePassportError {
  return new VoicePassportError('validation-failed', message, details);
}

/**
 * Window geometry exactly as torchaudio derives it (same float64 expression, then truncation),
 * after checking the options torchaudio asserts on, and a few it would crash or loop on.
 */
export function fbankGeometry(sampleRate: number, o: FbankOptions): FbankGeometry {
  if (!Number.isFinite(sampleRate) || sampleRate <= 0) {
    throw invalid(`Sample rate must be a positive number of Hz, got ${sampleRate}.`, { sampleRate });
  }
  if (!Number.isFinite(o.frameLength) || !Number.isFinite(o.frameShift) || o.frameLength <= 0 || o.frameShift <= 0) {
    throw invalid(`frame_length and frame_shift must be positive milliseconds, got ${o.frameLength} and ${o.frameShift}.`, {
      frameLength: o.frameLength,
      frameShift: o.frameShift,
    });
  }
  // Same expression order as torchaudio: int(sample_frequency * frame_shift * 0.001).
  const windowShift = Math.trunc(sampleRate * o.frameShift * 0.001);
  const windowSize = Math.trunc(sampleRate * o.frameLength * 0.001);
  if (windowSize < 2) {
    throw invalid(`frame_length ${o.frameLength} ms is ${windowSize} samples at ${sampleRate} Hz; a frame needs at least 2.`, {
      frameLength: o.frameLength,
      sampleRate,
    });
  }
  if (windowShift < 1) {
    throw invalid(`frame_shift ${o.frameShift} ms is under one sample at ${sampleRate} Hz.`, { frameShift: o.frameShift, sampleRate });
  }
  const paddedWindowSize = o.roundToPowerOfTwo ? nextPowerOfTwo(windowSize) : windowSize;
  if (paddedWindowSize > MAX_PADDED_WINDOW) {
    throw invalid(`frame_length ${o.frameLength} ms gives a ${paddedWindowSize}-point FFT; the limit is ${MAX_PADDED_WINDOW}.`, {
      frameLength: o.frameLength,
      sampleRate,
    });
  }
  if (paddedWindowSize % 2 !== 0) {
    throw invalid(
      `The FFT length ${paddedWindowSize} (frame_length ${o.frameLength} ms at ${sampleRate} Hz) must be even: ` +
        'set round_to_power_of_two or choose a frame_length with an even number of samples.',
      { frameLength: o.frameLength, sampleRate, paddedWindowSize },
    );
  }
  return { windowSize, windowShift, paddedWindowSize };
}

function validateOptions(sampleRate: number, o: FbankOptions): void {
  if (!Number.isInteger(o.numMelBins) || o.numMelBins <= 3 || o.numMelBins > MAX_MEL_BINS) {
    throw invalid(`num_mel_bins must be an integer from 4 to ${MAX_MEL_BINS} (Kaldi needs more than 3), got ${o.numMelBins}.`, {
      numMelBins: o.numMelBins,
    });
  }
  if (!(o.dither >= 0) || !Number.isFinite(o.dither)) {
    throw invalid(`dither must be a finite number ≥ 0 (0 turns it off), got ${o.dither}.`, { dither: o.dither });
  }
  if (!WINDOW_TYPES.includes(o.windowType)) {
    throw invalid(`window_type must be one of ${WINDOW_TYPES.join(', ')}, got ${String(o.windowType)}.`, { windowType: o.windowType });
  }
  if (!Number.isFinite(o.blackmanCoeff)) {
    throw invalid(`blackman_coeff must be a finite number, got ${o.blackmanCoeff}.`, { blackmanCoeff: o.blackmanCoeff });
  }
  if (!(o.preemphasisCoefficient >= 0 && o.preemphasisCoefficient <= 1)) {
    throw invalid(`preemphasis_coefficient must be within [0, 1], got ${o.preemphasisCoefficient}.`, {
      preemphasisCoefficient: o.preemphasisCoefficient,
    });
  }
  if (!(o.energyFloor >= 0) || !Number.isFinite(o.energyFloor)) {
    throw invalid(`energy_floor must be ≥ 0 (0 disables it), got ${o.energyFloor}.`, { energyFloor: o.energyFloor });
  }
  const nyquist = 0.5 * sampleRate;
  const high = effectiveHighFreq(o.highFreq, sampleRate);
  if (!(o.lowFreq >= 0 && o.lowFreq < nyquist && high > 0 && high <= nyquist && o.lowFreq < high)) {
    throw invalid(
      `low_freq ${o.lowFreq} Hz and high_freq ${o.highFreq} Hz (→ ${high} Hz) do not fit 0 ≤ low < high ≤ Nyquist ${nyquist} Hz.`,
      { lowFreq: o.lowFreq, highFreq: o.highFreq, sampleRate },
    );
  }
}

/** Everything about a (sample rate, options) pair that does not depend on the samples. */
interface FbankPlan {
  geometry: FbankGeometry;
  options: FbankOptions;
  window: Float64Array;
  melBank: SparseMelBank;
  fft: RealFft;
  /** ln(energy_floor) rounded to float32 as torchaudio does, or −∞ when the floor is off. */
  logEnergyFloor: number;
  // Scratch buffers, reused by every call (computeFbank is synchronous, so no interleaving).
  /** A frame that crosses an edge, reflected (snip_edges false); float32 like the input. */
  edgeFrame: Float32Array;
  /** Power (or magnitude) spectrum of one frame, bins 0..Nyquist. */
  spectrum: Float64Array;
}

const PLAN_CACHE_LIMIT = 32;
const planCache = new Map<string, FbankPlan>();

function planKey(sampleRate: number, o: FbankOptions): string {
  return [
    sampleRate,
    o.numMelBins,
    o.frameLength,
    o.frameShift,
    o.dither,
    o.windowType,
    o.preemphasisCoefficient,
    o.removeDcOffset,
    o.roundToPowerOfTwo,
    o.lowFreq,
    o.highFreq,
    o.snipEdges,
    o.useEnergy,
    o.energyFloor,
    o.rawEnergy,
    o.useLogFbank,
    o.usePower,
    o.blackmanCoeff,
  ].join('|');
}

function getPlan(sampleRate: number, options: FbankOptions): FbankPlan {
  const key = planKey(sampleRate, options);
  const cached = planCache.get(key);
  if (cached) return cached;
  const geometry = fbankGeometry(sampleRate, options);
  validateOptions(sampleRate, options);
  const { windowSize, paddedWindowSize } = geometry;
  const fft = new RealFft(paddedWindowSize);
  const plan: FbankPlan = {
    geometry,
    options: { ...options },
    window: featureWindow(options.windowType, windowSize, options.blackmanCoeff),
    melBank: buildMelBank(options.numMelBins, paddedWindowSize, sampleRate, options.lowFreq, options.highFreq),
    fft,
    logEnergyFloor: options.energyFloor === 0 ? -Infinity : Math.fround(Math.log(options.energyFloor)),
    edgeFrame: new Float32Array(windowSize),
    spectrum: new Float64Array(fft.bins),
  };
  if (planCache.size >= PLAN_CACHE_LIMIT) {
    const oldest = planCache.keys().next().value;
    if (oldest !== undefined) planCache.delete(oldest);
  }
  planCache.set(key, plan);
  return plan;
}

/** Kaldi's log energy with its floors: ln(max(Σx², ε)), then max(·, ln energy_floor). */
function logEnergy(sumOfSquares: number, logEnergyFloor: number): number {
  return Math.max(Math.log(Math.max(sumOfSquares, FLOAT32_EPSILON)), logEnergyFloor);
}

/**
 * Log mel filterbank of mono ±1 `audio` at `sampleRate`, matching
 * `torchaudio.compliance.kaldi.fbank(waveform * scale, sample_frequency=sampleRate, **options)`
 * where scale is 32768 for `'int16'` and 1 for `'unit'`. With use_energy the log energy is
 * column 0 (htk_compat false), so `bins` is numMelBins + 1.
 *
 * Audio shorter than one frame gives a matrix with 0 frames. Throws `validation-failed` for
 * options torchaudio would reject, and `audio-invalid-samples` for NaN or infinite samples.
 */
export function computeFbank(
  audio: Float32Array,
  sampleRate: number,
  options: FbankOptions,
  sampleScale: SampleScale,
): FeatureMatrix {
  if (sampleScale !== 'int16' && sampleScale !== 'unit') {
    throw invalid(`sample scale must be 'int16' or 'unit', got ${String(sampleScale)}.`, { sampleScale });
  }
  const plan = getPlan(sampleRate, options);
  const o = plan.options;
  const { windowSize, windowShift } = plan.geometry;
  const n = audio.length;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(audio[i]!)) {
      throw new VoicePassportError('audio-invalid-samples', `Sample ${i} is ${audio[i]}; the audio must be finite numbers.`, {
        index: i,
      });
    }
  }

  const scale = sampleScale === 'int16' ? INT16_SCALE : 1;
  // Seeded by the audio, so still deterministic (dither.ts).
  const samples = o.dither > 0 ? ditherSamples(audio, o.dither, scale) : audio;

  const frames = frameCount(n, windowSize, windowShift, o.snipEdges);
  const melBins = o.numMelBins;
  const bins = melBins + (o.useEnergy ? 1 : 0);
  const data = new Float32Array(frames * bins);
  if (frames === 0) return { frames, bins, data };

  const first = firstSampleOffset(windowSize, windowShift, o.snipEdges);
  const { edgeFrame, spectrum, window, melBank, fft } = plan;
  const { start: melStart, length: melLength, offset: melOffset, weights: melWeights } = melBank;
  const packedRe = fft.packedRe;
  const packedIm = fft.packedIm;
  const packedLength = packedRe.length;
  const pairs = windowSize >> 1;
  const oddWindow = (windowSize & 1) === 1;
  const preemph = o.preemphasisCoefficient;
  const rawEnergy = o.useEnergy && o.rawEnergy;
  const windowedEnergy = o.useEnergy && !o.rawEnergy;
  const melColumn = o.useEnergy ? 1 : 0;
  const specBins = fft.bins;

  for (let t = 0; t < frames; t++) {
    // 1. The frame's samples: read in place, or (at reflected edges) copied into edgeFrame.
    const begin = t * windowShift + first;
    let src: Float32Array = samples;
    let at = begin;
    if (begin < 0 || begin + windowSize > n) {
      for (let k = 0; k < windowSize; k++) edgeFrame[k] = samples[reflectIndex(begin + k, n)]!;
      src = edgeFrame;
      at = 0;
    }
    // 2. DC offset: the frame mean (of the scaled samples), subtracted below.
    let mean = 0;
    if (o.removeDcOffset) {
      let sum = 0;
      for (let k = 0; k < windowSize; k++) sum += src[at + k]!;
      mean = (sum * scale) / windowSize;
    }
    // 3-5. One fused pass: v = x − mean; raw energy Σv²; pre-emphasis p[k] = v[k] − c·v[k−1]
    // (p[0] = v[0] − c·v[0]); window; written straight into the FFT's packed input
    // (even samples → real, odd → imaginary).
    let energySum = 0;
    let prev = src[at]! * scale - mean;
    for (let j = 0; j < pairs; j++) {
      const k = 2 * j;
      const v0 = src[at + k]! * scale - mean;
      const v1 = src[at + k + 1]! * scale - mean;
      const y0 = (v0 - preemph * prev) * window[k]!;
      const y1 = (v1 - preemph * v0) * window[k + 1]!;
      prev = v1;
      packedRe[j] = y0;
      packedIm[j] = y1;
      if (rawEnergy) energySum += v0 * v0 + v1 * v1;
      else if (windowedEnergy) energySum += y0 * y0 + y1 * y1;
    }
    let tail = pairs;
    if (oddWindow) {
      const k = windowSize - 1;
      const v = src[at + k]! * scale - mean;
      const y = (v - preemph * prev) * window[k]!;
      packedRe[pairs] = y;
      packedIm[pairs] = 0;
      if (rawEnergy) energySum += v * v;
      else if (windowedEnergy) energySum += y * y;
      tail = pairs + 1;
    }
    // Zero padding up to the FFT length (the transform overwrote last frame's zeros).
    for (let j = tail; j < packedLength; j++) {
      packedRe[j] = 0;
      packedIm[j] = 0;
    }
    // 6. Power spectrum, or magnitude when use_power is false.
    fft.powerSpectrumOfPacked(spectrum);
    if (!o.usePower) for (let k = 0; k < specBins; k++) spectrum[k] = Math.sqrt(spectrum[k]!);
    // 7. Mel bank (sparse rows) and log with Kaldi's FLT_EPSILON floor.
    const row = t * bins;
    if (o.useEnergy) data[row] = logEnergy(energySum, plan.logEnergyFloor);
    for (let b = 0; b < melBins; b++) {
      const s = melStart[b]!;
      const len = melLength[b]!;
      const off = melOffset[b]!;
      let acc = 0;
      for (let j = 0; j < len; j++) acc += melWeights[off + j]! * spectrum[s + j]!;
      data[row + melColumn + b] = o.useLogFbank ? Math.log(Math.max(acc, FLOAT32_EPSILON)) : acc;
    }
  }
  return { frames, bins, data };
}
