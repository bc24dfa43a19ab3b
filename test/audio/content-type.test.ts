import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ACCEPTED_AUDIO_CONTENT_TYPES, parseAudioContentType } from '../../src/audio/content-type.js';
import { VoicePassportError } from '../../src/errors.js';

function errorOf(f: () => unknown): VoicePassportError {
  try {
    f();
  } catch (e) {
    if (e instanceof VoicePassportError) return e;
    throw e;
  }
  throw new Error('expected a VoicePassportError');
}

describe('parseAudioContentType', () => {
  it.each(['audio/wav', 'audio/wave', 'audio/x-wav', 'audio/vnd.wave', 'AUDIO/WAV', ' audio/vnd.wave; codec=1 ', 'audio/x-wav;charset="x"'])(
    'reads %s as WAV',
    (ct) => expect(parseAudioContentType(ct)).toEqual({ container: 'wav' }),
  );

  it('reads audio/basic and audio/PCMU as 8 kHz mono µ-law', () => {
    const mulaw = { container: 'headerless', encoding: 'mulaw', sampleRate: 8000, channels: 1 };
    expect(parseAudioContentType('audio/basic')).toEqual(mulaw);
    expect(parseAudioContentType('audio/PCMU')).toEqual(mulaw);
    expect(parseAudioContentType('audio/pcmu')).toEqual(mulaw);
  });

  it('reads audio/PCMA as 8 kHz A-law and honours rate and channels', () => {
    expect(parseAudioContentType('audio/PCMA')).toEqual({ container: 'headerless', encoding: 'alaw', sampleRate: 8000, channels: 1 });
    expect(parseAudioContentType('audio/PCMA; Rate=16000; CHANNELS=2')).toEqual({
      container: 'headerless',
      encoding: 'alaw',
      sampleRate: 16000,
      channels: 2,
    });
  });

  it('reads audio/L16 with its rate and channels, parameters case-insensitive and possibly quoted', () => {
    expect(parseAudioContentType('audio/L16;rate=16000')).toEqual({ container: 'headerless', encoding: 'pcm16be', sampleRate: 16000, channels: 1 });
    expect(parseAudioContentType('Audio/l16; RATE="44100"; channels=2')).toEqual({
      container: 'headerless',
      encoding: 'pcm16be',
      sampleRate: 44100,
      channels: 2,
    });
  });

  it('requires the rate of audio/L16 (RFC 2586)', () => {
    const e = errorOf(() => parseAudioContentType('audio/L16'));
    expect(e.code).toBe('audio-unsupported');
    expect(e.message).toContain('rate');
  });

  it.each(['audio/L16;rate=4000', 'audio/L16;rate=96000', 'audio/PCMU;rate=0'])('refuses the rate of %s', (ct) => {
    const e = errorOf(() => parseAudioContentType(ct));
    expect(e.code).toBe('audio-sample-rate-unsupported');
    expect(e.details).toMatchObject({ minSampleRate: 8000, maxSampleRate: 48000 });
  });

  it.each([
    'audio/L16;rate=abc',
    'audio/L16;rate=-16000',
    'audio/L16;rate=16000.5',
    'audio/L16;rate=99999999999999',
    'audio/PCMU;channels=0',
    'audio/PCMU;channels=70000',
    'audio/PCMU;channels=17',
    'audio/PCMU;rate="8000',
  ])('refuses bad parameters in %s with audio-unsupported', (ct) => {
    expect(errorOf(() => parseAudioContentType(ct)).code).toBe('audio-unsupported');
  });

  it.each(['audio/mpeg', 'audio/flac', 'application/octet-stream', 'text/plain', 'wav', '', '   ', '/', 'audio/', 'audio/wav/x'])(
    'refuses %j naming the accepted types',
    (ct) => {
      const e = errorOf(() => parseAudioContentType(ct));
      expect(e.code).toBe('audio-unsupported');
      expect(e.status).toBe(415);
      expect(e.message).toContain('audio/wav');
      expect(e.message).toContain('audio/L16;rate=N');
      expect(e.details?.accepted).toEqual(ACCEPTED_AUDIO_CONTENT_TYPES);
    },
  );

  it('refuses a missing header', () => {
    expect(errorOf(() => parseAudioContentType(undefined)).code).toBe('audio-unsupported');
  });

  it('never throws anything but VoicePassportError on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `audio/L16;${s}`), fc.string().map((s) => `audio/PCMU;rate=${s}`)), (s) => {
        try {
          const plan = parseAudioContentType(s);
          if (plan.container === 'headerless') {
            expect(plan.sampleRate).toBeGreaterThanOrEqual(8000);
            expect(plan.sampleRate).toBeLessThanOrEqual(48000);
            expect(plan.channels).toBeGreaterThanOrEqual(1);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(VoicePassportError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
