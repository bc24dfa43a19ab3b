/**
 * Test doubles for the use cases: generated "speech", a fake embedder and consent notices in memory.
 *
 * A "speaker" is a tone frequency. The fake embedder really decodes the request (src/audio/decode.ts,
 * so malformed audio fails as in production), counts 20 ms frames above an RMS floor as speech, and
 * turns the tone's frequency (from zero crossings) into a unit vector: 200 Hz and 220 Hz score ~0.99,
 * 200 Hz and 400 Hz score 0. Quality figures can be overridden per call to simulate noisy audio.
 */
import { createHash } from 'node:crypto';
import { decodeAudio } from '../../src/audio/decode.js';
import { encodeMulaw } from '../../src/audio/g711.js';
import { VoicePassportError } from '../../src/errors.js';
import { ConsentNotices, type NoticeRetention } from '../../src/passport/consent-notices.js';
import type { AudioAnalysis, AudioInput, Embedder } from '../../src/passport/embedder.js';

export const fakeModelId = 'fake-model';

/** 16-bit PCM mono WAV: `seconds` of a tone (amplitude ±`amplitude`), then `silenceSeconds` of silence. */
export function toneWav(opts: { freq: number; seconds: number; silenceSeconds?: number; sampleRate?: number; amplitude?: number }): Uint8Array {
  const rate = opts.sampleRate ?? 16000;
  const tone = Math.round(opts.seconds * rate);
  const n = tone + Math.round((opts.silenceSeconds ?? 0) * rate);
  const amplitude = opts.amplitude ?? 0.3;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < tone; i++) {
    buf.writeInt16LE(Math.round(Math.sin((2 * Math.PI * opts.freq * i) / rate) * amplitude * 32767), 44 + i * 2);
  }
  return new Uint8Array(buf);
}

/** `seconds` of a tone as headerless G.711 µ-law at 8 kHz (a phone line's bytes); freq 0 = silence. */
export function mulawTone(freq: number, seconds: number): Buffer {
  const n = Math.round(seconds * 8000);
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = freq === 0 ? 0 : 0.3 * Math.sin((2 * Math.PI * freq * i) / 8000);
  return Buffer.from(encodeMulaw(samples));
}

/** The fake's embedding of a tone: a unit vector whose angle follows the frequency. */
export function toneEmbedding(freq: number, dim = 16): Float32Array {
  const theta = ((freq - 200) / 200) * (Math.PI / 2);
  const v = new Float32Array(dim);
  v[0] = Math.cos(theta);
  v[1] = Math.sin(theta);
  return v;
}

export class FakeEmbedder implements Embedder {
  modelId = fakeModelId;
  calls = 0;
  /** Merged into the next results, one per call (e.g. `{ snrDb: 0 }` for noisy audio). */
  readonly overrides: Partial<AudioAnalysis>[] = [];
  /** Thrown by the next call instead of analysing (e.g. overloaded). */
  nextError: VoicePassportError | undefined;

  async analyse(req: AudioInput): Promise<AudioAnalysis> {
    this.calls++;
    if (this.nextError) {
      const e = this.nextError;
      this.nextError = undefined;
      throw e;
    }
    const audio = decodeAudio(req.bytes, req.contentType, { maxSeconds: 120 });
    const frame = Math.max(1, Math.round(audio.sampleRate * 0.02));
    let speechFrames = 0;
    let crossings = 0;
    let clipped = 0;
    for (let start = 0; start + frame <= audio.samples.length; start += frame) {
      let energy = 0;
      for (let i = start; i < start + frame; i++) energy += audio.samples[i]! ** 2;
      if (Math.sqrt(energy / frame) < 0.01) continue;
      speechFrames++;
      for (let i = Math.max(1, start); i < start + frame; i++) if (audio.samples[i - 1]! < 0 !== audio.samples[i]! < 0) crossings++;
    }
    for (const s of audio.samples) if (Math.abs(s) >= 0.999) clipped++;
    const netSpeechSeconds = (speechFrames * frame) / audio.sampleRate;
    const quality = {
      netSpeechSeconds,
      snrDb: 30,
      clippedRatio: audio.samples.length === 0 ? 0 : clipped / audio.samples.length,
      durationSeconds: audio.samples.length / audio.sampleRate,
      ...this.overrides.shift(),
    };
    if (quality.netSpeechSeconds === 0) {
      throw new VoicePassportError('insufficient-speech', 'No speech was found in the audio', { ...quality, netSpeechSeconds: 0, sampleRate: audio.sampleRate });
    }
    const freq = crossings / 2 / netSpeechSeconds;
    return { embedding: toneEmbedding(freq), modelId: this.modelId, sampleRate: audio.sampleRate, ...quality };
  }
}

/**
 * Consent notices held in memory: one English text per version, with the periods each states
 * (days; null: none). The first version is current unless `current` says otherwise.
 */
/** `inner`, held at each analysis until `release()`; `started` settles when the first analysis begins. */
export function gatedEmbedder(inner: Embedder): { embedder: Embedder; started: Promise<void>; release: () => void } {
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const startedP = new Promise<void>((r) => (started = r));
  const embedder: Embedder = {
    modelId: inner.modelId,
    analyse: async (req) => {
      started();
      await gate;
      return inner.analyse(req);
    },
  };
  return { embedder, started: startedP, release };
}

export function noticesStating(retention: Record<string, Partial<NoticeRetention>>, current = Object.keys(retention)[0]!): ConsentNotices {
  const versions = Object.keys(retention);
  return ConsentNotices.fromList(
    versions.map((version) => ({ version, locale: 'en', text: `notice ${version}`, sha256: createHash('sha256').update(`notice ${version}`).digest('hex') })),
    { current, retention: new Map(versions.map((v) => [v, { voiceprintUnusedDays: null, verificationHistoryDays: null, consentRecordDays: null, ...retention[v] }])) },
  );
}
