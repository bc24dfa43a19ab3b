/**
 * Kaldi's triangular mel filterbank, built exactly as `torchaudio.compliance.kaldi.get_mel_banks`
 * (no VTLN warp) and stored sparsely: each bin keeps only its non-zero span of FFT bins.
 *
 * torchaudio builds the bank in float32 tensors; we round each intermediate with `Math.fround`
 * in the same order so the weights match it to the last bit or so, not merely to float64 accuracy.
 */

const f32 = Math.fround;

/** Kaldi/HTK mel scale (natural-log form): mel(f) = 1127 ln(1 + f / 700). */
export function melScale(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

/** Inverse of {@link melScale}. */
export function inverseMelScale(mel: number): number {
  return 700 * (Math.exp(mel / 1127) - 1);
}

/** `mel_scale` applied to a float32 tensor, operation by operation in float32. */
function melScaleF32(hz: number): number {
  return f32(1127 * f32(Math.log(f32(1 + f32(hz / 700)))));
}

export interface SparseMelBank {
  numBins: number;
  /** FFT bins the bank reads: paddedWindowSize / 2 + 1 (the Nyquist bin always has weight 0). */
  numFftBins: number;
  /** First FFT bin with non-zero weight, per mel bin (0 with `length` 0 when the bin is empty). */
  start: Int32Array;
  /** Number of consecutive weights, per mel bin. */
  length: Int32Array;
  /** Offset of each mel bin's weights in `weights`. */
  offset: Int32Array;
  weights: Float64Array;
}

/**
 * Resolves `high_freq` as Kaldi does: values ≤ 0 are an offset from Nyquist
 * (so 0 is Nyquist and −400 is Nyquist − 400 Hz).
 */
export function effectiveHighFreq(highFreq: number, sampleRate: number): number {
  return highFreq <= 0 ? highFreq + 0.5 * sampleRate : highFreq;
}

/**
 * Builds the bank for `numBins` triangles between lowFreq and highFreq over a
 * `paddedWindowSize`-point FFT. Caller has validated the frequencies (see fbank options checks).
 */
export function buildMelBank(
  numBins: number,
  paddedWindowSize: number,
  sampleRate: number,
  lowFreq: number,
  highFreq: number,
): SparseMelBank {
  const numFftBins = paddedWindowSize / 2; // columns of torchaudio's bank before its zero Nyquist column
  const high = effectiveHighFreq(highFreq, sampleRate);
  const fftBinWidth = sampleRate / paddedWindowSize;
  const melLow = melScale(lowFreq); // python float64 scalars
  const melHigh = melScale(high);
  const melDelta = (melHigh - melLow) / (numBins + 1);
  const melLowF = f32(melLow);
  const melDeltaF = f32(melDelta);
  const fftBinWidthF = f32(fftBinWidth);

  // mel of every FFT bin centre frequency (float32 like torchaudio's `mel` row).
  const binMel = new Float64Array(numFftBins);
  for (let k = 0; k < numFftBins; k++) binMel[k] = melScaleF32(f32(fftBinWidthF * k));

  const start = new Int32Array(numBins);
  const length = new Int32Array(numBins);
  const offset = new Int32Array(numBins);
  const all: number[] = [];
  for (let b = 0; b < numBins; b++) {
    const left = f32(melLowF + f32(b * melDeltaF));
    const center = f32(melLowF + f32(f32(b + 1) * melDeltaF));
    const right = f32(melLowF + f32(f32(b + 2) * melDeltaF));
    const upDen = f32(center - left);
    const downDen = f32(right - center);
    let first = -1;
    let last = -1;
    const row: number[] = [];
    for (let k = 0; k < numFftBins; k++) {
      const m = binMel[k]!;
      const up = f32(f32(m - left) / upDen);
      const down = f32(f32(right - m) / downDen);
      const w = Math.max(0, Math.min(up, down));
      if (w > 0) {
        if (first < 0) first = k;
        last = k;
      }
      row.push(w);
    }
    offset[b] = all.length;
    if (first >= 0) {
      start[b] = first;
      length[b] = last - first + 1;
      for (let k = first; k <= last; k++) all.push(row[k]!);
    }
  }
  return { numBins, numFftBins: numFftBins + 1, start, length, offset, weights: Float64Array.from(all) };
}
