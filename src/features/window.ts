/**
 * Framing and window functions of Kaldi's feature extraction, as
 * `torchaudio.compliance.kaldi._get_strided` and `_feature_window_function` define them.
 */
import type { WindowType } from './options.js';

/**
 * The window of `size` samples. Symmetric ("periodic=False") forms, as Kaldi uses:
 * hanning 0.5 − 0.5 cos(2πn/(N−1)); hamming 0.54 − 0.46 cos(…); povey = hanning^0.85
 * (Kaldi's default, goes to zero at the edges); rectangular 1; blackman with Kaldi's
 * generalised coefficient: c − 0.5 cos(a n) + (0.5 − c) cos(2 a n), a = 2π/(N−1).
 */
export function featureWindow(type: WindowType, size: number, blackmanCoeff = 0.42): Float64Array {
  const w = new Float64Array(size);
  const a = (2 * Math.PI) / (size - 1);
  for (let n = 0; n < size; n++) {
    switch (type) {
      case 'hanning':
        w[n] = 0.5 - 0.5 * Math.cos(a * n);
        break;
      case 'hamming':
        w[n] = 0.54 - 0.46 * Math.cos(a * n);
        break;
      case 'povey':
        w[n] = Math.pow(0.5 - 0.5 * Math.cos(a * n), 0.85);
        break;
      case 'rectangular':
        w[n] = 1;
        break;
      case 'blackman':
        w[n] = blackmanCoeff - 0.5 * Math.cos(a * n) + (0.5 - blackmanCoeff) * Math.cos(2 * a * n);
        break;
    }
  }
  return w;
}

/**
 * Number of frames Kaldi produces for `numSamples` samples.
 * - snip_edges true: only frames that fit entirely, 1 + ⌊(n − size) / shift⌋.
 * - snip_edges false: ⌊(n + ⌊shift/2⌋) / shift⌋, the signal reflected at both ends.
 * Fewer samples than one window gives 0 frames in both modes: torchaudio refuses such input
 * (it asserts window_size ≤ len(waveform)), and we return an empty matrix instead of failing.
 */
export function frameCount(numSamples: number, windowSize: number, windowShift: number, snipEdges: boolean): number {
  if (numSamples < windowSize || numSamples <= 0) return 0;
  if (snipEdges) return 1 + Math.floor((numSamples - windowSize) / windowShift);
  return Math.floor((numSamples + Math.floor(windowShift / 2)) / windowShift);
}

/**
 * Offset of frame 0's first sample in the signal: 0 with snip_edges, otherwise
 * −(⌊size/2⌋ − ⌊shift/2⌋) so frames are centred on multiples of the shift (Kaldi's
 * FirstSampleOfFrame). Negative indices and indices past the end are reflected.
 */
export function firstSampleOffset(windowSize: number, windowShift: number, snipEdges: boolean): number {
  return snipEdges ? 0 : -(Math.floor(windowSize / 2) - Math.floor(windowShift / 2));
}

/**
 * Kaldi's reflection for snip_edges false: index −1 → 0, −2 → 1, …; n → n−1, n+1 → n−2, …
 * (the edge sample is repeated, unlike numpy's 'reflect'). One reflection suffices because
 * frames exist only when n ≥ window size.
 */
export function reflectIndex(s: number, n: number): number {
  if (s < 0) return -s - 1;
  if (s >= n) return 2 * n - 1 - s;
  return s;
}
