/**
 * Options of the Kaldi-compatible log mel filterbank, named and defaulted exactly as
 * `torchaudio.compliance.kaldi.fbank` (which mirrors Kaldi's `compute-fbank-feats`).
 */
export type WindowType = 'povey' | 'hamming' | 'hanning' | 'rectangular' | 'blackman';

export interface FbankOptions {
  numMelBins: number; // num_mel_bins (torchaudio default 23)
  frameLength: number; // frame_length, ms (25)
  frameShift: number; // frame_shift, ms (10)
  dither: number; // dither (0.0; Kaldi's own default is 1.0), seeded by the audio here (dither.ts)
  windowType: WindowType; // window_type ('povey')
  preemphasisCoefficient: number; // preemphasis_coefficient (0.97)
  removeDcOffset: boolean; // remove_dc_offset (true)
  roundToPowerOfTwo: boolean; // round_to_power_of_two (true)
  lowFreq: number; // low_freq, Hz (20)
  highFreq: number; // high_freq, Hz (0 = Nyquist; negative = offset from Nyquist)
  snipEdges: boolean; // snip_edges (true)
  useEnergy: boolean; // use_energy (false)
  energyFloor: number; // energy_floor (1.0)
  rawEnergy: boolean; // raw_energy (true)
  useLogFbank: boolean; // use_log_fbank (true)
  usePower: boolean; // use_power (true)
  blackmanCoeff: number; // blackman_coeff (0.42)
}

/** torchaudio.compliance.kaldi.fbank defaults (dither 0.0 as in torchaudio; Kaldi's own default is 1.0). */
export const torchaudioFbankDefaults: FbankOptions = {
  numMelBins: 23,
  frameLength: 25,
  frameShift: 10,
  dither: 0,
  windowType: 'povey',
  preemphasisCoefficient: 0.97,
  removeDcOffset: true,
  roundToPowerOfTwo: true,
  lowFreq: 20,
  highFreq: 0,
  snipEdges: true,
  useEnergy: false,
  energyFloor: 1.0,
  rawEnergy: true,
  useLogFbank: true,
  usePower: true,
  blackmanCoeff: 0.42,
};

/** How samples are scaled before the filterbank: WeSpeaker feeds int16-scaled values, 3D-Speaker ±1 floats. */
export type SampleScale = 'int16' | 'unit';

/** Per-utterance normalisation applied after the filterbank (CMN / CMVN over all frames). */
export type FeatureNormalisation = 'none' | 'mean' | 'mean-variance';
