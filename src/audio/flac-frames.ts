/**
 * Split a FLAC file into its audio frames, for FLACDecoder.decodeFrames.
 *
 * The decoder's own splitter (codec-parser 2.5.0) drops the final frame of some valid files when
 * it is shorter than the others, so those files decode short and are refused as truncated. FLAC
 * frames carry no length field, so a frame ends where the next valid frame begins (RFC 9639 §9):
 * a boundary is a sync code whose header checks out (fields valid, CRC-8 matches, §9.1) and where
 * the bytes since the previous boundary end in a matching CRC-16 (§9.3). Requiring both makes a
 * sync pattern inside compressed data a one-in-16-million false split instead of a likely one.
 */
import { VoicePassportError } from '../errors.js';

function malformed(message: string, details?: Record<string, unknown>): VoicePassportError {
  return new VoicePassportError('audio-malformed', message, details);
}

const CRC8_TABLE = new Uint8Array(256);
const CRC16_TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c8 = i;
  let c16 = i << 8;
  for (let bit = 0; bit < 8; bit++) {
    c8 = c8 & 0x80 ? ((c8 << 1) ^ 0x07) & 0xff : (c8 << 1) & 0xff;
    c16 = c16 & 0x8000 ? ((c16 << 1) ^ 0x8005) & 0xffff : (c16 << 1) & 0xffff;
  }
  CRC8_TABLE[i] = c8;
  CRC16_TABLE[i] = c16;
}

/** CRC-8 of the frame header: polynomial 0x07, initial value 0, no reflection (RFC 9639 §9.1.8). */
export function crc8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = CRC8_TABLE[crc ^ bytes[i]!]!;
  return crc;
}

function crc16Step(crc: number, byte: number): number {
  return ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >> 8) ^ byte]!;
}

/** CRC-16 of a whole frame: polynomial 0x8005, initial value 0, no reflection (RFC 9639 §9.3). */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = crc16Step(crc, bytes[i]!);
  return crc;
}

/**
 * Byte offset where the audio frames begin: after "fLaC" and every metadata block, walked by each
 * block's header (last-block flag, 7-bit type, 24-bit length; RFC 9639 §8.1).
 * @throws VoicePassportError audio-malformed when the signature or a block header is missing or cut off.
 */
export function flacAudioOffset(bytes: Uint8Array): number {
  if (bytes.length < 4 || bytes[0] !== 0x66 || bytes[1] !== 0x4c || bytes[2] !== 0x61 || bytes[3] !== 0x43) {
    throw malformed('This is not a FLAC file (it does not start with "fLaC").');
  }
  let offset = 4;
  for (;;) {
    if (offset + 4 > bytes.length) throw malformed(`The FLAC file is truncated inside its metadata (at byte ${offset}).`);
    const flags = bytes[offset]!;
    // Type 127 is forbidden: it would make the header look like a frame sync code (§8.1).
    if ((flags & 0x7f) === 127) throw malformed(`The FLAC file has an invalid metadata block type at byte ${offset}; it is damaged.`);
    const length = (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    offset += 4 + length;
    if (offset > bytes.length) throw malformed(`The FLAC file is truncated inside its metadata (a block runs to byte ${offset}, the file has ${bytes.length}).`);
    if (flags & 0x80) return offset;
  }
}

/** What a frame header says about its frame (RFC 9639 §9.1). */
export interface FlacFrameHeader {
  /** Bytes of the header, CRC-8 included. */
  length: number;
  /** Samples per channel (§9.1.1, §9.1.6). */
  blockSize: number;
  /** null: code 0, "get from STREAMINFO" (§9.1.2). */
  sampleRate: number | null;
  channels: number;
  /** null: code 0, "get from STREAMINFO" (§9.1.4). */
  bitsPerSample: number | null;
}

/** §9.1.2 sample rate codes 1–11 (0 defers to STREAMINFO; 12–14 are read after the coded number). */
const SAMPLE_RATES = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];
/** §9.1.4 bit depth codes (0 defers to STREAMINFO; 3 is reserved). */
const BIT_DEPTHS = [0, 8, 12, 0, 16, 20, 24, 32];

/**
 * The valid frame header at `at`, or null when there is none. Reserved and forbidden field values
 * reject the candidate (RFC 9639 §9.1.1–9.1.8).
 */
export function parseFrameHeader(bytes: Uint8Array, at: number): FlacFrameHeader | null {
  const end = bytes.length;
  if (at + 6 > end) return null; // 4 fixed bytes + 1-byte coded number + CRC-8 at the least
  // 15-bit sync code, a reserved 0 bit, then the blocking strategy bit (§9.1).
  if (bytes[at] !== 0xff || (bytes[at + 1]! & 0xfe) !== 0xf8) return null;
  const variableBlocking = (bytes[at + 1]! & 1) === 1;
  const blockSizeCode = bytes[at + 2]! >> 4;
  const sampleRateCode = bytes[at + 2]! & 0x0f;
  const channelCode = bytes[at + 3]! >> 4;
  const bitDepthCode = (bytes[at + 3]! >> 1) & 0x07;
  if (blockSizeCode === 0) return null; // reserved (§9.1.1)
  if (sampleRateCode === 0x0f) return null; // forbidden (§9.1.2)
  if (channelCode > 10) return null; // reserved (§9.1.3)
  if (bitDepthCode === 3 || (bytes[at + 3]! & 1) !== 0) return null; // reserved (§9.1.4)

  // Coded number, UTF-8 style in 1–7 bytes (§9.1.5): a 31-bit frame number for fixed blocking
  // (at most 6 bytes), a 36-bit sample number for variable blocking (up to 7).
  let pos = at + 4;
  const lead = bytes[pos]!;
  let extra: number;
  if (lead < 0x80) extra = 0;
  else if (lead < 0xc0) return null; // a continuation byte cannot lead
  else if (lead < 0xe0) extra = 1;
  else if (lead < 0xf0) extra = 2;
  else if (lead < 0xf8) extra = 3;
  else if (lead < 0xfc) extra = 4;
  else if (lead < 0xfe) extra = 5;
  else if (lead === 0xfe && variableBlocking) extra = 6;
  else return null;
  pos++;
  if (pos + extra > end) return null;
  for (let k = 0; k < extra; k++, pos++) if ((bytes[pos]! & 0xc0) !== 0x80) return null;

  // Block size (§9.1.1), the uncommon ones stored after the coded number (§9.1.6).
  let blockSize: number;
  if (blockSizeCode === 1) blockSize = 192;
  else if (blockSizeCode <= 5) blockSize = 576 * 2 ** (blockSizeCode - 2);
  else if (blockSizeCode === 6) {
    if (pos + 1 > end) return null;
    blockSize = bytes[pos]! + 1;
    pos += 1;
  } else if (blockSizeCode === 7) {
    if (pos + 2 > end) return null;
    // Block size minus one; 65536 is beyond STREAMINFO's 16-bit maximum block size (§8.2).
    if (bytes[pos] === 0xff && bytes[pos + 1] === 0xff) return null;
    blockSize = ((bytes[pos]! << 8) | bytes[pos + 1]!) + 1;
    pos += 2;
  } else blockSize = 256 * 2 ** (blockSizeCode - 8);

  // Sample rate (§9.1.2), codes 12–14 stored after the block size (§9.1.7): kHz, Hz, tens of Hz.
  let sampleRate: number | null;
  if (sampleRateCode === 0) sampleRate = null;
  else if (sampleRateCode <= 11) sampleRate = SAMPLE_RATES[sampleRateCode]!;
  else if (sampleRateCode === 12) {
    if (pos + 1 > end) return null;
    sampleRate = bytes[pos]! * 1000;
    pos += 1;
  } else {
    if (pos + 2 > end) return null;
    const value = (bytes[pos]! << 8) | bytes[pos + 1]!;
    sampleRate = sampleRateCode === 13 ? value : value * 10;
    pos += 2;
  }

  if (pos + 1 > end) return null;
  if (crc8(bytes, at, pos) !== bytes[pos]) return null; // §9.1.8
  return {
    length: pos + 1 - at,
    blockSize,
    sampleRate,
    // Codes 0–7: that many independent channels minus one; 8–10: stereo as left/side, side/right, mid/side (§9.1.3).
    channels: channelCode <= 7 ? channelCode + 1 : 2,
    bitsPerSample: bitDepthCode === 0 ? null : BIT_DEPTHS[bitDepthCode]!,
  };
}

/** Length in bytes of the valid frame header at `at` (CRC-8 included), or 0 when there is none. */
export function frameHeaderLength(bytes: Uint8Array, at: number): number {
  return parseFrameHeader(bytes, at)?.length ?? 0;
}

/** What STREAMINFO says every frame of the stream holds (RFC 9639 §8.2). */
export interface FlacFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

export interface FlacFrame {
  /** The frame's bytes, a view into the file from its sync code up to the next frame's. */
  data: Uint8Array;
  /** Byte offset of the frame in the file. */
  offset: number;
  /** Samples per channel, from the frame header. */
  blockSize: number;
}

/**
 * A frame must describe the stream STREAMINFO describes (RFC 9639 §8.2): the decoder follows each
 * frame's header, so a frame with another channel count shifted the channels of every later sample,
 * another rate was reported as the whole file's, and a deeper bit depth was quantised to
 * STREAMINFO's. `flac -d` refuses all three.
 */
function checkFrameHeader(header: FlacFrameHeader, format: FlacFormat, offset: number, framesBefore: number): void {
  // Code 0 means "as in STREAMINFO" (§9.1.2, §9.1.4; outside the streamable subset, written e.g. by
  // `flac --lax` for 14-, 18- or 22-bit audio). The decoder is given frames without STREAMINFO, so
  // libFLAC cannot resolve it and reported the frame as corrupt (LOST_SYNC): say what it really is.
  for (const [field, value, what] of [['sampleRate', header.sampleRate, 'sample rate'], ['bitsPerSample', header.bitsPerSample, 'bit depth']] as const) {
    if (value !== null) continue;
    throw new VoicePassportError(
      'audio-unsupported',
      `The FLAC frame at byte ${offset} (frame ${framesBefore + 1}) leaves its ${what} to STREAMINFO (header code 0, allowed outside FLAC's streamable subset), which the FLAC decoder used here cannot follow. Re-encode the file with a standard encoder, e.g. \`sox in.flac -b 16 out.flac\`, and try again.`,
      { frameOffset: offset, framesBefore, field },
    );
  }
  const fields = [
    ['channels', 'channel count', header.channels, format.channels, ''],
    ['sampleRate', 'sample rate', header.sampleRate, format.sampleRate, ' Hz'],
    ['bitsPerSample', 'bit depth', header.bitsPerSample, format.bitsPerSample, ' bits'],
  ] as const;
  for (const [field, what, frameValue, streamInfoValue, unit] of fields) {
    if (frameValue === streamInfoValue) continue; // null (code 0) was refused above
    throw malformed(
      `The FLAC file is damaged: the frame at byte ${offset} (frame ${framesBefore + 1}) has ${what} ${frameValue}${unit}, but its STREAMINFO says ${streamInfoValue}${unit} for the whole stream.`,
      { frameOffset: offset, framesBefore, field, frameValue, streamInfoValue },
    );
  }
}

/**
 * The audio frames of a FLAC file, each a view into `bytes` from its sync code up to the next
 * frame's (the last runs to the end of the file). A file with no frames gives an empty list.
 * @throws VoicePassportError audio-malformed when the file is not FLAC, its metadata is cut off,
 *   the audio does not start with a frame header, a frame header disagrees with `format`
 *   (STREAMINFO's), or the last frame fails its CRC-16 (truncated or damaged); audio-unsupported
 *   when a frame header leaves its sample rate or bit depth to STREAMINFO.
 */
export function splitFlacFrames(bytes: Uint8Array, format: FlacFormat): FlacFrame[] {
  const first = flacAudioOffset(bytes);
  if (first === bytes.length) return [];
  let header = parseFrameHeader(bytes, first);
  if (header === null) throw malformed(`The FLAC file has no valid frame header where its audio begins (byte ${first}); it is damaged.`);
  checkFrameHeader(header, format, first, 0);
  // The blocking strategy may not change within a stream (§9.1), so a candidate must match.
  const blockingByte = bytes[first + 1]!;

  const frames: FlacFrame[] = [];
  let start = first;
  // Running CRC-16 of bytes[start, i): a frame followed by its own footer CRC-16 leaves 0.
  let crc = 0;
  for (let i = first; i < bytes.length; i++) {
    if (crc === 0 && i > start && bytes[i] === 0xff && bytes[i + 1] === blockingByte) {
      const next = parseFrameHeader(bytes, i);
      if (next !== null) {
        frames.push({ data: bytes.subarray(start, i), offset: start, blockSize: header.blockSize });
        // Both CRCs matched, so this is a frame boundary: a header that disagrees is damage, not data.
        checkFrameHeader(next, format, i, frames.length);
        header = next;
        start = i;
      }
    }
    crc = crc16Step(crc, bytes[i]!);
  }
  if (crc !== 0) {
    throw malformed(`The FLAC file is truncated or damaged: the frame starting at byte ${start} does not end with a valid CRC-16.`, {
      frameOffset: start,
      framesBefore: frames.length,
    });
  }
  frames.push({ data: bytes.subarray(start), offset: start, blockSize: header.blockSize });
  return frames;
}
