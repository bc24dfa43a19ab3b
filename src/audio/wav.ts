/**
 * WAV decoding with an untrusted-input discipline.
 *
 * WAV headers are self-describing and therefore able to lie: a 44-byte file can claim 4 GB of
 * data, 0 channels or a 4 GHz sample rate, and chunk tables (cue points, loops) can claim billions
 * of entries. So nothing here trusts a header field before checking it against the bytes that
 * actually arrived:
 *
 * 1. {@link inspectWav} walks the RIFF chunk list itself (Microsoft RIFF/WAVE spec 1991, the
 *    WAVE_FORMAT_EXTENSIBLE amendment, EBU Tech 3306 for RF64) reading only the `fmt `, `data` and
 *    `ds64` chunks; every size is compared with the bytes present before it is used. It validates
 *    the format (channels ≥ 1, block align = channels × container bytes, a supported encoding and
 *    rate) and computes the duration from the header, so an over-long file is refused before any
 *    sample is decoded.
 * 2. Only then does {@link decodeWav} read the samples, block by block from the validated data
 *    chunk, so every allocation is bounded by the bytes received.
 *
 * The samples are read with DataView and the G.711 tables, not with wavefile's `getSamples`:
 * wavefile 11 unpacks sample by sample through a general bit-level reader, which measured ~40×
 * slower for floats (20 s of 48 kHz stereo float32: 6.7 s against 0.17 s), and for 120 s of
 * integer PCM 251 ms at 16 kHz mono, 1.1 s at 48 kHz stereo and 3.3 s for 8 channels of 8 bits,
 * against 16, 127 and 219 ms read here (`node --import tsx scripts/bench/wav-decode-bench.ts`,
 * medians of 5): time a worker spends on a body before any speech is looked at. wavefile stays the oracle: the property tests decode files it writes and compare with its own
 * reading of them (test/audio/decode.property.test.ts).
 */
import { VoicePassportError } from '../errors.js';
import { MAX_CHANNELS } from './content-type.js';
import { checkChannelChoice, mixToMono } from './channels.js';
import { ALAW_DECODE_TABLE, MULAW_DECODE_TABLE } from './g711.js';
import { checkDuration, checkSampleRate } from './limits.js';
import type { DecodedAudio } from './types.js';

export type WavEncoding = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64' | 'mulaw' | 'alaw';

/** What the header says, after validation against the bytes. */
export interface WavLayout {
  container: 'RIFF' | 'RIFX' | 'RF64';
  encoding: WavEncoding;
  channels: number;
  sampleRate: number;
  /** Bytes per sample frame (all channels). */
  blockAlign: number;
  /** Byte offset of the first sample in the file. */
  dataOffset: number;
  /** Whole frames present (a trailing partial frame is ignored). */
  frames: number;
  durationSeconds: number;
}

export interface WavDecodeOptions {
  maxSeconds: number;
  /** Pick this channel (0-based) instead of averaging all channels. */
  channel?: number;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Format tags callers are likely to send by mistake, so the error can name them (RFC 2361 list). */
const KNOWN_UNSUPPORTED_FORMATS: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0050: 'MPEG audio',
  0x0055: 'MPEG Layer 3 (MP3)',
  0x0064: 'G.726 ADPCM',
  0x0065: 'G.722 ADPCM',
  0x1600: 'AAC',
};

/** The KSDATAFORMAT_SUBTYPE GUID tail shared by PCM, IEEE float, A-law and µ-law (bytes 2..15). */
const SUBFORMAT_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/** Decode in blocks of about this many bytes so peak memory stays near the output size. */
const BLOCK_BYTES = 1 << 20;

const SUPPORTED_ENCODINGS_TEXT = 'PCM 8/16/24/32-bit, IEEE float 32/64-bit, G.711 µ-law or A-law';

function malformed(message: string, details?: Record<string, unknown>): VoicePassportError {
  return new VoicePassportError('audio-malformed', message, details);
}

function fourCC(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

/** Recognise common non-WAV audio so the caller is told what they sent. */
function sniffOtherFormat(bytes: Uint8Array): string | null {
  const starts = (s: string, at = 0) => bytes.length >= at + s.length && [...s].every((ch, i) => bytes[at + i] === ch.charCodeAt(0));
  if (starts('fLaC')) return 'FLAC';
  if (starts('OggS')) return 'Ogg (Opus/Vorbis)';
  if (starts('ID3') || (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0)) return 'MP3/MPEG audio';
  if (starts('ftyp', 4)) return 'MP4/M4A';
  if (starts('\x1aE\xdf\xa3')) return 'WebM/Matroska';
  if (starts('#!AMR')) return 'AMR';
  if (starts('FORM') && (starts('AIFF', 8) || starts('AIFC', 8))) return 'AIFF';
  return null;
}

function notWav(bytes: Uint8Array): VoicePassportError {
  const other = sniffOtherFormat(bytes);
  if (other !== null) {
    return new VoicePassportError(
      'audio-unsupported',
      `The body is ${other}, not WAV. Convert it to WAV (${SUPPORTED_ENCODINGS_TEXT}) and send it with Content-Type audio/wav.`,
      { detectedFormat: other },
    );
  }
  return malformed(
    'The body is not a WAV file (it does not start with a RIFF/WAVE header). Send a WAV file, or for headerless telephone audio set Content-Type to audio/PCMU, audio/PCMA or audio/L16;rate=N.',
  );
}

interface FmtFacts {
  formatTag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
  /** Resolved from WAVE_FORMAT_EXTENSIBLE's SubFormat GUID where present. */
  effectiveTag: number;
}

function readFmt(bytes: Uint8Array, view: DataView, start: number, size: number, le: boolean): FmtFacts {
  if (size < 16) throw malformed(`The WAV "fmt " chunk is ${size} bytes long; it must be at least 16. The file header is damaged.`);
  const formatTag = view.getUint16(start, le);
  const facts: FmtFacts = {
    formatTag,
    channels: view.getUint16(start + 2, le),
    sampleRate: view.getUint32(start + 4, le),
    // byteRate (start + 8) is redundant and often wrong in the wild; it is derived, never trusted.
    blockAlign: view.getUint16(start + 12, le),
    bitsPerSample: view.getUint16(start + 14, le),
    effectiveTag: formatTag,
  };
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    // WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) SubFormat GUID(16) after the 16 basic bytes.
    if (size < 40 || view.getUint16(start + 16, le) < 22) {
      throw malformed('The WAV header says WAVE_FORMAT_EXTENSIBLE but its "fmt " chunk is too short to hold the SubFormat; the header is damaged.');
    }
    const guid = start + 24;
    const tailMatches = SUBFORMAT_GUID_TAIL.every((b, i) => bytes[guid + 2 + i] === b);
    const subTag = view.getUint16(guid, true); // GUIDs store their first field little-endian
    if (!tailMatches) {
      throw new VoicePassportError('audio-unsupported', `The WAV SubFormat GUID is not a standard audio format; send ${SUPPORTED_ENCODINGS_TEXT}.`);
    }
    const validBits = view.getUint16(start + 18, le);
    if (validBits > facts.bitsPerSample) {
      throw malformed(`The WAV header says ${validBits} valid bits in ${facts.bitsPerSample}-bit samples, which is impossible; the header is damaged.`);
    }
    facts.effectiveTag = subTag;
  }
  return facts;
}

function encodingOf(fmt: FmtFacts): WavEncoding {
  const bits = fmt.bitsPerSample;
  switch (fmt.effectiveTag) {
    case WAVE_FORMAT_PCM:
      if (bits === 8) return 'pcm8';
      if (bits === 16) return 'pcm16';
      if (bits === 24) return 'pcm24';
      if (bits === 32) return 'pcm32';
      break;
    case WAVE_FORMAT_IEEE_FLOAT:
      if (bits === 32) return 'float32';
      if (bits === 64) return 'float64';
      break;
    case WAVE_FORMAT_ALAW:
      if (bits === 8) return 'alaw';
      break;
    case WAVE_FORMAT_MULAW:
      if (bits === 8) return 'mulaw';
      break;
    default: {
      const name = KNOWN_UNSUPPORTED_FORMATS[fmt.effectiveTag] ?? `format tag 0x${fmt.effectiveTag.toString(16).padStart(4, '0')}`;
      throw new VoicePassportError('audio-unsupported', `This WAV holds ${name}, which is not supported; convert it to ${SUPPORTED_ENCODINGS_TEXT}.`, {
        formatTag: fmt.effectiveTag,
      });
    }
  }
  throw new VoicePassportError('audio-unsupported', `This WAV has ${bits}-bit samples in format 0x${fmt.effectiveTag.toString(16)}; supported: ${SUPPORTED_ENCODINGS_TEXT}.`, {
    formatTag: fmt.effectiveTag,
    bitsPerSample: bits,
  });
}

/**
 * Walk and validate the RIFF structure and the format; allocates nothing proportional to any header field.
 * @throws VoicePassportError audio-empty, audio-malformed, audio-unsupported, audio-sample-rate-unsupported, audio-too-long.
 */
export function inspectWav(bytes: Uint8Array, maxSeconds: number): WavLayout {
  if (bytes.length === 0) throw new VoicePassportError('audio-empty', 'The request body is empty; send the audio as the body.');
  if (bytes.length < 12) throw bytes.length >= 4 && fourCC(bytes, 0) === 'RIFF' ? malformed(`The WAV file is truncated: only ${bytes.length} bytes arrived.`) : notWav(bytes);
  const magic = fourCC(bytes, 0);
  if ((magic !== 'RIFF' && magic !== 'RIFX' && magic !== 'RF64') || fourCC(bytes, 8) !== 'WAVE') throw notWav(bytes);
  const container = magic;
  const le = container !== 'RIFX';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  // The RIFF size field at offset 4 is ignored: streaming writers leave it 0 or 0xFFFFFFFF, and the
  // chunk walk below is bounded by the bytes actually present.
  let fmt: FmtFacts | null = null;
  let dataOffset = -1;
  let dataBytes = 0;
  let rf64DataSize: number | null = null;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = fourCC(bytes, offset);
    const size = view.getUint32(offset + 4, le);
    const body = offset + 8;
    const available = bytes.length - body;
    let chunkBytes = size;

    if (id === 'data') {
      let declared = size;
      if (container === 'RF64' && size === 0xffffffff) {
        if (rf64DataSize === null) throw malformed('This RF64 file has no "ds64" chunk before its data, so its data size is unknown; the header is damaged.');
        declared = rf64DataSize;
      }
      if (declared > available) {
        throw malformed(
          `The WAV header says the audio data is ${declared} bytes, but only ${available} bytes follow: the file is truncated or its header is wrong. Send the complete file.`,
          { declaredBytes: declared, availableBytes: available },
        );
      }
      chunkBytes = declared;
      if (dataOffset === -1) {
        dataOffset = body;
        dataBytes = declared;
      }
      if (fmt !== null) break; // everything needed is known; trailing chunks (LIST, id3) are irrelevant
    } else if (size > available) {
      if (fmt !== null && dataOffset !== -1) break; // garbage after the audio does not matter
      throw malformed(`The WAV chunk "${id.replace(/[^\x20-\x7e]/g, '?')}" claims ${size} bytes, beyond the end of the file: the file is truncated or damaged.`, {
        chunk: id.replace(/[^\x20-\x7e]/g, '?'),
        declaredBytes: size,
        availableBytes: available,
      });
    } else if (id === 'fmt ') {
      if (fmt === null) fmt = readFmt(bytes, view, body, size, le);
    } else if (id === 'ds64' && container === 'RF64') {
      if (size < 28) throw malformed('The RF64 "ds64" chunk is too short; the header is damaged.');
      // 64-bit sizes as low/high 32-bit words (EBU Tech 3306 §3); beyond 2^53 cannot be real anyway.
      rf64DataSize = view.getUint32(body + 8, true) + view.getUint32(body + 12, true) * 2 ** 32;
    }
    // Chunks are word-aligned: an odd size is followed by one pad byte.
    const next = body + chunkBytes + (chunkBytes % 2);
    if (next <= offset) break; // cannot happen with unsigned sizes; guards against any future edit looping forever
    offset = next;
  }

  if (fmt === null) throw malformed('The WAV file has no "fmt " chunk, so its format is unknown; the file is damaged or not WAV.');
  if (dataOffset === -1) throw malformed('The WAV file has no "data" chunk: it holds no audio, or it is truncated before the audio.');

  if (fmt.channels === 0) throw malformed('The WAV header says the audio has 0 channels; the header is damaged.', { channels: 0 });
  if (fmt.channels > MAX_CHANNELS) {
    throw new VoicePassportError('audio-unsupported', `The WAV file has ${fmt.channels} channels; at most ${MAX_CHANNELS} are taken. Send the caller's channel, or a mono or stereo mix.`, { channels: fmt.channels, maxChannels: MAX_CHANNELS });
  }
  checkSampleRate(fmt.sampleRate, 'WAV header');
  const encoding = encodingOf(fmt);
  const bytesPerSample = fmt.bitsPerSample / 8;
  if (fmt.blockAlign !== fmt.channels * bytesPerSample) {
    throw malformed(
      `The WAV header is inconsistent: ${fmt.channels} channels of ${fmt.bitsPerSample}-bit samples need a block align of ${fmt.channels * bytesPerSample} bytes, but it says ${fmt.blockAlign}.`,
      { channels: fmt.channels, bitsPerSample: fmt.bitsPerSample, blockAlign: fmt.blockAlign },
    );
  }
  // A trailing partial frame (an interrupted write) is dropped rather than refused.
  const frames = Math.floor(dataBytes / fmt.blockAlign);
  const durationSeconds = checkDuration(frames, fmt.sampleRate, maxSeconds);
  return { container, encoding, channels: fmt.channels, sampleRate: fmt.sampleRate, blockAlign: fmt.blockAlign, dataOffset, frames, durationSeconds };
}

/**
 * Read integer PCM or G.711 samples into `out` as ±1 floats: 8-bit PCM is unsigned (128 is
 * silence), 16-32-bit signed, in the container's byte order (RIFX: big-endian).
 */
function readInts(bytes: Uint8Array, view: DataView, start: number, count: number, encoding: Exclude<WavEncoding, 'float32' | 'float64'>, le: boolean, out: Float32Array): void {
  switch (encoding) {
    case 'pcm8':
      for (let i = 0; i < count; i++) out[i] = (bytes[start + i]! - 128) / 128;
      break;
    case 'pcm16':
      for (let i = 0, o = start; i < count; i++, o += 2) out[i] = view.getInt16(o, le) / 32768;
      break;
    case 'pcm24':
      for (let i = 0, o = start; i < count; i++, o += 3) {
        const v = le ? bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) : bytes[o + 2]! | (bytes[o + 1]! << 8) | (bytes[o]! << 16);
        out[i] = ((v << 8) >> 8) / 8388608; // sign-extend from 24 bits
      }
      break;
    case 'pcm32':
      for (let i = 0, o = start; i < count; i++, o += 4) out[i] = view.getInt32(o, le) / 2147483648;
      break;
    case 'mulaw':
      for (let i = 0; i < count; i++) out[i] = MULAW_DECODE_TABLE[bytes[start + i]!]!;
      break;
    case 'alaw':
      for (let i = 0; i < count; i++) out[i] = ALAW_DECODE_TABLE[bytes[start + i]!]!;
      break;
  }
}

/**
 * Read IEEE float samples into `out`, clamping finite values to ±1 (what a fixed-point converter
 * would do; the quality stage reports it as clipping). Returns how many were NaN or infinite.
 */
function readFloats(view: DataView, start: number, count: number, bits: 32 | 64, le: boolean, out: Float32Array): number {
  let bad = 0;
  const step = bits / 8;
  for (let i = 0, o = start; i < count; i++, o += step) {
    const v = bits === 32 ? view.getFloat32(o, le) : view.getFloat64(o, le);
    if (v >= -1 && v <= 1) out[i] = v;
    else if (v > 1 && v !== Infinity) out[i] = 1;
    else if (v < -1 && v !== -Infinity) out[i] = -1;
    else {
      out[i] = 0;
      bad++;
    }
  }
  return bad;
}

/**
 * Decode a WAV file to mono ±1 floats at its own sample rate.
 * @throws VoicePassportError audio-empty, audio-malformed, audio-unsupported, audio-sample-rate-unsupported,
 *   audio-too-long, audio-invalid-samples, validation-failed (bad `channel`).
 */
export function decodeWav(bytes: Uint8Array, opts: WavDecodeOptions): DecodedAudio {
  const layout = inspectWav(bytes, opts.maxSeconds);
  checkChannelChoice(opts.channel, layout.channels);

  const samples = new Float32Array(layout.frames);
  const framesPerBlock = Math.max(1, Math.floor(BLOCK_BYTES / layout.blockAlign));
  const { encoding } = layout;
  const le = layout.container !== 'RIFX';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scratch = new Float32Array(Math.min(framesPerBlock, layout.frames) * layout.channels);
  let nonFinite = 0;
  for (let first = 0; first < layout.frames; first += framesPerBlock) {
    const frames = Math.min(framesPerBlock, layout.frames - first);
    const start = layout.dataOffset + first * layout.blockAlign;
    const count = frames * layout.channels;
    if (encoding === 'float32' || encoding === 'float64') nonFinite += readFloats(view, start, count, encoding === 'float32' ? 32 : 64, le, scratch);
    else readInts(bytes, view, start, count, encoding, le, scratch);
    mixToMono(scratch, frames, layout.channels, opts.channel, samples, first);
  }
  if (nonFinite > 0) {
    throw new VoicePassportError(
      'audio-invalid-samples',
      `The WAV file contains ${nonFinite} NaN or infinite sample value${nonFinite === 1 ? '' : 's'}; the recording is corrupt. Re-export it.`,
      { nonFiniteSamples: nonFinite },
    );
  }
  return {
    sampleRate: layout.sampleRate,
    samples,
    channels: layout.channels,
    encoding: layout.encoding,
    durationSeconds: layout.durationSeconds,
  };
}
