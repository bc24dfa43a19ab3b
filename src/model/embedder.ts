/**
 * Speech samples → one L2-normalised speaker embedding, exactly the way the manifest says the
 * network was trained: Kaldi fbank (src/features/fbank.ts) with the manifest's options and sample
 * scale, per-utterance normalisation, the manifest's tensor layout, then L2 normalisation so that
 * cosine similarity is a plain dot product downstream.
 *
 * Pure apart from `session.run()`: no threads, no files. The engine runs it inside a worker.
 */
import { VoicePassportError } from '../errors.js';
import { computeFbank, type FeatureMatrix } from '../features/fbank.js';
import { normaliseFeatures } from '../features/normalise.js';
import { l2Normalise as unitVector } from '../scoring/cosine.js';
import type { LoadedManifest } from './manifest.js';
import type { InferenceSessionLike, TensorInput } from './onnx-runtime.js';

/** The parts of a manifest the embedder needs (a LoadedManifest satisfies it). */
export type EmbedderManifest = Pick<
  LoadedManifest,
  | 'id'
  | 'sampleRate'
  | 'fbank'
  | 'sampleScale'
  | 'normalisation'
  | 'input'
  | 'output'
  | 'embeddingDim'
  | 'segmentation'
  | 'minFrames'
  | 'speechContextMs'
  | 'resampler'
>;

export class SpeakerEmbedder {
  /**
   * Checks the manifest's tensor names against the model so that a mis-filled manifest fails at
   * start-up with the names to use, not on the first caller's audio.
   */
  constructor(
    private readonly session: InferenceSessionLike,
    readonly manifest: EmbedderManifest,
  ) {
    if (!session.inputNames.includes(manifest.input.name)) {
      throw new VoicePassportError(
        'model-invalid',
        `model "${manifest.id}" has inputs [${session.inputNames.join(', ')}], but its manifest names input "${manifest.input.name}"`,
      );
    }
    if (!session.outputNames.includes(manifest.output.name)) {
      throw new VoicePassportError(
        'model-invalid',
        `model "${manifest.id}" has outputs [${session.outputNames.join(', ')}], but its manifest names output "${manifest.output.name}"`,
      );
    }
    const seg = manifest.segmentation;
    if (seg.mode === 'windows' && seg.hopSeconds > seg.windowSeconds) {
      throw new VoicePassportError(
        'model-invalid',
        `model "${manifest.id}": segmentation.hopSeconds ${seg.hopSeconds} is longer than windowSeconds ${seg.windowSeconds}, which would skip speech between windows`,
      );
    }
  }

  /**
   * `samples`: speech only, ±1 floats at `manifest.sampleRate`. The fbank runs once over all of
   * it; 'windows' segmentation then cuts the feature matrix, not the audio, so frames at window
   * edges are identical to the whole-utterance ones.
   */
  async embed(samples: Float32Array): Promise<Float32Array> {
    const { manifest } = this;
    const feats = computeFbank(samples, manifest.sampleRate, manifest.fbank, manifest.sampleScale);
    if (feats.frames === 0) {
      throw new VoicePassportError(
        'insufficient-speech',
        `${(samples.length / manifest.sampleRate).toFixed(3)} s of speech is shorter than one ${manifest.fbank.frameLength} ms analysis frame`,
        { netSpeechSeconds: samples.length / manifest.sampleRate },
      );
    }
    const seg = manifest.segmentation;
    if (seg.mode === 'whole') return this.embedFrames(feats);

    const windowFrames = Math.max(manifest.minFrames, Math.round((seg.windowSeconds * 1000) / manifest.fbank.frameShift));
    const hopFrames = Math.max(1, Math.round((seg.hopSeconds * 1000) / manifest.fbank.frameShift));
    const starts = windowStarts(feats.frames, windowFrames, hopFrames);
    // Average of unit vectors, renormalised: each window votes equally, however loud it was
    // (the usual way WeSpeaker/3D-Speaker combine sub-segment embeddings).
    const sum = new Float64Array(manifest.embeddingDim);
    for (const start of starts) {
      const window = sliceFrames(feats, start, Math.min(feats.frames, start + windowFrames));
      const e = await this.embedFrames(window);
      for (let i = 0; i < e.length; i++) sum[i] = (sum[i] as number) + (e[i] as number);
    }
    return l2Normalise(Float32Array.from(sum), manifest.id);
  }

  /**
   * One embedding of 2 s of a fixed test signal, before the first caller's: a manifest whose
   * front-end, layout or embeddingDim does not fit the model fails here, at start, with what went
   * wrong (it would otherwise fail every request with a 500). ONNX Runtime's message is kept: it
   * reaches the operator's start-up log, never a caller.
   */
  async selfCheck(): Promise<void> {
    const { manifest } = this;
    const n = 2 * manifest.sampleRate;
    const signal = new Float32Array(n);
    // Harmonics of a voice-like 150 Hz fundamental, with a little deterministic noise.
    for (let i = 0, seed = 1; i < n; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const t = i / manifest.sampleRate;
      signal[i] = 0.2 * Math.sin(2 * Math.PI * 150 * t) + 0.1 * Math.sin(2 * Math.PI * 450 * t) + 0.02 * (seed / 2 ** 30 - 1);
    }
    try {
      await this.embed(signal);
    } catch (e) {
      if (e instanceof VoicePassportError) throw e;
      throw new VoicePassportError(
        'model-invalid',
        `model "${manifest.id}" fails on its manifest's input (${manifest.fbank.numMelBins} mel bins, layout ${manifest.input.layout}): ${(e as Error).message}`,
      );
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /** One network pass over a feature matrix: pad, normalise, lay out, run, check, normalise. */
  private async embedFrames(raw: FeatureMatrix): Promise<Float32Array> {
    const { manifest } = this;
    const feats = normaliseFeatures(repeatPadFrames(raw, manifest.minFrames), manifest.normalisation);
    const input = toInputTensor(feats, manifest.input.layout);
    const outputs = await this.session.run({ [manifest.input.name]: input });
    const out = outputs[manifest.output.name];
    if (out === undefined) {
      throw new VoicePassportError('model-invalid', `model "${manifest.id}" returned no output "${manifest.output.name}"`);
    }
    const batchOfOne = out.dims.length === 1 || (out.dims.length === 2 && out.dims[0] === 1);
    if (!batchOfOne || out.data.length !== manifest.embeddingDim) {
      throw new VoicePassportError(
        'model-invalid',
        `model "${manifest.id}" returned an output of shape [${out.dims.join(', ')}], but its manifest says embeddingDim ${manifest.embeddingDim}`,
      );
    }
    return l2Normalise(out.data, manifest.id);
  }
}

/**
 * Window start frames covering [0, frames): a hop grid, plus one last window flush with the
 * end so the tail is covered by a full-length window rather than a short, noisy one.
 * Requires hopFrames ≤ windowFrames (the constructor checks the manifest), or frames are skipped.
 */
export function windowStarts(frames: number, windowFrames: number, hopFrames: number): number[] {
  if (frames <= windowFrames) return [0];
  const starts: number[] = [];
  for (let s = 0; s + windowFrames <= frames; s += hopFrames) starts.push(s);
  const last = frames - windowFrames;
  if (starts[starts.length - 1] !== last) starts.push(last);
  return starts;
}

/**
 * Too few frames for the network (its convolutions and pooling need a minimum length): tile the
 * utterance until it is long enough, as WeSpeaker does for short test segments, rather than
 * zero-padding, which would add "silence" the network never saw after mean normalisation.
 */
export function repeatPadFrames(m: FeatureMatrix, minFrames: number): FeatureMatrix {
  if (m.frames >= minFrames || m.frames === 0) return m;
  const data = new Float32Array(minFrames * m.bins);
  const used = m.frames * m.bins;
  for (let offset = 0; offset < data.length; offset += used) {
    data.set(m.data.subarray(0, Math.min(used, data.length - offset)), offset);
  }
  return { frames: minFrames, bins: m.bins, data };
}

export function sliceFrames(m: FeatureMatrix, from: number, to: number): FeatureMatrix {
  return { frames: to - from, bins: m.bins, data: m.data.subarray(from * m.bins, to * m.bins) };
}

/** Batch of one in the manifest's layout: BTF = [1, frames, bins]; BFT = [1, bins, frames]. */
export function toInputTensor(m: FeatureMatrix, layout: 'BTF' | 'BFT'): TensorInput {
  if (layout === 'BTF') {
    // A view into a bigger buffer (a window of the utterance) is copied: the runtime reads
    // tensors from the start of their buffer on some versions.
    const whole = m.data.byteOffset === 0 && m.data.byteLength === m.data.buffer.byteLength;
    return { type: 'float32', data: whole ? m.data : m.data.slice(), dims: [1, m.frames, m.bins] };
  }
  const data = new Float32Array(m.frames * m.bins);
  for (let t = 0; t < m.frames; t++) {
    for (let f = 0; f < m.bins; f++) data[f * m.frames + t] = m.data[t * m.bins + f] as number;
  }
  return { type: 'float32', data, dims: [1, m.bins, m.frames] };
}

/**
 * Unit length (src/scoring/cosine.ts does the maths), after a check: a NaN/Inf or all-zero output
 * means the model or its input went wrong; it must never become a stored voiceprint or a score, so
 * it is an internal error (with a message that carries no numbers from the audio).
 */
export function l2Normalise(v: Float32Array, modelId: string): Float32Array {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += (v[i] as number) * (v[i] as number);
  if (!Number.isFinite(sq)) {
    throw new VoicePassportError('internal', `speaker model "${modelId}" produced a non-finite embedding`);
  }
  if (sq === 0) {
    throw new VoicePassportError('internal', `speaker model "${modelId}" produced an all-zero embedding`);
  }
  return unitVector(v);
}
