import { describe, expect, it } from 'vitest';
import { ALAW_DECODE_TABLE, MULAW_DECODE_TABLE } from '../../src/audio/g711.js';
import { simulateTelephoneChannel, telephoneBandPassTaps } from '../../src/audio/telephone.js';
import { VoicePassportError } from '../../src/errors.js';
import { db, fitTone, rms, tone } from './signal-analysis.js';

const AMPLITUDE = 0.5;
const TONE_RMS = AMPLITUDE / Math.SQRT2;

function throughPhone(frequency: number, sampleRate: number, law: 'mulaw' | 'alaw' = 'mulaw') {
  const out = simulateTelephoneChannel({ sampleRate, samples: tone(frequency, sampleRate, 0.5, AMPLITUDE) }, law);
  const edge = 400; // 50 ms at 8 kHz: away from the filters' start-up
  return { out, edge, fit: fitTone(out.samples, frequency, 8000, edge, out.samples.length - edge) };
}

describe('simulateTelephoneChannel', () => {
  it('produces 8 kHz audio of the resampled length', () => {
    const out = simulateTelephoneChannel({ sampleRate: 44100, samples: new Float32Array(44100) }, 'mulaw');
    expect(out.sampleRate).toBe(8000);
    expect(out.samples.length).toBe(8000);
    expect(simulateTelephoneChannel({ sampleRate: 8000, samples: new Float32Array(123) }, 'alaw').samples.length).toBe(123);
    expect(simulateTelephoneChannel({ sampleRate: 16000, samples: new Float32Array(0) }, 'alaw').samples.length).toBe(0);
  });

  it.each([
    [16000, 'mulaw'],
    [8000, 'alaw'],
    [48000, 'alaw'],
  ] as const)('passes the telephone band (%i Hz input, %s) within ±0.5 dB at the G.711 SNR', (rate, law) => {
    for (const f of [350, 500, 1000, 2000, 3000, 3350]) {
      const { fit } = throughPhone(f, rate, law);
      expect(Math.abs(db(fit.amplitude / AMPLITUDE)), `${f} Hz`).toBeLessThanOrEqual(0.5);
      // G.711 at this level gives ~38 dB SNR (ITU-T G.711 / G.712 require > 33 dB over the band).
      expect(db(fit.residualRms / TONE_RMS), `${f} Hz noise`).toBeLessThanOrEqual(-33);
    }
  });

  it.each([30, 60, 100, 150, 200])('removes %i Hz (below the band) by ≥ 40 dB', (f) => {
    const { out, edge } = throughPhone(f, 16000);
    expect(db(rms(out.samples, edge, out.samples.length - edge) / TONE_RMS)).toBeLessThanOrEqual(-40);
  });

  it.each([3500, 3700, 3900, 5000, 7000])('removes %i Hz (above the band) by ≥ 40 dB, without aliasing', (f) => {
    const { out, edge } = throughPhone(f, 16000);
    expect(db(rms(out.samples, edge, out.samples.length - edge) / TONE_RMS)).toBeLessThanOrEqual(-40);
  });

  it('outputs only values the chosen G.711 law can represent', () => {
    const mu = new Set(MULAW_DECODE_TABLE);
    const a = new Set(ALAW_DECODE_TABLE);
    const x = tone(1234, 16000, 0.2, 0.9);
    const muOut = simulateTelephoneChannel({ sampleRate: 16000, samples: x }, 'mulaw').samples;
    const aOut = simulateTelephoneChannel({ sampleRate: 16000, samples: x }, 'alaw').samples;
    expect(muOut.every((v) => mu.has(v))).toBe(true);
    expect(aOut.every((v) => a.has(v))).toBe(true);
    expect(aOut.some((v) => !mu.has(v))).toBe(true); // the two laws really differ
  });

  it('saturates at full scale instead of wrapping', () => {
    const out = simulateTelephoneChannel({ sampleRate: 8000, samples: tone(1000, 8000, 0.2, 3) }, 'mulaw').samples;
    expect(Math.max(...out)).toBeCloseTo(32124 / 32768, 6);
    expect(Math.min(...out)).toBeCloseTo(-32124 / 32768, 6);
  });

  it('uses a symmetric (linear-phase) band-pass whose DC gain is ≤ −50 dB', () => {
    const taps = telephoneBandPassTaps();
    expect(taps.length % 2).toBe(1);
    for (let i = 0; i < taps.length; i++) expect(taps[i]).toBeCloseTo(taps[taps.length - 1 - i]!, 12);
    expect(db(Math.abs(taps.reduce((s, v) => s + v, 0)))).toBeLessThanOrEqual(-50);
  });

  it('refuses an unknown law', () => {
    expect(() => simulateTelephoneChannel({ sampleRate: 8000, samples: new Float32Array(4) }, 'gsm' as 'alaw')).toThrow(VoicePassportError);
  });
});
