/**
 * Per-utterance feature normalisation applied after the filterbank, as the speaker models
 * were trained: 'mean' is cepstral mean normalisation (CMN, WeSpeaker and 3D-Speaker subtract
 * each bin's mean over the utterance); 'mean-variance' (CMVN) also divides by each bin's
 * population standard deviation, like Kaldi's apply-cmvn --norm-vars.
 */
import { VoicePassportError } from '../errors.js';
import type { FeatureMatrix } from './fbank.js';
import type { FeatureNormalisation } from './options.js';

/**
 * Below this standard deviation a bin is treated as constant and only mean-subtracted, so a
 * flat bin (e.g. digital silence at the log floor) gives zeros instead of dividing by ~0.
 */
const MIN_STD = 1e-5;

/** Returns a new matrix; the input is left untouched. Zero frames give an empty matrix. */
export function normaliseFeatures(m: FeatureMatrix, mode: FeatureNormalisation): FeatureMatrix {
  if (mode !== 'none' && mode !== 'mean' && mode !== 'mean-variance') {
    throw new VoicePassportError('validation-failed', `Feature normalisation must be none, mean or mean-variance, got ${String(mode)}.`, {
      mode,
    });
  }
  const { frames, bins } = m;
  if (m.data.length !== frames * bins) {
    throw new VoicePassportError('validation-failed', `Feature matrix holds ${m.data.length} values, not ${frames} × ${bins}.`, {
      frames,
      bins,
    });
  }
  const data = Float32Array.from(m.data);
  if (mode === 'none' || frames === 0) return { frames, bins, data };

  // Accumulate in float64: float32 sums over thousands of frames lose digits.
  const mean = new Float64Array(bins);
  for (let t = 0; t < frames; t++) {
    const row = t * bins;
    for (let b = 0; b < bins; b++) mean[b] = mean[b]! + data[row + b]!;
  }
  for (let b = 0; b < bins; b++) mean[b] = mean[b]! / frames;

  const scale = new Float64Array(bins).fill(1);
  if (mode === 'mean-variance') {
    const sq = new Float64Array(bins);
    for (let t = 0; t < frames; t++) {
      const row = t * bins;
      for (let b = 0; b < bins; b++) {
        const d = data[row + b]! - mean[b]!;
        sq[b] = sq[b]! + d * d;
      }
    }
    for (let b = 0; b < bins; b++) {
      const std = Math.sqrt(sq[b]! / frames);
      scale[b] = std > MIN_STD ? 1 / std : 1;
    }
  }

  for (let t = 0; t < frames; t++) {
    const row = t * bins;
    for (let b = 0; b < bins; b++) data[row + b] = (data[row + b]! - mean[b]!) * scale[b]!;
  }
  return { frames, bins, data };
}
