import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFbank, type FeatureMatrix } from '../../src/features/fbank.js';
import { normaliseFeatures } from '../../src/features/normalise.js';
import {
  SpeakerEmbedder,
  l2Normalise,
  repeatPadFrames,
  toInputTensor,
  windowStarts,
  type EmbedderManifest,
} from '../../src/model/embedder.js';
import { loadManifest, type LoadedManifest } from '../../src/model/manifest.js';
import { createInferenceSession, type InferenceSessionLike, type TensorInput } from '../../src/model/onnx-runtime.js';
import { FakeSession } from './fake-session.js';
import { speechLike } from './speech-like.js';
import { caught, norm } from './assertions.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = path.resolve(here, '../../models');

const baseManifest: EmbedderManifest = {
  id: 'fake',
  sampleRate: 16000,
  fbank: {
    numMelBins: 80,
    frameLength: 25,
    frameShift: 10,
    dither: 0,
    windowType: 'hamming',
    preemphasisCoefficient: 0.97,
    removeDcOffset: true,
    roundToPowerOfTwo: true,
    lowFreq: 20,
    highFreq: 0,
    snipEdges: true,
    useEnergy: false,
    energyFloor: 1,
    rawEnergy: true,
    useLogFbank: true,
    usePower: true,
    blackmanCoeff: 0.42,
  },
  sampleScale: 'int16',
  normalisation: 'mean',
  input: { name: 'feats', layout: 'BTF' },
  output: { name: 'embs' },
  embeddingDim: 16,
  segmentation: { mode: 'whole' },
  minFrames: 20,
  speechContextMs: 0,
  resampler: 'kaiser',
};


/** The features the embedder must feed for `samples`: fbank → mean normalisation. */
function expectedFeatures(samples: Float32Array, m: EmbedderManifest = baseManifest): FeatureMatrix {
  return normaliseFeatures(computeFbank(samples, m.sampleRate, m.fbank, m.sampleScale), m.normalisation);
}

describe('SpeakerEmbedder with a fake session', () => {
  const oneSecond = speechLike({ seconds: 1 });

  it('feeds [1, T, 80] mean-normalised fbank in BTF layout and returns a unit vector', async () => {
    const session = new FakeSession(16);
    const e = await new SpeakerEmbedder(session, baseManifest).embed(oneSecond);
    expect(e).toHaveLength(16);
    expect(norm(e)).toBeCloseTo(1, 6);
    expect(session.calls).toHaveLength(1);
    const call = session.calls[0] as TensorInput;
    // snip_edges: 1 + ⌊(16000 − 400) / 160⌋ = 98 frames.
    expect(call.dims).toEqual([1, 98, 80]);
    expect(Array.from(call.data as Float32Array)).toEqual(Array.from(expectedFeatures(oneSecond).data));
  });

  it('is deterministic, and different audio gives a different embedding', async () => {
    const embedder = new SpeakerEmbedder(new FakeSession(16), baseManifest);
    const a = await embedder.embed(oneSecond);
    const b = await embedder.embed(Float32Array.from(oneSecond));
    expect(Array.from(b)).toEqual(Array.from(a));
    const c = await embedder.embed(speechLike({ seconds: 1, pitchHz: 210, formantScale: 1.2 }));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('transposes to [1, 80, T] for BFT models', async () => {
    const session = new FakeSession(16, 'BFT');
    const manifest: EmbedderManifest = { ...baseManifest, input: { name: 'feats', layout: 'BFT' } };
    const bft = await new SpeakerEmbedder(session, manifest).embed(oneSecond);
    const call = session.calls[0] as TensorInput;
    expect(call.dims).toEqual([1, 80, 98]);
    const feats = expectedFeatures(oneSecond);
    const data = call.data as Float32Array;
    for (const [t, f] of [
      [0, 0],
      [5, 17],
      [97, 79],
    ] as const) {
      expect(data[f * 98 + t]).toBe(feats.data[t * 80 + f]);
    }
    // The fake reads each layout correctly, so both layouts must give the same embedding.
    const btf = await new SpeakerEmbedder(new FakeSession(16), baseManifest).embed(oneSecond);
    expect(Array.from(bft)).toEqual(Array.from(btf));
  });

  it('repeat-pads short speech to minFrames', async () => {
    const session = new FakeSession(16);
    const tenth = oneSecond.subarray(0, 1600); // 1 + ⌊(1600 − 400) / 160⌋ = 8 frames
    const e = await new SpeakerEmbedder(session, baseManifest).embed(tenth);
    expect(norm(e)).toBeCloseTo(1, 6);
    const call = session.calls[0] as TensorInput;
    expect(call.dims).toEqual([1, 20, 80]);
    const raw = computeFbank(tenth, 16000, baseManifest.fbank, 'int16');
    expect(raw.frames).toBe(8);
    const expected = normaliseFeatures(repeatPadFrames(raw, 20), 'mean');
    expect(Array.from(call.data as Float32Array)).toEqual(Array.from(expected.data));
    // Frame 8 repeats frame 0, frame 16 repeats frame 0 (tiling), frame 19 repeats frame 3.
    const data = call.data as Float32Array;
    expect(Array.from(data.subarray(8 * 80, 9 * 80))).toEqual(Array.from(data.subarray(0, 80)));
    expect(Array.from(data.subarray(16 * 80, 17 * 80))).toEqual(Array.from(data.subarray(0, 80)));
    expect(Array.from(data.subarray(19 * 80, 20 * 80))).toEqual(Array.from(data.subarray(3 * 80, 4 * 80)));
  });

  it('refuses speech shorter than one frame as insufficient-speech', async () => {
    const e = await caught(new SpeakerEmbedder(new FakeSession(16), baseManifest).embed(oneSecond.subarray(0, 399)));
    expect(e.code).toBe('insufficient-speech');
    expect(e.details).toEqual({ netSpeechSeconds: 399 / 16000 });
  });

  it("'windows' mode averages the unit window embeddings and renormalises", async () => {
    const session = new FakeSession(16);
    const manifest: EmbedderManifest = { ...baseManifest, segmentation: { mode: 'windows', windowSeconds: 1, hopSeconds: 0.5 } };
    const threeSeconds = speechLike({ seconds: 3 });
    const e = await new SpeakerEmbedder(session, manifest).embed(threeSeconds);
    // 298 frames; windows of 100 every 50: starts 0, 50, 100, 150, then 198 flush with the end.
    expect(session.calls.map((c) => c.dims)).toEqual(Array.from({ length: 5 }, () => [1, 100, 80]));
    const whole = computeFbank(threeSeconds, 16000, manifest.fbank, 'int16');
    expect(whole.frames).toBe(298);
    const sum = new Float64Array(16);
    for (const [i, start] of [0, 50, 100, 150, 198].entries()) {
      const window: FeatureMatrix = { frames: 100, bins: 80, data: whole.data.slice(start * 80, (start + 100) * 80) };
      // Each window is normalised on its own, like an utterance of that length.
      expect(Array.from(session.calls[i]?.data as Float32Array)).toEqual(Array.from(normaliseFeatures(window, 'mean').data));
      const single = await new FakeSession(16).run({ feats: toInputTensor(normaliseFeatures(window, 'mean'), 'BTF') });
      const unit = l2Normalise(single['embs']?.data as Float32Array, 'x');
      unit.forEach((v, d) => (sum[d] = (sum[d] as number) + v));
    }
    const expected = l2Normalise(Float32Array.from(sum), 'x');
    expect(norm(e)).toBeCloseTo(1, 6);
    e.forEach((v, d) => expect(v).toBeCloseTo(expected[d] as number, 6));
  });

  it("'windows' mode with audio shorter than one window is one pass", async () => {
    const session = new FakeSession(16);
    const manifest: EmbedderManifest = { ...baseManifest, segmentation: { mode: 'windows', windowSeconds: 2, hopSeconds: 1 } };
    const whole = await new SpeakerEmbedder(new FakeSession(16), baseManifest).embed(oneSecond);
    const windowed = await new SpeakerEmbedder(session, manifest).embed(oneSecond);
    expect(session.calls).toHaveLength(1);
    expect(Array.from(windowed)).toEqual(Array.from(whole));
  });

  it('a NaN output is an internal error with a message that carries no numbers', async () => {
    const session = new FakeSession(16, 'BTF', ['feats'], ['embs'], (v) => {
      v[3] = Number.NaN;
      return v;
    });
    const e = await caught(new SpeakerEmbedder(session, baseManifest).embed(oneSecond));
    expect(e.code).toBe('internal');
    expect(e.message).toBe('speaker model "fake" produced a non-finite embedding');
  });

  it('an all-zero output is an internal error', async () => {
    const session = new FakeSession(16, 'BTF', ['feats'], ['embs'], (v) => v.fill(0));
    const e = await caught(new SpeakerEmbedder(session, baseManifest).embed(oneSecond));
    expect(e.code).toBe('internal');
    expect(e.message).toMatch(/all-zero/);
  });

  it('an output of the wrong size is model-invalid, naming the shape', async () => {
    const e = await caught(new SpeakerEmbedder(new FakeSession(12), baseManifest).embed(oneSecond));
    expect(e.code).toBe('model-invalid');
    expect(e.message).toBe('model "fake" returned an output of shape [1, 12], but its manifest says embeddingDim 16');
  });

  it('a hop longer than the window is refused at construction (it would skip speech)', () => {
    const manifest: EmbedderManifest = { ...baseManifest, segmentation: { mode: 'windows', windowSeconds: 1, hopSeconds: 1.5 } };
    expect(() => new SpeakerEmbedder(new FakeSession(16), manifest)).toThrowError(
      'model "fake": segmentation.hopSeconds 1.5 is longer than windowSeconds 1, which would skip speech between windows',
    );
  });

  it('tensor names that the model lacks are refused at construction, listing the real ones', () => {
    expect(() => new SpeakerEmbedder(new FakeSession(16, 'BTF', ['feature'], ['embs']), baseManifest)).toThrowError(
      'model "fake" has inputs [feature], but its manifest names input "feats"',
    );
    expect(() => new SpeakerEmbedder(new FakeSession(16, 'BTF', ['feats'], ['embedding']), baseManifest)).toThrowError(
      'model "fake" has outputs [embedding], but its manifest names output "embs"',
    );
  });
});

describe('embedder helpers', () => {
  it('windowStarts covers every frame with full windows on a hop grid', () => {
    expect(windowStarts(50, 100, 50)).toEqual([0]);
    expect(windowStarts(100, 100, 50)).toEqual([0]);
    expect(windowStarts(250, 100, 50)).toEqual([0, 50, 100, 150]);
    expect(windowStarts(298, 100, 50)).toEqual([0, 50, 100, 150, 198]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), (frames, win, hopFraction) => {
        const hop = Math.max(1, Math.round(hopFraction * win));
        const starts = windowStarts(frames, win, hop);
        if (starts[0] !== 0) return false;
        for (let i = 1; i < starts.length; i++) {
          const [prev, cur] = [starts[i - 1] as number, starts[i] as number];
          if (!(cur > prev && cur <= prev + win)) return false; // increasing, no gap between windows
        }
        const last = starts[starts.length - 1] as number;
        // The last window ends at the end (or, for short input, the one window holds it all).
        return frames >= win ? last + win === frames : starts.length === 1;
      }),
    );
  });

  it('repeatPadFrames tiles rows and leaves long enough input alone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 60 }), (frames, bins, minFrames) => {
        const m: FeatureMatrix = { frames, bins, data: Float32Array.from({ length: frames * bins }, (_, i) => i) };
        const p = repeatPadFrames(m, minFrames);
        expect(p.frames).toBe(Math.max(frames, minFrames));
        expect(p.bins).toBe(bins);
        for (let t = 0; t < p.frames; t++) {
          for (let b = 0; b < bins; b++) expect(p.data[t * bins + b]).toBe(m.data[(t % frames) * bins + b]);
        }
      }),
    );
  });

  it('l2Normalise gives unit length for any finite non-zero vector', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 64 }), (xs) => {
        const v = Float32Array.from(xs);
        if (v.every((x) => Math.abs(x) < 1e-18)) return;
        expect(norm(l2Normalise(v, 'x'))).toBeCloseTo(1, 5);
      }),
    );
    expect(() => l2Normalise(Float32Array.of(1, Number.POSITIVE_INFINITY), 'm')).toThrowError(/non-finite/);
  });
});

describe('SpeakerEmbedder with the real test model', () => {
  let manifest: LoadedManifest;
  let session: InferenceSessionLike;
  let embedder: SpeakerEmbedder;

  beforeAll(async () => {
    manifest = await loadManifest(modelsDir, 'vp-test-tiny');
    session = await createInferenceSession(manifest.modelPath, { intraOpNumThreads: 1 });
    embedder = new SpeakerEmbedder(session, manifest);
  });
  afterAll(async () => {
    await session?.release();
  });

  /** Same formula as reference_signal() in scripts/make-test-model.py. */
  function referenceSignal(): Float32Array {
    const n = Math.round(16000 * 1.5);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / 16000;
      let x = 0.3 * Math.sin(2 * Math.PI * 150 * t) * (1 + 0.5 * Math.sin(2 * Math.PI * 3 * t));
      for (let j = 1; j < 40; j++) x += (0.02 / Math.sqrt(j)) * Math.sin(2 * Math.PI * (50 + 197.3 * j) * t + j);
      out[i] = x;
    }
    return out;
  }

  it('matches PyTorch + torchaudio on the reference signal (whole chain: scale, fbank, CMN, layout, ONNX)', async () => {
    const reference = JSON.parse(await readFile(path.join(here, 'fixtures/vp-test-tiny-reference.json'), 'utf8')) as {
      frames: number;
      embedding: number[];
    };
    const e = await embedder.embed(referenceSignal());
    expect(e).toHaveLength(128);
    expect(reference.embedding).toHaveLength(128);
    let maxDiff = 0;
    let cosine = 0;
    e.forEach((v, d) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - (reference.embedding[d] as number)));
      cosine += v * (reference.embedding[d] as number);
    });
    expect(maxDiff).toBeLessThan(1e-4);
    expect(cosine).toBeGreaterThan(0.99999);
  });

  it('returns a deterministic 128-dim unit vector, also for speech shorter than minFrames', async () => {
    const speech = speechLike({ seconds: 2 });
    const a = await embedder.embed(speech);
    const b = await embedder.embed(speech);
    expect(a).toHaveLength(128);
    expect(norm(a)).toBeCloseTo(1, 5);
    expect(Array.from(b)).toEqual(Array.from(a));
    const short = await embedder.embed(speech.subarray(0, 2000)); // 11 frames → padded to 20
    expect(short).toHaveLength(128);
    expect(norm(short)).toBeCloseTo(1, 5);
  });
});
