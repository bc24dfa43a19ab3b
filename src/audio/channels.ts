/**
 * Interleaved multi-channel samples → one mono channel, either the average of all channels
 * (a plain downmix: speaker models are trained on mono speech) or one chosen channel (e.g. the
 * caller's leg of a two-channel call recording, where averaging would mix in the agent's voice).
 */
import { VoicePassportError } from '../errors.js';

/** @throws VoicePassportError `validation-failed` when `channel` is not a valid index for `channels`. */
export function checkChannelChoice(channel: number | undefined, channels: number): void {
  if (channel === undefined) return;
  if (!Number.isInteger(channel) || channel < 0 || channel >= channels) {
    throw new VoicePassportError(
      'validation-failed',
      `Channel ${channel} was requested but the audio has ${channels} channel${channels === 1 ? '' : 's'} (numbered from 0 to ${channels - 1}).`,
      { channel, channels },
    );
  }
}

/**
 * Write `frames` mono samples into `out` from `interleaved` (frames × channels ±1 floats):
 * the channel average, or channel `channel` when given.
 */
export function mixToMono(
  interleaved: Float32Array,
  frames: number,
  channels: number,
  channel: number | undefined,
  out: Float32Array,
  outOffset: number,
): void {
  if (channels === 1) {
    out.set(interleaved.subarray(0, frames), outOffset);
  } else if (channel !== undefined) {
    for (let f = 0, i = channel; f < frames; f++, i += channels) out[outOffset + f] = interleaved[i]!;
  } else {
    const inverse = 1 / channels;
    for (let f = 0, i = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++, i++) sum += interleaved[i]!;
      out[outOffset + f] = sum * inverse;
    }
  }
}
