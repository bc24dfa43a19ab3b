import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { loopToLength, speechLikeSignal, toWav16 } from '../../scripts/bench/audio.js';

describe('bench audio helpers', () => {
  it('loopToLength trims and loops to the exact length', () => {
    const x = Float32Array.from([1, 2, 3]);
    expect([...loopToLength(x, 2)]).toEqual([1, 2]);
    expect([...loopToLength(x, 7)]).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(() => loopToLength(new Float32Array(0), 4)).toThrow(/empty/);
  });

  it('toWav16 is a 16-bit mono WAV that the service decodes back to the same samples (±1 LSB)', () => {
    const samples = Float32Array.from([0, 0.5, -0.5, 1, -1, 0.25]);
    const wav = toWav16(samples, 16000);
    expect(wav.length).toBe(44 + 2 * samples.length);
    const decoded = decodeAudio(wav, 'audio/wav', { maxSeconds: 10 });
    expect(decoded.sampleRate).toBe(16000);
    expect(decoded.channels).toBe(1);
    expect(decoded.samples.length).toBe(samples.length);
    for (let i = 0; i < samples.length; i++) expect(Math.abs(decoded.samples[i]! - samples[i]!)).toBeLessThanOrEqual(1 / 32767 + 1e-6);
  });

  it('speechLikeSignal is deterministic, 0.5 peak, with a silent pause every fourth syllable', () => {
    const a = speechLikeSignal(16000, 3);
    const b = speechLikeSignal(16000, 3);
    expect(a.length).toBe(48000);
    expect(a).toEqual(b);
    let peak = 0;
    for (const v of a) peak = Math.max(peak, Math.abs(v));
    expect(peak).toBeCloseTo(0.5, 6);
    // Syllables are 0.25 s; syllable 3 (0.75-1.0 s) is a pause, syllable 1 (0.25-0.5 s) is voiced.
    const energy = (from: number, to: number) => a.subarray(Math.round(from * 16000), Math.round(to * 16000)).reduce((s, v) => s + v * v, 0);
    expect(energy(0.76, 0.99)).toBe(0);
    expect(energy(0.26, 0.49)).toBeGreaterThan(0.1); // 'i', the quietest vowel: sum of squares 0.74
  });
});
