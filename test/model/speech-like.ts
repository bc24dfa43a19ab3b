/**
 * A deterministic, speech-like test signal: a glottal pulse train with a moving pitch, shaped by
 * vowel formants (Klatt-style second-order resonators) and a syllable-rate envelope with short
 * pauses. Real speech is not needed to exercise the pipeline, but Silero VAD must call it speech.
 */

/** Formant frequencies (Hz) of a few vowels, after Peterson & Barney (1952), adult male. */
const VOWELS: ReadonlyArray<readonly [number, number, number]> = [
  [730, 1090, 2440], // a
  [270, 2290, 3010], // i
  [300, 870, 2240], // u
  [530, 1840, 2480], // e
  [570, 840, 2410], // o
];

export interface SpeechLikeOptions {
  sampleRate?: number;
  seconds?: number;
  /** Mean pitch in Hz (a different "voice"). */
  pitchHz?: number;
  /** Scales every formant (vocal-tract length). */
  formantScale?: number;
  /** Peak amplitude (±1 full scale). */
  amplitude?: number;
}

export function speechLike(opts: SpeechLikeOptions = {}): Float32Array {
  const sampleRate = opts.sampleRate ?? 16000;
  const seconds = opts.seconds ?? 2;
  const pitchHz = opts.pitchHz ?? 120;
  const formantScale = opts.formantScale ?? 1;
  const amplitude = opts.amplitude ?? 0.5;
  const n = Math.round(sampleRate * seconds);
  const out = new Float32Array(n);
  const syllable = 0.25; // seconds per syllable: ~4 syllables/s, the rate of conversational speech
  let phase = 0;
  // Resonator state per formant.
  const y1 = [0, 0, 0];
  const y2 = [0, 0, 0];
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const f0 = pitchHz * (1 + 0.1 * Math.sin(2 * Math.PI * 0.7 * t));
    phase += f0 / sampleRate;
    let source = 0;
    if (phase >= 1) {
      phase -= 1;
      source = 1;
    }
    // A little aspiration noise (LCG, deterministic).
    seed = (seed * 1103515245 + 12345) % 2147483648;
    source += ((seed / 2147483648) * 2 - 1) * 0.02;
    const syl = Math.floor(t / syllable);
    const vowel = VOWELS[syl % VOWELS.length] as readonly [number, number, number];
    let x = source;
    for (let k = 0; k < 3; k++) {
      const f = (vowel[k] as number) * formantScale;
      const bw = 80 + 40 * k;
      const r = Math.exp((-Math.PI * bw) / sampleRate);
      const c = 2 * r * Math.cos((2 * Math.PI * f) / sampleRate);
      const y = (1 - r) * x + c * (y1[k] as number) - r * r * (y2[k] as number);
      y2[k] = y1[k] as number;
      y1[k] = y;
      x = y;
    }
    const within = (t % syllable) / syllable;
    // Every fourth syllable is a pause, like the gaps between words.
    const envelope = syl % 4 === 3 ? 0 : Math.sin(Math.PI * within) ** 0.5;
    out[i] = x * envelope;
  }
  let peak = 0;
  for (const v of out) peak = Math.max(peak, Math.abs(v));
  const gain = peak > 0 ? amplitude / peak : 0;
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) * gain;
  return out;
}
