/**
 * The checks every decoder makes from header facts BEFORE it allocates or decodes anything:
 * sample rate within what the models and resampler are specified for, audio not empty, and
 * duration within the configured maximum (VP_MAX_AUDIO_SECONDS, default 120 s).
 */
import { VoicePassportError } from '../errors.js';
import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from './content-type.js';

export function checkSampleRate(sampleRate: number, source: string): void {
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new VoicePassportError(
      'audio-sample-rate-unsupported',
      `The ${source} says the sample rate is ${sampleRate} Hz; only ${MIN_SAMPLE_RATE}–${MAX_SAMPLE_RATE} Hz is supported. Resample the audio (e.g. to 16000 Hz) and send it again.`,
      { sampleRate, minSampleRate: MIN_SAMPLE_RATE, maxSampleRate: MAX_SAMPLE_RATE },
    );
  }
}

/** @throws `audio-empty` for no frames, `audio-too-long` above `maxSeconds`. Returns the duration in seconds. */
export function checkDuration(frames: number, sampleRate: number, maxSeconds: number): number {
  if (frames <= 0) {
    throw new VoicePassportError('audio-empty', 'The audio contains no samples; send a recording of the speaker talking.');
  }
  const durationSeconds = frames / sampleRate;
  if (durationSeconds > maxSeconds) {
    throw new VoicePassportError(
      'audio-too-long',
      `The audio lasts ${durationSeconds.toFixed(1)} s, more than the maximum of ${maxSeconds} s; send a shorter recording.`,
      { durationSeconds, maxSeconds },
    );
  }
  return durationSeconds;
}
