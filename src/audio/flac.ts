/**
 * FLAC files for the command line and the evaluation scripts (the data sets in ../shared are FLAC);
 * the HTTP API itself does not accept FLAC.
 *
 * Same discipline as the WAV decoder: the STREAMINFO block (FLAC format spec, RFC 9639 §8.2) is
 * read and checked first — sample rate, channel count, and the duration from its total-samples
 * field — and only then are its frames handed to libFLAC (compiled to WebAssembly by
 * @wasm-audio-decoders/flac). The frames are split by ./flac-frames.ts, not by the package's
 * decodeFile, whose splitter (codec-parser 2.5.0) drops a short final frame. A file whose frames
 * stop before STREAMINFO's sample count is refused as truncated instead of silently decoding short.
 */
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { VoicePassportError } from '../errors.js';
import { parseFrameHeader, splitFlacFrames } from './flac-frames.js';
import { checkDuration, checkSampleRate } from './limits.js';
import type { DecodedAudio } from './types.js';

export interface FlacStreamInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 when the encoder did not know it (streaming). */
  totalSamples: number;
}

/** Depths the decoder scales correctly (8, 16, 24, 32; 12 and 20 came out as ±Infinity). */
const SUPPORTED_BIT_DEPTHS = [8, 16, 24, 32];

function malformed(message: string, details?: Record<string, unknown>): VoicePassportError {
  return new VoicePassportError('audio-malformed', message, details);
}

/** Read the mandatory first metadata block. @throws audio-empty / audio-malformed. */
export function readFlacStreamInfo(bytes: Uint8Array): FlacStreamInfo {
  if (bytes.length === 0) throw new VoicePassportError('audio-empty', 'The FLAC file is empty.');
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'fLaC') throw malformed('This is not a FLAC file (it does not start with "fLaC").');
  // Metadata block header: 1 bit last-block flag, 7 bits type (0 = STREAMINFO), 24 bits length (34).
  if (bytes.length < 8 + 34) throw malformed(`The FLAC file is truncated: only ${bytes.length} bytes, too few for its STREAMINFO block.`);
  const type = bytes[4]! & 0x7f;
  const length = (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!;
  if (type !== 0 || length !== 34) throw malformed('The FLAC file does not begin with a valid STREAMINFO block; it is damaged.');
  const b = (i: number) => bytes[8 + i]!;
  // STREAMINFO bit layout: ... sample rate (20 bits) | channels − 1 (3) | bits per sample − 1 (5) | total samples (36)
  const sampleRate = (b(10) << 12) | (b(11) << 4) | (b(12) >> 4);
  const channels = ((b(12) >> 1) & 0x07) + 1;
  const bitsPerSample = (((b(12) & 0x01) << 4) | (b(13) >> 4)) + 1;
  const totalSamples = (b(13) & 0x0f) * 2 ** 32 + ((b(14) << 24) >>> 0) + (b(15) << 16) + (b(16) << 8) + b(17);
  return { sampleRate, channels, bitsPerSample, totalSamples };
}

/**
 * Decode a FLAC file to mono ±1 floats (channel average) at its own rate.
 * @throws VoicePassportError audio-empty, audio-malformed, audio-sample-rate-unsupported, audio-too-long.
 */
export async function decodeFlacFile(bytes: Uint8Array, opts: { maxSeconds: number }): Promise<DecodedAudio> {
  const info = readFlacStreamInfo(bytes);
  checkSampleRate(info.sampleRate, 'FLAC STREAMINFO');
  // The decoder scales 12- and 20-bit samples wrongly (to ±Infinity), and other depths are rare.
  if (!SUPPORTED_BIT_DEPTHS.includes(info.bitsPerSample)) {
    throw new VoicePassportError('audio-unsupported', `FLAC with ${info.bitsPerSample}-bit samples is not supported; convert it to 16-bit (e.g. sox in.flac -b 16 out.flac).`, {
      bitsPerSample: info.bitsPerSample,
    });
  }
  if (info.totalSamples > 0) checkDuration(info.totalSamples, info.sampleRate, opts.maxSeconds);

  const flacFrames = splitFlacFrames(bytes);
  if (flacFrames.length === 0) throw malformed('The FLAC file has no audio frames.');
  // Every frame is checked against STREAMINFO, and the samples its headers promise are counted,
  // before anything is decoded: libFLAC decodes a frame that changes the channel count or rate
  // mid-stream into misaligned output (and can corrupt its heap on the next frame), and a few
  // kilobytes of tiny constant frames would otherwise unpack into gigabytes before the duration
  // check (RFC 9639 §8.2: the stream's properties are those of STREAMINFO).
  let promised = 0;
  flacFrames.forEach((frame, k) => {
    const h = parseFrameHeader(frame, 0)!;
    if (h.sampleRate === null || h.bitsPerSample === null) {
      throw new VoicePassportError('audio-unsupported', `FLAC frames that take their ${h.sampleRate === null ? 'sample rate' : 'bit depth'} from STREAMINFO are not supported; re-encode the file with flac.`);
    }
    const differs = [
      h.channels !== info.channels ? `${h.channels} channels, STREAMINFO ${info.channels}` : '',
      h.sampleRate !== info.sampleRate ? `${h.sampleRate} Hz, STREAMINFO ${info.sampleRate} Hz` : '',
      h.bitsPerSample !== info.bitsPerSample ? `${h.bitsPerSample}-bit, STREAMINFO ${info.bitsPerSample}-bit` : '',
    ].filter((d) => d !== '');
    if (differs.length > 0) throw malformed(`FLAC frame ${k} does not match the stream (${differs.join('; ')}); the file is damaged.`, { frame: k });
    promised += h.blockSize;
  });
  checkDuration(promised, info.sampleRate, opts.maxSeconds);
  if (info.totalSamples > 0 && promised > info.totalSamples) {
    throw malformed(`The FLAC file's frames hold ${promised} samples, more than the ${info.totalSamples} its header promises; it is damaged.`, {
      declaredSamples: info.totalSamples,
      frameSamples: promised,
    });
  }

  const decoder = new FLACDecoder();
  let decoded;
  try {
    await decoder.ready;
    decoded = await decoder.decodeFrames(flacFrames);
  } catch (e) {
    throw malformed(`The FLAC file could not be decoded (${e instanceof Error ? e.message : String(e)}).`);
  } finally {
    // A damaged stream can leave the WebAssembly heap so that free() traps too: that error must not
    // replace the one above, nor escape as an internal one.
    try {
      decoder.free();
    } catch {
      // nothing more to release
    }
  }

  if (decoded.errors.length > 0) {
    const first = decoded.errors[0]!;
    throw malformed(`The FLAC file has ${decoded.errors.length} corrupt frame(s), the first: ${first.message}.`, { corruptFrames: decoded.errors.length });
  }
  const frames = decoded.samplesDecoded;
  if (info.totalSamples > 0 && frames < info.totalSamples) {
    throw malformed(`The FLAC file is truncated: its header promises ${info.totalSamples} samples but only ${frames} decode.`, {
      declaredSamples: info.totalSamples,
      decodedSamples: frames,
    });
  }
  if (decoded.sampleRate !== info.sampleRate) checkSampleRate(decoded.sampleRate, 'FLAC frame header');
  const durationSeconds = checkDuration(frames, decoded.sampleRate, opts.maxSeconds);

  const channels = decoded.channelData.length;
  if (channels !== info.channels || decoded.channelData.some((c) => c.length < frames)) {
    throw malformed(`The FLAC file decoded to ${channels} channel(s) of unequal length, not the ${info.channels} its header names; it is damaged.`);
  }
  // The decoder scales integers by 1 / (2^(bits−1) − 1); everything else here (WAV, L16, torchaudio,
  // Kaldi) uses 1 / 2^(bits−1). Recover the integer (the float error is far below half a step)
  // and rescale, so a FLAC and a WAV of the same recording decode to identical samples.
  const fullScale = 2 ** (info.bitsPerSample - 1);
  const toInteger = fullScale - 1;
  const perChannel = 1 / (fullScale * channels);
  const samples = new Float32Array(frames);
  const sums = new Float64Array(frames);
  for (const channel of decoded.channelData) {
    for (let i = 0; i < frames; i++) sums[i]! += Math.round(channel[i]! * toInteger);
  }
  for (let i = 0; i < frames; i++) {
    const v = sums[i]! * perChannel;
    if (!Number.isFinite(v)) throw new VoicePassportError('audio-invalid-samples', `The FLAC file decoded to a non-finite sample at ${i}; it is damaged.`, { sampleIndex: i });
    samples[i] = v;
  }
  return { sampleRate: decoded.sampleRate, samples, channels, encoding: `flac${info.bitsPerSample}`, durationSeconds };
}
