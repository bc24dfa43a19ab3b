import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { encodeAlaw, encodeMulaw } from '../../src/audio/g711.js';
import { VoicePassportError, type ErrorCode } from '../../src/errors.js';
import { buildWav, packInts } from './wav-builder.js';

const opts = { maxSeconds: 120 };

function expectCode(f: () => unknown, code: ErrorCode): VoicePassportError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(VoicePassportError);
    expect((e as VoicePassportError).code, (e as Error).message).toBe(code);
    return e as VoicePassportError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('decodeAudio: dispatch by Content-Type', () => {
  it('decodes WAV under every WAV media type', () => {
    const wav = buildWav({ sampleRate: 22050, data: packInts([16384, -16384], 2) });
    for (const ct of ['audio/wav', 'audio/wave', 'audio/x-wav', 'audio/vnd.wave; codec=1']) {
      const a = decodeAudio(wav, ct, opts);
      expect(Array.from(a.samples)).toEqual([0.5, -0.5]);
      expect(a).toMatchObject({ sampleRate: 22050, channels: 1, encoding: 'pcm16', durationSeconds: 2 / 22050 });
    }
  });

  it('decodes audio/basic and audio/PCMU as 8 kHz µ-law', () => {
    const codes = encodeMulaw(Float32Array.of(0.5, -0.25, 0));
    for (const ct of ['audio/basic', 'audio/PCMU']) {
      const a = decodeAudio(codes, ct, opts);
      expect(a).toMatchObject({ sampleRate: 8000, channels: 1, encoding: 'mulaw', durationSeconds: 3 / 8000 });
      expect(a.samples[0]).toBeCloseTo(0.5, 1);
      expect(a.samples[1]).toBeCloseTo(-0.25, 1);
      expect(a.samples[2]).toBe(0);
    }
  });

  it('decodes audio/PCMA as 8 kHz A-law', () => {
    const a = decodeAudio(Uint8Array.of(0xaa, 0xd5, 0x2a), 'audio/PCMA', opts);
    expect(Array.from(a.samples)).toEqual([32256 / 32768, 8 / 32768, -32256 / 32768].map(Math.fround));
    expect(a).toMatchObject({ sampleRate: 8000, encoding: 'alaw' });
    // 0.25 (8192) is a decision level: A-law reconstructs it as the middle of its interval, 8448.
    expect(Array.from(decodeAudio(encodeAlaw(Float32Array.of(0.25)), 'audio/PCMA', opts).samples)).toEqual([8448 / 32768]);
  });

  it('decodes audio/L16 as big-endian (network byte order) 16-bit PCM', () => {
    const a = decodeAudio(Uint8Array.of(0x40, 0x00, 0xc0, 0x00, 0x80, 0x00, 0x00, 0x01), 'audio/L16;rate=16000', opts);
    expect(Array.from(a.samples)).toEqual([0.5, -0.5, -1, 1 / 32768]);
    expect(a).toMatchObject({ sampleRate: 16000, channels: 1, encoding: 'pcm16', durationSeconds: 4 / 16000 });
  });

  it('mixes or picks channels of headerless audio', () => {
    const stereo = packInts([16384, 0, -16384, 8192], 2, false);
    const ct = 'audio/L16; rate=8000; channels=2';
    expect(Array.from(decodeAudio(stereo, ct, opts).samples)).toEqual([0.25, -0.125]);
    expect(Array.from(decodeAudio(stereo, ct, { ...opts, channel: 1 }).samples)).toEqual([0, 0.25]);
    expect(decodeAudio(stereo, ct, opts).channels).toBe(2);
    expectCode(() => decodeAudio(stereo, ct, { ...opts, channel: 2 }), 'validation-failed');
    const mu = decodeAudio(Uint8Array.of(0x80, 0x00), 'audio/PCMU;channels=2', opts);
    expect(Array.from(mu.samples)).toEqual([0]);
  });

  it('decodes long headerless audio across internal blocks', () => {
    const n = 200_000;
    const codes = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff);
    const a = decodeAudio(codes, 'audio/PCMA;rate=16000', opts);
    expect(a.samples.length).toBe(n);
    const reference = decodeAudio(codes.subarray(n - 5), 'audio/PCMA;rate=16000', opts).samples;
    expect(Array.from(a.samples.subarray(n - 5))).toEqual(Array.from(reference));
  });
});

describe('decodeAudio: many channels of headerless audio', () => {
  it('picks a channel exactly across internal blocks, whatever the channel count', () => {
    // 3 channels × 30 000 frames: more than one block of samples. Channel c of frame i holds i + c.
    const channels = 3;
    const frames = 30_000;
    const values = Array.from({ length: frames * channels }, (_, k) => Math.floor(k / channels) + (k % channels));
    const bytes = packInts(values, 2, false);
    for (let c = 0; c < channels; c++) {
      const a = decodeAudio(bytes, `audio/L16;rate=8000;channels=${channels}`, { ...opts, channel: c });
      expect(a.samples.length).toBe(frames);
      for (const i of [0, 21_844, 21_845, 21_846, frames - 1]) expect(a.samples[i]).toBe(Math.fround((i + c) / 32768));
    }
  });
});

describe('decodeAudio: errors', () => {
  it.each(['audio/wav', 'audio/PCMU', 'audio/PCMA', 'audio/L16;rate=16000'])('an empty body under %s → audio-empty', (ct) => {
    expectCode(() => decodeAudio(new Uint8Array(0), ct, opts), 'audio-empty');
  });

  it('an unsupported type → audio-unsupported (415) before looking at the bytes', () => {
    const e = expectCode(() => decodeAudio(new Uint8Array(0), 'audio/ogg', opts), 'audio-unsupported');
    expect(e.status).toBe(415);
  });

  it('an odd number of L16 bytes, or a partial frame → audio-malformed', () => {
    expect(expectCode(() => decodeAudio(new Uint8Array(3), 'audio/L16;rate=8000', opts), 'audio-malformed').details).toEqual({ bytes: 3, frameBytes: 2 });
    expectCode(() => decodeAudio(new Uint8Array(5), 'audio/PCMU;channels=2', opts), 'audio-malformed');
  });

  it('headerless audio longer than the maximum → audio-too-long', () => {
    const e = expectCode(() => decodeAudio(new Uint8Array(8000 * 4), 'audio/PCMU', { maxSeconds: 3 }), 'audio-too-long');
    expect(e.details).toEqual({ durationSeconds: 4, maxSeconds: 3 });
    expect(expectCode(() => decodeAudio(new Uint8Array(32000 * 4), 'audio/L16;rate=16000', { maxSeconds: 3 }), 'audio-too-long').details).toEqual({
      durationSeconds: 4,
      maxSeconds: 3,
    });
  });

  it('a rate outside 8–48 kHz → audio-sample-rate-unsupported', () => {
    expectCode(() => decodeAudio(new Uint8Array(4), 'audio/L16;rate=96000', opts), 'audio-sample-rate-unsupported');
  });

  it('refuses a non-positive maxSeconds as a programming error', () => {
    expectCode(() => decodeAudio(new Uint8Array(4), 'audio/PCMU', { maxSeconds: 0 }), 'internal');
  });
});
