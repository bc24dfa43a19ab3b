/**
 * Speech regions from per-window speech probabilities: the hysteresis, minimum-duration and
 * padding rules of Silero VAD's `get_speech_timestamps` (snakers4/silero-vad, utils_vad.py),
 * reproduced so that our regions match what the model's authors tuned its defaults for.
 *
 * Pure and synchronous: no model here, so the rules can be tested exhaustively.
 */
import { VoicePassportError } from '../errors.js';

/** A stretch of speech in samples of the audio it came from: `start` inclusive, `end` exclusive. */
export interface SpeechRegion {
  start: number;
  end: number;
}

export interface SpeechSegmentationOptions {
  /** A window with probability ≥ this starts (or continues) speech. Silero default 0.5. */
  threshold: number;
  /**
   * While in speech, only a window below this counts as silence (hysteresis, so speech does not
   * flicker around one threshold). Silero default: max(threshold − 0.15, 0.01).
   */
  negThreshold: number;
  /** Regions shorter than this (before padding) are dropped. Silero default 250 ms. */
  minSpeechDurationMs: number;
  /** Silence must last this long before a region is closed. Silero default 100 ms. */
  minSilenceDurationMs: number;
  /** Each region is widened by this on both sides (halving the gap when two regions nearly touch). Silero default 30 ms. */
  speechPadMs: number;
}

export const sileroSegmentationDefaults: Readonly<SpeechSegmentationOptions> = Object.freeze({
  threshold: 0.5,
  negThreshold: 0.35,
  minSpeechDurationMs: 250,
  minSilenceDurationMs: 100,
  speechPadMs: 30,
});

/**
 * Silero's speech threshold for 8 kHz audio. Upstream uses 0.5 at both rates, but through a phone
 * line (300–3400 Hz, G.711 µ-law) its probabilities run lower: on two recordings of each training
 * speaker (../shared/data/train, 655 recordings) it found at 0.5 only 92.9 % of the speech it finds
 * in the same recordings wideband, and no speech at all in 52 of them (wideband: 11). At 0.3 it
 * finds 96.9 %, with 27 silent; 1.3 % of what it finds lies where the wideband VAD hears a pause
 * (0.25: 98.3 % and 1.8 %; 0.2: 100.4 % and 2.8 %), and it still finds nothing in white noise.
 * Chosen on training speakers, so the dev sets that report accuracy did not pick it:
 * `node --import tsx scripts/eval/vad-net-speech.ts --sets ../shared/data/train --files-per-speaker 2`.
 */
export const NARROWBAND_SPEECH_THRESHOLD = 0.3;

/** A speech-probability threshold the segmentation accepts: in (0, 1]. */
export function isSpeechThreshold(v: number): boolean {
  return v > 0 && v <= 1;
}

/**
 * Fills in Silero's defaults. `negThreshold` follows `threshold` unless given, exactly as
 * upstream (`neg_threshold = max(threshold - 0.15, 0.01)`). Nonsense values are refused rather
 * than clamped: a VAD that silently never fires would look like "no speech" to every caller.
 */
export function resolveSegmentationOptions(
  options: Partial<SpeechSegmentationOptions> = {},
): SpeechSegmentationOptions {
  const threshold = options.threshold ?? sileroSegmentationDefaults.threshold;
  const resolved: SpeechSegmentationOptions = {
    threshold,
    negThreshold: options.negThreshold ?? Math.max(threshold - 0.15, 0.01),
    minSpeechDurationMs: options.minSpeechDurationMs ?? sileroSegmentationDefaults.minSpeechDurationMs,
    minSilenceDurationMs: options.minSilenceDurationMs ?? sileroSegmentationDefaults.minSilenceDurationMs,
    speechPadMs: options.speechPadMs ?? sileroSegmentationDefaults.speechPadMs,
  };
  const problems: string[] = [];
  if (!isSpeechThreshold(resolved.threshold)) problems.push(`threshold must be in (0, 1], got ${resolved.threshold}`);
  if (!(resolved.negThreshold >= 0 && resolved.negThreshold <= resolved.threshold)) {
    problems.push(`negThreshold must be in [0, threshold], got ${resolved.negThreshold}`);
  }
  for (const key of ['minSpeechDurationMs', 'minSilenceDurationMs', 'speechPadMs'] as const) {
    const v = resolved[key];
    if (!(Number.isFinite(v) && v >= 0)) problems.push(`${key} must be a finite number ≥ 0, got ${v}`);
  }
  if (problems.length > 0) {
    throw new VoicePassportError('config-invalid', `Invalid speech segmentation options: ${problems.join('; ')}`, {
      problems,
    });
  }
  return resolved;
}

export interface ProbabilityFraming {
  sampleRate: number;
  /** Samples per probability: window i covers samples [i·windowSamples, (i+1)·windowSamples). */
  windowSamples: number;
  /** Length of the audio in samples; the last window may have been zero-padded past it. */
  audioLength: number;
}

/**
 * `get_speech_timestamps` after the model has run, with max_speech_duration_s = ∞ (its default):
 * we only select frames for a speaker embedding, so long regions need no splitting.
 * Regions come back sorted, non-overlapping and inside [0, audioLength].
 */
export function speechRegionsFromProbabilities(
  probabilities: ArrayLike<number>,
  framing: ProbabilityFraming,
  options: SpeechSegmentationOptions,
): SpeechRegion[] {
  const { sampleRate, windowSamples, audioLength } = framing;
  const { threshold, negThreshold } = options;
  // Upstream compares sample counts against these as floats; keep them unrounded for the tests
  // (`>` and `<`) and round only the padding, which moves region edges (upstream: int()).
  const minSpeechSamples = (sampleRate * options.minSpeechDurationMs) / 1000;
  const minSilenceSamples = (sampleRate * options.minSilenceDurationMs) / 1000;
  const padSamples = Math.floor((sampleRate * options.speechPadMs) / 1000);

  const speeches: SpeechRegion[] = [];
  let triggered = false;
  let start = 0;
  // Where the current run of silence began, or null when not in a silence run.
  let tempEnd: number | null = null;

  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i] as number;
    const position = windowSamples * i;
    if (p >= threshold && tempEnd !== null) tempEnd = null;
    if (p >= threshold && !triggered) {
      triggered = true;
      start = position;
      continue;
    }
    if (p < negThreshold && triggered) {
      if (tempEnd === null) tempEnd = position;
      if (position - tempEnd < minSilenceSamples) continue;
      if (tempEnd - start > minSpeechSamples) speeches.push({ start, end: tempEnd });
      triggered = false;
      tempEnd = null;
    }
  }
  if (triggered && audioLength - start > minSpeechSamples) speeches.push({ start, end: audioLength });

  // Padding, as upstream: widen by the pad, but where two regions are closer than two pads,
  // split the gap between them so they meet without overlapping.
  for (let i = 0; i < speeches.length; i++) {
    const speech = speeches[i] as SpeechRegion;
    if (i === 0) speech.start = Math.max(0, speech.start - padSamples);
    const next = speeches[i + 1];
    if (next !== undefined) {
      const silence = next.start - speech.end;
      if (silence < 2 * padSamples) {
        const half = Math.floor(silence / 2);
        speech.end += half;
        next.start = Math.max(0, next.start - half);
      } else {
        speech.end = Math.min(audioLength, speech.end + padSamples);
        next.start = Math.max(0, next.start - padSamples);
      }
    } else {
      speech.end = Math.min(audioLength, speech.end + padSamples);
    }
  }
  return speeches;
}
