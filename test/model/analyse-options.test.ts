/**
 * The evaluation-only analyse options (`vadFallback`, `maxSpeechSeconds`, `embed`): what the embedder gets
 * and what the analysis reports, with a fake VAD (exact regions) and through the real engine.
 * The service never sets them, so the defaults must stay exactly as before (analyse.test.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import type { MonoAudio } from '../../src/audio/types.js';
import { VoicePassportError } from '../../src/errors.js';
import { analyseAudio, type AnalyseDeps } from '../../src/model/analyse.js';
import { EmbeddingEngine } from '../../src/model/engine.js';
import { NARROWBAND_SPEECH_THRESHOLD } from '../../src/speech/regions.js';
import type { SpeechRegion } from '../../src/speech/vad.js';
import { speechLike } from './speech-like.js';
import { wav } from './wav.js';

class FakeVad {
  constructor(private readonly regions: SpeechRegion[]) {}
  async detect(_audio: MonoAudio): Promise<SpeechRegion[]> {
    return this.regions.map((r) => ({ ...r }));
  }
}

/** Records the speech it got; like the real embedder, refuses less than one 25 ms frame. */
function spyEmbedder(speechContextMs = 0): AnalyseDeps['embedder'] & { speech: Float32Array[] } {
  const speech: Float32Array[] = [];
  return {
    speech,
    manifest: { id: 'fake', sampleRate: 16000, speechContextMs } as AnalyseDeps['embedder']['manifest'],
    async embed(samples: Float32Array) {
      if (samples.length < 400) throw new VoicePassportError('insufficient-speech', 'shorter than one frame', { netSpeechSeconds: samples.length / 16000 });
      speech.push(samples.slice()); // a copy: analyseAudio wipes its arrays once done
      return Float32Array.of(0.6, 0.8);
    },
  };
}

const bytes = wav(speechLike({ seconds: 2 }), 16000);
const decoded = decodeAudio(bytes, 'audio/wav', { maxSeconds: 10 });
const request = { bytes, contentType: 'audio/wav', maxSeconds: 10 };

describe('analyseAudio evaluation options', () => {
  it("vadFallback 'whole' embeds the whole audio when the VAD finds nothing, and says so", async () => {
    const embedder = spyEmbedder();
    const a = await analyseAudio({ ...request, vadFallback: 'whole' }, { vad: new FakeVad([]), embedder });
    expect(embedder.speech).toHaveLength(1);
    expect(embedder.speech[0]).toEqual(decoded.samples);
    expect(a.vadFallbackUsed).toBe(true);
    expect(a.netSpeechSeconds).toBe(0);
    expect(a.durationSeconds).toBe(2);
  });

  it("vadFallback 'whole' also covers speech shorter than one analysis frame", async () => {
    const embedder = spyEmbedder();
    const a = await analyseAudio({ ...request, vadFallback: 'whole' }, { vad: new FakeVad([{ start: 100, end: 200 }]), embedder });
    expect(embedder.speech[0]).toHaveLength(32000);
    expect(a.vadFallbackUsed).toBe(true);
    expect(a.netSpeechSeconds).toBe(100 / 16000);
  });

  it("vadFallback 'reject' (and the default) still throws insufficient-speech", async () => {
    for (const vadFallback of ['reject', undefined] as const) {
      const e = await analyseAudio({ ...request, vadFallback }, { vad: new FakeVad([]), embedder: spyEmbedder() }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VoicePassportError);
      expect((e as VoicePassportError).code).toBe('insufficient-speech');
    }
  });

  it('with speech found, the fallback is unused and the analysis has no vadFallbackUsed key', async () => {
    const a = await analyseAudio({ ...request, vadFallback: 'whole' }, { vad: new FakeVad([{ start: 0, end: 16000 }]), embedder: spyEmbedder() });
    expect('vadFallbackUsed' in a).toBe(false);
    expect(a.netSpeechSeconds).toBe(1);
  });

  it('maxSpeechSeconds embeds only the first seconds of the speech regions and reports min(measured, max)', async () => {
    const embedder = spyEmbedder();
    const regions = [
      { start: 1000, end: 9000 },
      { start: 12000, end: 28000 },
    ]; // 1.5 s of speech
    const a = await analyseAudio({ ...request, maxSpeechSeconds: 1 }, { vad: new FakeVad(regions), embedder });
    const expected = new Float32Array(16000);
    expected.set(decoded.samples.subarray(1000, 9000), 0);
    expected.set(decoded.samples.subarray(12000, 20000), 8000);
    expect(embedder.speech[0]).toEqual(expected);
    expect(a.netSpeechSeconds).toBe(1);

    const longer = await analyseAudio({ ...request, maxSpeechSeconds: 5 }, { vad: new FakeVad(regions), embedder });
    expect(embedder.speech[1]).toHaveLength(24000);
    expect(longer.netSpeechSeconds).toBe(1.5);
  });

  it("the manifest's speechContextMs widens what is embedded, not the net speech reported", async () => {
    const embedder = spyEmbedder(100); // 1600 samples at 16 kHz
    const regions = [
      { start: 1000, end: 9000 },
      { start: 12000, end: 20000 },
      { start: 31000, end: 31600 },
    ];
    const a = await analyseAudio(request, { vad: new FakeVad(regions), embedder });
    // [0, 10600) ∪ [10400, 21600) join; [29400, 33200) is clipped to the 2 s recording.
    const expected = new Float32Array(21600 + 2600);
    expected.set(decoded.samples.subarray(0, 21600), 0);
    expected.set(decoded.samples.subarray(29400, 32000), 21600);
    expect(embedder.speech[0]).toEqual(expected);
    expect(a.netSpeechSeconds).toBe(16600 / 16000);
  });

  it('with speechContextMs, maxSpeechSeconds still counts speech, and no context reaches past the cut', async () => {
    const embedder = spyEmbedder(100);
    const regions = [
      { start: 4000, end: 9000 },
      { start: 14000, end: 28000 },
    ]; // 19 000 samples of speech
    const a = await analyseAudio({ ...request, maxSpeechSeconds: 0.5 }, { vad: new FakeVad(regions), embedder });
    // 8000 samples of speech: [4000, 9000) and [14000, 17000), widened by 1600 except after the cut.
    const expected = new Float32Array(8200 + 4600);
    expected.set(decoded.samples.subarray(4000 - 1600, 9000 + 1600), 0);
    expected.set(decoded.samples.subarray(14000 - 1600, 17000), 8200);
    expect(embedder.speech[0]).toEqual(expected);
    expect(a.netSpeechSeconds).toBe(0.5);
  });

  it("embed 'whole' embeds all of the audio but reports the VAD's net speech; maxSpeechSeconds crops it", async () => {
    const embedder = spyEmbedder();
    const regions = [{ start: 4000, end: 12000 }];
    const a = await analyseAudio({ ...request, embed: 'whole' }, { vad: new FakeVad(regions), embedder });
    expect(embedder.speech[0]).toEqual(decoded.samples);
    expect(a.netSpeechSeconds).toBe(0.5);
    expect('vadFallbackUsed' in a).toBe(false);
    await analyseAudio({ ...request, embed: 'whole', maxSpeechSeconds: 1.25 }, { vad: new FakeVad(regions), embedder });
    expect(embedder.speech[1]).toEqual(decoded.samples.subarray(0, 20000));
    // 'speech' (the default) embeds exactly the regions.
    await analyseAudio({ ...request, embed: 'speech' }, { vad: new FakeVad(regions), embedder });
    expect(embedder.speech[2]).toEqual(decoded.samples.subarray(4000, 12000));
  });
});

describe('EmbeddingEngine passes the evaluation options to its worker', () => {
  const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models');
  let engine: EmbeddingEngine;
  beforeAll(async () => {
    engine = await EmbeddingEngine.start({ modelsDir, modelId: 'vp-test-tiny', workers: 1, maxAudioSeconds: 12 });
  });
  afterAll(async () => {
    await engine?.close();
  });

  // Quiet white noise: Silero finds no speech in it.
  const noise = new Float32Array(16000);
  let seed = 7;
  for (let i = 0; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    noise[i] = ((seed / 2147483648) * 2 - 1) * 0.01;
  }
  const noiseWav = wav(noise, 16000);

  it("noise: insufficient-speech by default, an embedding of the whole second with vadFallback 'whole'", async () => {
    const e = await engine.analyse({ bytes: noiseWav, contentType: 'audio/wav' }).catch((x: unknown) => x);
    expect((e as VoicePassportError).code).toBe('insufficient-speech');
    const a = await engine.analyse({ bytes: noiseWav, contentType: 'audio/wav', vadFallback: 'whole' });
    expect(a.vadFallbackUsed).toBe(true);
    expect(a.netSpeechSeconds).toBe(0);
    expect(a.embedding).toHaveLength(128);
  });

  it('speech: maxSpeechSeconds crops the embedded speech', async () => {
    const speech = wav(speechLike({ seconds: 4 }), 16000);
    const full = await engine.analyse({ bytes: speech, contentType: 'audio/wav' });
    expect(full.netSpeechSeconds).toBeGreaterThan(1.5);
    const cropped = await engine.analyse({ bytes: speech, contentType: 'audio/wav', maxSpeechSeconds: 1 });
    expect(cropped.netSpeechSeconds).toBe(1);
    expect(cropped.vadFallbackUsed).toBeUndefined();
    let same = true;
    for (let i = 0; i < 128; i++) same &&= full.embedding[i] === cropped.embedding[i];
    expect(same).toBe(false);
  });

  it("speech: embed 'whole' reaches the worker (a different embedding from the speech-only one)", async () => {
    const speech = wav(speechLike({ seconds: 4 }), 16000);
    const vad = await engine.analyse({ bytes: speech, contentType: 'audio/wav' });
    const whole = await engine.analyse({ bytes: speech, contentType: 'audio/wav', embed: 'whole' });
    expect(whole.netSpeechSeconds).toBe(vad.netSpeechSeconds);
    expect(vad.netSpeechSeconds).toBeLessThan(4);
    expect(Array.from(whole.embedding)).not.toEqual(Array.from(vad.embedding));
  });

  it('speech: speechContextMs reaches the worker (more audio embedded, the same net speech)', async () => {
    // Speech with a second of silence either side, so there is context to keep.
    const speech = wav(new Float32Array([...new Float32Array(16000), ...speechLike({ seconds: 2 }), ...new Float32Array(16000)]), 16000);
    const tight = await engine.analyse({ bytes: speech, contentType: 'audio/wav' }); // vp-test-tiny: manifest 0
    const wide = await engine.analyse({ bytes: speech, contentType: 'audio/wav', speechContextMs: 300 });
    expect(wide.netSpeechSeconds).toBe(tight.netSpeechSeconds);
    expect(Array.from(wide.embedding)).not.toEqual(Array.from(tight.embedding));
    const zero = await engine.analyse({ bytes: speech, contentType: 'audio/wav', speechContextMs: 0 });
    expect(Array.from(zero.embedding)).toEqual(Array.from(tight.embedding));
  });

  it('speech: vadThreshold reaches the worker (a lower one counts at least as much speech; 0.5 is the default)', async () => {
    const speech = wav(speechLike({ seconds: 4 }), 16000);
    const standard = await engine.analyse({ bytes: speech, contentType: 'audio/wav' });
    const same = await engine.analyse({ bytes: speech, contentType: 'audio/wav', vadThreshold: 0.5 });
    expect(same.netSpeechSeconds).toBe(standard.netSpeechSeconds);
    expect(Array.from(same.embedding)).toEqual(Array.from(standard.embedding));
    const lenient = await engine.analyse({ bytes: speech, contentType: 'audio/wav', vadThreshold: 0.05 });
    const strict = await engine.analyse({ bytes: speech, contentType: 'audio/wav', vadThreshold: 0.95, vadFallback: 'whole' });
    expect(lenient.netSpeechSeconds).toBeGreaterThan(standard.netSpeechSeconds);
    expect(strict.netSpeechSeconds).toBeLessThan(standard.netSpeechSeconds);
  });

  it('speech: 8 kHz audio is judged at the narrowband threshold by default, in the worker as in the VAD', async () => {
    const call = wav(speechLike({ seconds: 4, sampleRate: 8000 }), 8000);
    const standard = await engine.analyse({ bytes: call, contentType: 'audio/wav' });
    const narrowband = await engine.analyse({ bytes: call, contentType: 'audio/wav', vadThreshold: NARROWBAND_SPEECH_THRESHOLD });
    expect(narrowband.netSpeechSeconds).toBe(standard.netSpeechSeconds);
    expect(Array.from(narrowband.embedding)).toEqual(Array.from(standard.embedding));
    const upstream = await engine.analyse({ bytes: call, contentType: 'audio/wav', vadThreshold: 0.5 });
    expect(upstream.netSpeechSeconds).toBeLessThan(standard.netSpeechSeconds);
  });

  it('refuses a non-positive maxSpeechSeconds, an unknown vadFallback or embed, a bad speechContextMs or vadThreshold with validation-failed', async () => {
    for (const bad of [
      { maxSpeechSeconds: 0 },
      { maxSpeechSeconds: Number.NaN },
      { vadFallback: 'maybe' as 'whole' },
      { embed: 'all' as 'whole' },
      { speechContextMs: -1 },
      { speechContextMs: 2.5 },
      { speechContextMs: 1001 },
      { vadThreshold: 0 },
      { vadThreshold: 1.5 },
      { vadThreshold: Number.NaN },
    ]) {
      const e = await engine.analyse({ bytes: noiseWav, contentType: 'audio/wav', ...bad }).catch((x: unknown) => x);
      expect((e as VoicePassportError).code).toBe('validation-failed');
    }
  });
});
