/**
 * Headerless telephone audio (audio/basic, audio/PCMU, audio/PCMA, audio/L16): the bytes are
 * samples and nothing else, so the format comes from the Content-Type (see content-type.ts).
 * L16 is big-endian ("network byte order", RFC 2586 §1 / RFC 3551 §4.5.11).
 */
import { VoicePassportError } from '../errors.js';
import { checkChannelChoice, mixToMono } from './channels.js';
import type { HeaderlessEncoding } from './content-type.js';
import { ALAW_DECODE_TABLE, MULAW_DECODE_TABLE } from './g711.js';
import { checkDuration, checkSampleRate } from './limits.js';
import type { DecodedAudio } from './types.js';

export interface HeaderlessFormat {
  encoding: HeaderlessEncoding;
  sampleRate: number;
  channels: number;
}

const BYTES_PER_SAMPLE: Record<HeaderlessEncoding, number> = { mulaw: 1, alaw: 1, pcm16be: 2 };
const ENCODING_NAME: Record<HeaderlessEncoding, string> = { mulaw: 'mulaw', alaw: 'alaw', pcm16be: 'pcm16' };
/** Samples (all channels) decoded per block, so the interleaved scratch buffer stays small whatever the channel count. */
const BLOCK_SAMPLES = 65536;

/**
 * Decode headerless samples to mono ±1 floats.
 * @throws VoicePassportError audio-empty, audio-malformed (not a whole number of frames),
 *   audio-sample-rate-unsupported, audio-too-long, validation-failed (bad `channel`).
 */
export function decodeHeaderless(bytes: Uint8Array, format: HeaderlessFormat, opts: { maxSeconds: number; channel?: number }): DecodedAudio {
  const { encoding, sampleRate, channels } = format;
  if (bytes.length === 0) throw new VoicePassportError('audio-empty', 'The request body is empty; send the audio as the body.');
  checkSampleRate(sampleRate, 'Content-Type');
  if (!Number.isInteger(channels) || channels < 1) {
    throw new VoicePassportError('audio-unsupported', `The Content-Type says ${channels} channels; it must be a whole number of at least 1.`);
  }
  const frameBytes = BYTES_PER_SAMPLE[encoding] * channels;
  if (bytes.length % frameBytes !== 0) {
    throw new VoicePassportError(
      'audio-malformed',
      `The body has ${bytes.length} bytes, which is not a whole number of ${frameBytes}-byte frames (${channels} channel${channels === 1 ? '' : 's'} of ${ENCODING_NAME[encoding]}): it is truncated, or the Content-Type is wrong.`,
      { bytes: bytes.length, frameBytes },
    );
  }
  const frames = bytes.length / frameBytes;
  const durationSeconds = checkDuration(frames, sampleRate, opts.maxSeconds);
  checkChannelChoice(opts.channel, channels);

  const samples = new Float32Array(frames);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = encoding === 'alaw' ? ALAW_DECODE_TABLE : MULAW_DECODE_TABLE;
  const blockFrames = Math.max(1, Math.floor(BLOCK_SAMPLES / channels));
  const scratch = new Float32Array(Math.min(frames, blockFrames) * channels);
  for (let first = 0; first < frames; first += blockFrames) {
    const count = Math.min(blockFrames, frames - first);
    const values = count * channels;
    const base = first * channels;
    if (encoding === 'pcm16be') {
      for (let i = 0; i < values; i++) scratch[i] = view.getInt16((base + i) * 2, false) / 32768;
    } else {
      for (let i = 0; i < values; i++) scratch[i] = table[bytes[base + i]!]!;
    }
    mixToMono(scratch, count, channels, opts.channel, samples, first);
  }
  return { sampleRate, samples, channels, encoding: ENCODING_NAME[encoding], durationSeconds };
}
