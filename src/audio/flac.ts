/**
 * FLAC files for the command line and the evaluation scripts (the data sets in ../shared are FLAC);
 * the HTTP API itself does not accept FLAC.
 *
 * Same discipline as the WAV decoder: nothing is decoded before the headers are checked. First
 * STREAMINFO (RFC 9639 §8.2): sample rate, bit depth (those the decoder scales correctly) and the
 * duration from its total-samples field. Then every frame header, found by ./flac-frames.ts (not
 * the package's decodeFile, whose splitter, codec-parser 2.5.0, drops a short final frame), must
 * agree with STREAMINFO, and the block sizes the headers give must add up to STREAMINFO's total
 * (when it has one) and stay within the duration limit. Only then are the frames handed, one at a
 * time, to libFLAC (compiled to WebAssembly by @wasm-audio-decoders/flac). A file whose frames
 * stop before STREAMINFO's sample count is refused as truncated instead of silently decoding short.
 */
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { VoicePassportError } from '../errors.js';
import { splitFlacFrames, type FlacFrame } from './flac-frames.js';
import { checkDuration, checkSampleRate } from './limits.js';
import type { DecodedAudio } from './types.js';

export interface FlacStreamInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 when the encoder did not know it (streaming). */
  totalSamples: number;
}

/**
 * The package's write callback (flac_decoder.c) divides each sample by a full scale it sets for
 * these depths only; for any other it divides by an uninitialised value, so 12- and 20-bit files
 * decoded to ±Infinity and NaN. That output cannot be scaled back, so other depths are refused
 * (frames must match STREAMINFO's depth, so checking STREAMINFO covers every frame).
 */
const DECODABLE_BIT_DEPTHS: readonly number[] = [8, 16, 24, 32];

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
 * @throws VoicePassportError audio-empty, audio-malformed, audio-unsupported, audio-invalid-samples,
 *   audio-sample-rate-unsupported, audio-too-long.
 */
export async function decodeFlacFile(bytes: Uint8Array, opts: { maxSeconds: number }): Promise<DecodedAudio> {
  const info = readFlacStreamInfo(bytes);
  checkSampleRate(info.sampleRate, 'FLAC STREAMINFO');
  if (!DECODABLE_BIT_DEPTHS.includes(info.bitsPerSample)) {
    throw new VoicePassportError(
      'audio-unsupported',
      `The FLAC file holds ${info.bitsPerSample}-bit samples; only 8-, 16-, 24- and 32-bit FLAC can be decoded here. Convert it to 16-bit (e.g. \`sox in.flac -b 16 out.flac\`) and try again.`,
      { bitsPerSample: info.bitsPerSample, supportedBitsPerSample: [...DECODABLE_BIT_DEPTHS] },
    );
  }
  if (info.totalSamples > 0) checkDuration(info.totalSamples, info.sampleRate, opts.maxSeconds);

  // Every frame header is checked against STREAMINFO here, so the decoder meets one format throughout.
  const split = splitFlacFrames(bytes, info);
  if (split.length === 0) throw malformed('The FLAC file has no audio frames.');
  // The frame headers say how much audio there is; check it before decoding any. STREAMINFO's total
  // may be 0 (unknown) or small, and a few dozen bytes of frame can expand to 65535 samples on each
  // of 8 channels: a 30 KB file decoded for about 20 s into 3.6 GB before its length was checked.
  const frameSamples = split.reduce((n, f) => n + f.blockSize, 0);
  if (info.totalSamples > 0 && frameSamples < info.totalSamples) {
    throw malformed(`The FLAC file is truncated: its header promises ${info.totalSamples} samples but its frames hold only ${frameSamples}.`, {
      declaredSamples: info.totalSamples,
      frameSamples,
    });
  }
  if (info.totalSamples > 0 && frameSamples > info.totalSamples) {
    // STREAMINFO's total is what the duration limit was checked against; decode no more than that.
    throw malformed(`The FLAC file is damaged: its frames hold ${frameSamples} samples, more than the ${info.totalSamples} its header declares.`, {
      declaredSamples: info.totalSamples,
      frameSamples,
    });
  }
  const durationSeconds = checkDuration(frameSamples, info.sampleRate, opts.maxSeconds);

  const samples = await decodeFrames(split, info, frameSamples);
  return { sampleRate: info.sampleRate, samples, channels: info.channels, encoding: `flac${info.bitsPerSample}`, durationSeconds };
}

/**
 * Decode the frames (checked against STREAMINFO, `total` samples in all) and mix them to mono.
 * Whatever goes wrong inside the decoder is the file's doing and comes out as audio-malformed: it
 * must never reach a CLI run as an `internal` error.
 */
async function decodeFrames(frames: FlacFrame[], info: FlacStreamInfo, total: number): Promise<Float32Array> {
  const decoder = new FLACDecoder();
  await decoder.ready; // the WebAssembly module failing to start is not the file's fault: left as is

  // The decoder scales integers by 1 / (2^(bits−1) − 1); everything else here (WAV, L16, torchaudio,
  // Kaldi) uses 1 / 2^(bits−1). Recover the integer (the float error is far below half a step)
  // and rescale, so a FLAC and a WAV of the same recording decode to identical samples.
  const fullScale = 2 ** (info.bitsPerSample - 1);
  const toInteger = fullScale - 1;
  const perChannel = 1 / (fullScale * info.channels);
  const sums = new Float64Array(total);
  let failure: unknown;
  try {
    let at = 0;
    for (const [n, frame] of frames.entries()) {
      // One frame per call, stopping at the first one libFLAC refuses: after such a frame the package
      // frees the previous frame's output buffer again (FLACDecoder.js _decode never clears that
      // pointer), and frames decoded on that heap faulted (`memory access out of bounds`, from free()
      // for the audit's go-2.flac repro).
      const out = await decoder.decodeFrames([frame.data]);
      const where = { frameOffset: frame.offset, framesBefore: n };
      if (out.errors.length > 0) {
        throw malformed(`The FLAC frame at byte ${frame.offset} (frame ${n + 1}) is corrupt: ${out.errors[0]!.message}.`, where);
      }
      // The package concatenates each channel from what every frame gave it and zero-pads it, so
      // channels that differ between frames came out shifted; demand exactly what the header says.
      if (out.samplesDecoded !== frame.blockSize || out.channelData.length !== info.channels || out.channelData.some((c) => c.length !== frame.blockSize)) {
        throw malformed(
          `The FLAC frame at byte ${frame.offset} (frame ${n + 1}) decoded to ${out.channelData.length} channel(s) of ${out.channelData.map((c) => c.length).join('/')} samples, not the ${info.channels} of ${frame.blockSize} its header gives.`,
          where,
        );
      }
      for (const channel of out.channelData) {
        for (let i = 0; i < frame.blockSize; i++) {
          const value = channel[i]!;
          // Never expected for the depths above; a NaN or infinity must not reach the models regardless.
          if (!Number.isFinite(value)) {
            throw new VoicePassportError(
              'audio-invalid-samples',
              `The FLAC frame at byte ${frame.offset} (frame ${n + 1}) decoded to NaN or infinite samples; the file cannot be used.`,
              where,
            );
          }
          sums[at + i]! += Math.round(value * toInteger);
        }
      }
      at += frame.blockSize;
    }
  } catch (e) {
    failure = e;
  }
  try {
    decoder.free();
  } catch (e) {
    // free() walks the WebAssembly heap and faults when the heap was corrupted; keep the first error.
    // The instance owns its own memory, dropped with it.
    failure ??= e;
  }
  if (failure instanceof VoicePassportError) throw failure;
  if (failure !== undefined) throw malformed(`The FLAC file could not be decoded (${failure instanceof Error ? failure.message : String(failure)}).`);
  const samples = new Float32Array(total);
  for (let i = 0; i < total; i++) samples[i] = sums[i]! * perChannel;
  return samples;
}
