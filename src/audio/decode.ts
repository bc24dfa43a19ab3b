/**
 * The one entry point from request bytes to audio: Content-Type → decoder → mono ±1 floats at the
 * input's own sample rate. Every failure is a VoicePassportError with an `audio-*` code (or
 * `validation-failed` for an impossible `channel`), never a crash.
 */
import { VoicePassportError } from '../errors.js';
import { parseAudioContentType } from './content-type.js';
import { decodeHeaderless } from './headerless.js';
import type { DecodedAudio } from './types.js';
import { decodeWav } from './wav.js';

export interface DecodeAudioOptions {
  /** Longest accepted audio in seconds (VP_MAX_AUDIO_SECONDS); checked from the header before decoding. */
  maxSeconds: number;
  /** Use this channel (0-based) instead of the average of all channels. */
  channel?: number;
}

export function decodeAudio(bytes: Uint8Array, contentType: string, opts: DecodeAudioOptions): DecodedAudio {
  if (!(opts.maxSeconds > 0)) {
    throw new VoicePassportError('internal', `decodeAudio needs a positive maxSeconds, got ${opts.maxSeconds}.`);
  }
  const plan = parseAudioContentType(contentType);
  if (plan.container === 'wav') return decodeWav(bytes, opts);
  return decodeHeaderless(bytes, plan, opts);
}
