import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { resample } from '../../src/audio/resample.js';
import { torchaudioResample } from '../../src/audio/sinc-resample.js';
import type { MonoAudio } from '../../src/audio/types.js';
import { VoicePassportError } from '../../src/errors.js';
import { analyseAudio, resampleWith, type AnalyseDeps } from '../../src/model/analyse.js';
import { SpeakerEmbedder, type EmbedderManifest } from '../../src/model/embedder.js';
import { torchaudioFbankDefaults } from '../../src/features/options.js';
import { measureQuality } from '../../src/speech/quality.js';
import type { SpeechRegion } from '../../src/speech/vad.js';
import { FakeSession } from './fake-session.js';
import { speechLike } from './speech-like.js';
import { wav } from './wav.js';

/** Stands in for Silero: records what it was asked and returns fixed regions. */
class FakeVad {
  readonly seen: MonoAudio[] = [];
  constructor(private readonly regions: SpeechRegion[]) {}
  async detect(audio: MonoAudio): Promise<SpeechRegion[]> {
    this.seen.push({ ...audio, samples: audio.samples.slice() }); // a copy: analyseAudio wipes its arrays once done
    return this.regions.map((r) => ({ ...r }));
  }
}

/** Stands in for the embedder: records the speech it got and returns a fixed unit vector. */
function spyEmbedder(overrides: Partial<EmbedderManifest> = {}): AnalyseDeps['embedder'] & { speech: Float32Array[] } {
  const speech: Float32Array[] = [];
  return {
    speech,
    manifest: { ...manifest, ...overrides },
    async embed(samples: Float32Array) {
      speech.push(samples.slice());
      return Float32Array.of(0.6, 0.8);
    },
  };
}

const manifest: EmbedderManifest = {
  id: 'fake',
  sampleRate: 16000,
  fbank: { ...torchaudioFbankDefaults, numMelBins: 80, windowType: 'hamming' },
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

/** Bit-identical float arrays (fast; deep-equal on 30 000 numbers is slow). */
function expectSameSamples(actual: Float32Array | undefined, expected: Float32Array): void {
  expect(actual?.length).toBe(expected.length);
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  expect(bytes(actual as Float32Array).equals(bytes(expected))).toBe(true);
}

async function caught(p: Promise<unknown>): Promise<VoicePassportError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VoicePassportError);
  return e as VoicePassportError;
}

describe('analyseAudio', () => {
  it('44.1 kHz input: VAD and model both get the 16 kHz resampling, quality is measured on the input', async () => {
    const bytes = wav(speechLike({ seconds: 2, sampleRate: 44100 }), 44100);
    const decoded = decodeAudio(bytes, 'audio/wav', { maxSeconds: 10 });
    const at16k = resample(decoded.samples, 44100, 16000);
    const vad = new FakeVad([{ start: 1600, end: 17600 }]);
    const embedder = spyEmbedder();
    const a = await analyseAudio({ bytes, contentType: 'audio/wav', maxSeconds: 10 }, { vad, embedder });

    expect(vad.seen).toHaveLength(1);
    expect(vad.seen[0]?.sampleRate).toBe(16000);
    expectSameSamples(vad.seen[0]?.samples, at16k);
    expectSameSamples(embedder.speech[0], at16k.subarray(1600, 17600));
    // [1600, 17600) at 16 kHz is [4410, 48510) at 44.1 kHz: exactly one second.
    const quality = measureQuality(decoded, [{ start: 4410, end: 48510 }]);
    expect(quality.netSpeechSeconds).toBeCloseTo(1, 9);
    expect(a).toEqual({
      embedding: Float32Array.of(0.6, 0.8),
      modelId: 'fake',
      netSpeechSeconds: quality.netSpeechSeconds,
      snrDb: quality.snrDb,
      clippedRatio: quality.clippedRatio,
      durationSeconds: quality.durationSeconds,
      sampleRate: 44100,
    });
  });

  it('8 kHz input: the VAD runs on the input at 8 kHz, the model gets the 16 kHz upsampling', async () => {
    const bytes = wav(speechLike({ seconds: 2, sampleRate: 8000 }), 8000);
    const decoded = decodeAudio(bytes, 'audio/wav', { maxSeconds: 10 });
    const vad = new FakeVad([{ start: 800, end: 8800 }]);
    const embedder = spyEmbedder();
    const a = await analyseAudio({ bytes, contentType: 'audio/wav', maxSeconds: 10 }, { vad, embedder });
    expect(vad.seen[0]?.sampleRate).toBe(8000);
    expectSameSamples(vad.seen[0]?.samples, decoded.samples);
    const at16k = resample(decoded.samples, 8000, 16000);
    expectSameSamples(embedder.speech[0], at16k.subarray(1600, 17600));
    expect(a.sampleRate).toBe(8000);
    expect(a.netSpeechSeconds).toBeCloseTo(1, 9);
    expect(a.durationSeconds).toBeCloseTo(2, 9);
  });

  it("a manifest with resampler 'torchaudio': the model hears torchaudio's resampling, the VAD still the service's", async () => {
    for (const rate of [8000, 44100]) {
      const bytes = wav(speechLike({ seconds: 2, sampleRate: rate }), rate);
      const decoded = decodeAudio(bytes, 'audio/wav', { maxSeconds: 10 });
      // One second of speech, in samples at the VAD's rate (8 kHz input is judged at 8 kHz).
      const vad = new FakeVad([{ start: 0, end: rate <= 8000 ? 8000 : 16000 }]);
      const embedder = spyEmbedder({ resampler: 'torchaudio' });
      await analyseAudio({ bytes, contentType: 'audio/wav', maxSeconds: 10 }, { vad, embedder });
      expectSameSamples(embedder.speech[0], torchaudioResample(decoded.samples, rate, 16000).subarray(0, 16000));
      // 44.1 kHz: the VAD gets the service's own 16 kHz resampling, not the model's input.
      if (rate === 44100) expectSameSamples(vad.seen[0]?.samples, resample(decoded.samples, 44100, 16000));
    }
  });

  it('resampleWith: the named resampler; the same rate untouched; a rate pair torchaudio cannot bank falls back to the service\'s', () => {
    const x = speechLike({ seconds: 0.5, sampleRate: 8000 });
    expectSameSamples(resampleWith(x, 8000, 16000, 'torchaudio'), torchaudioResample(x, 8000, 16000));
    expectSameSamples(resampleWith(x, 8000, 16000, 'kaiser'), resample(x, 8000, 16000));
    expect(resampleWith(x, 16000, 16000, 'torchaudio')).toBe(x);
    expectSameSamples(resampleWith(x, 44101, 16000, 'torchaudio'), resample(x, 44101, 16000));
  });

  it('no speech regions → insufficient-speech with the quality figures and the audio\'s rate, and no inference', async () => {
    for (const rate of [16000, 8000]) {
      const embedder = spyEmbedder();
      const e = await caught(
        analyseAudio(
          { bytes: wav(speechLike({ seconds: 2, sampleRate: rate }), rate), contentType: 'audio/wav', maxSeconds: 10 },
          { vad: new FakeVad([]), embedder },
        ),
      );
      expect(e.code).toBe('insufficient-speech');
      expect(e.message).toBe('No speech was found in the audio; send a recording of the person speaking');
      // The rate decides the scoring channel of an "inconclusive" answer (src/passport/verification.ts).
      expect(e.details).toMatchObject({ netSpeechSeconds: 0, durationSeconds: 2, clippedRatio: 0, sampleRate: rate });
      expect(e.details).toHaveProperty('snrDb');
      expect(embedder.speech).toHaveLength(0);
    }
  });

  it('speech shorter than one frame → insufficient-speech carrying the quality figures', async () => {
    const e = await caught(
      analyseAudio(
        { bytes: wav(speechLike({ seconds: 2 }), 16000), contentType: 'audio/wav', maxSeconds: 10 },
        { vad: new FakeVad([{ start: 8000, end: 8100 }]), embedder: new SpeakerEmbedder(new FakeSession(16), manifest) },
      ),
    );
    expect(e.code).toBe('insufficient-speech');
    expect(e.details).toMatchObject({ netSpeechSeconds: 100 / 16000, durationSeconds: 2, clippedRatio: 0, sampleRate: 16000 });
  });

  it('wipes the audio it decoded and resampled once analysed, decided or refused; the caller\'s bytes stay the caller\'s', async () => {
    /** Keeps the very arrays it was given (not copies), to look at them afterwards. */
    const given: Float32Array[] = [];
    const keeping: AnalyseDeps = {
      vad: { detect: async (audio: MonoAudio) => (given.push(audio.samples), [{ start: 800, end: 8800 }]) },
      embedder: { manifest, embed: async (samples: Float32Array) => (given.push(samples), Float32Array.of(0.6, 0.8)) },
    };
    // 8 kHz: the VAD hears the decoded input, the model its 16 kHz resampling, cut to the speech.
    const bytes = wav(speechLike({ seconds: 2, sampleRate: 8000 }), 8000);
    const before = Buffer.from(bytes);
    await analyseAudio({ bytes, contentType: 'audio/wav', maxSeconds: 10 }, keeping);
    expect(given).toHaveLength(2);
    for (const samples of given) {
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.every((x) => x === 0)).toBe(true);
    }
    expect(Buffer.from(bytes).equals(before)).toBe(true);

    // Refused for too little speech: wiped all the same.
    given.length = 0;
    const refusing: AnalyseDeps = {
      vad: keeping.vad,
      embedder: { manifest, embed: async (samples: Float32Array) => (given.push(samples), Promise.reject(new VoicePassportError('insufficient-speech', 'too short'))) },
    };
    expect((await caught(analyseAudio({ bytes, contentType: 'audio/wav', maxSeconds: 10 }, refusing))).code).toBe('insufficient-speech');
    expect(given).toHaveLength(2);
    for (const samples of given) expect(samples.every((x) => x === 0)).toBe(true);
  });

  it('decoder errors pass through unchanged', async () => {
    const e = await caught(
      analyseAudio({ bytes: new Uint8Array(0), contentType: 'audio/wav', maxSeconds: 10 }, { vad: new FakeVad([]), embedder: spyEmbedder() }),
    );
    expect(e.code).toBe('audio-empty');
  });
});
