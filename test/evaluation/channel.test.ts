import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { simulateTelephoneChannel } from '../../src/audio/telephone.js';
import { channelInput, concatenate } from '../../src/evaluation/channel.js';
import { speechLike } from '../model/speech-like.js';

const audio = { sampleRate: 16000, samples: speechLike({ seconds: 1 }) };

describe('evaluation channel input', () => {
  it('wideband: a float WAV that decodes to the same samples at the same rate', () => {
    const input = channelInput(audio, 'wideband', 'mulaw');
    expect(input.contentType).toBe('audio/wav');
    const back = decodeAudio(input.bytes, input.contentType, { maxSeconds: 5 });
    expect(back.sampleRate).toBe(16000);
    expect(back.samples).toEqual(audio.samples);
  });

  for (const [law, type] of [
    ['mulaw', 'audio/PCMU'],
    ['alaw', 'audio/PCMA'],
  ] as const) {
    it(`telephone ${law}: ${type} bytes at 8 kHz that decode to exactly the simulated call`, () => {
      const input = channelInput(audio, 'telephone', law);
      expect(input.contentType).toBe(type);
      expect(input.bytes).toHaveLength(8000);
      const back = decodeAudio(input.bytes, input.contentType, { maxSeconds: 5 });
      expect(back.sampleRate).toBe(8000);
      expect(back.samples).toEqual(simulateTelephoneChannel(audio, law).samples);
    });
  }

  it('concatenate joins at the first rate, resampling the others', () => {
    const a = { sampleRate: 8000, samples: Float32Array.of(1, 2) };
    const b = { sampleRate: 8000, samples: Float32Array.of(3) };
    expect(concatenate([a, b])).toEqual({ sampleRate: 8000, samples: Float32Array.of(1, 2, 3) });
    const c = concatenate([a, { sampleRate: 16000, samples: new Float32Array(1600) }]);
    expect(c.samples).toHaveLength(2 + 800);
    expect(() => concatenate([])).toThrow(RangeError);
  });
});
