import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activeSpeechLevel, addNoise, MIXTURE_PEAK, noiseFor, type NoiseSource } from '../../src/evaluation/noise.js';
import type { MonoAudio } from '../../src/audio/types.js';
import { RealFft } from '../../src/features/fft.js';

const SR = 16_000;
const db = (power: number) => 10 * Math.log10(power);
const meanSquare = (x: Float32Array) => x.reduce((s, v) => s + v * v, 0) / x.length;

/** `seconds` of a 200 Hz tone at `amplitude`, then `silence` seconds of digital silence. */
function tone(amplitude: number, seconds: number, silence = 0, rate = SR): MonoAudio {
  const on = Math.round(seconds * rate);
  const samples = new Float32Array(on + Math.round(silence * rate));
  for (let i = 0; i < on; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * 200 * i) / rate);
  return { sampleRate: rate, samples };
}

/** Mean power in dB of `x` in the band [lo, hi) Hz: periodogram bins of 1024-sample frames, summed. */
function bandPowerDb(x: Float32Array, rate: number, lo: number, hi: number): number {
  const n = 1024;
  const fft = new RealFft(n);
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  let total = 0;
  let frames = 0;
  for (let start = 0; start + n <= x.length; start += n, frames++) {
    fft.forward(Float64Array.from(x.subarray(start, start + n)), re, im);
    for (let k = Math.ceil((lo * n) / rate); k < (hi * n) / rate; k++) total += re[k]! ** 2 + im[k]! ** 2;
  }
  return db(total / frames);
}

describe('activeSpeechLevel (ITU-T P.56 method B)', () => {
  it('is the mean power of a continuous signal, all of it active', () => {
    const level = activeSpeechLevel(tone(0.5, 2).samples, SR)!;
    // A sine's power is A²/2 (−9.03 dB); the envelope's first milliseconds are not yet active.
    expect(Math.abs(level.levelDb - db(0.125))).toBeLessThan(0.1);
    expect(level.activity).toBeGreaterThan(0.97);
  });

  it('ignores silence around the speech, where the plain mean power falls with it', () => {
    const padded = tone(0.5, 2, 6);
    const level = activeSpeechLevel(padded.samples, SR)!;
    expect(db(meanSquare(padded.samples))).toBeCloseTo(db(0.125) - 6.02, 1); // diluted 4×
    // Only the hangover (0.2 s) and the envelope's decay are counted beyond the tone's 2 s.
    expect(level.levelDb).toBeGreaterThan(db(0.125) - 0.6);
    expect(level.levelDb).toBeLessThanOrEqual(db(0.125) + 1e-9);
    expect(level.activity).toBeGreaterThan(0.25);
    expect(level.activity).toBeLessThan(0.32);
  });

  it('follows the gain: 20 dB quieter reads 20 dB lower, at any rate', () => {
    fc.assert(
      fc.property(fc.constantFrom(8000, 16_000, 44_100), fc.double({ min: -40, max: 0, noNaN: true }), (rate, gainDb) => {
        const loud = activeSpeechLevel(tone(0.5, 1, 0.5, rate).samples, rate)!;
        const quiet = activeSpeechLevel(tone(0.5 * 10 ** (gainDb / 20), 1, 0.5, rate).samples, rate)!;
        expect(quiet.levelDb - loud.levelDb).toBeCloseTo(gainDb, 1);
      }),
      { numRuns: 20 },
    );
  });

  it('is null for digital silence', () => {
    expect(activeSpeechLevel(new Float32Array(8000), SR)).toBeNull();
    expect(activeSpeechLevel(new Float32Array(0), SR)).toBeNull();
  });
});

describe('noiseFor', () => {
  const clean = tone(0.3, 1);

  it('white noise is flat; pink noise falls by about 3 dB an octave', () => {
    const white = noiseFor({ kind: 'white' }, clean, SR * 20);
    const pink = noiseFor({ kind: 'pink' }, clean, SR * 20);
    const whiteSlope = bandPowerDb(white, SR, 2000, 4000) - bandPowerDb(white, SR, 1000, 2000);
    const pinkSlope = bandPowerDb(pink, SR, 2000, 4000) - bandPowerDb(pink, SR, 1000, 2000);
    // Band power: white doubles with the band's width (+3 dB an octave up); pink keeps it.
    expect(Math.abs(whiteSlope - 3.01)).toBeLessThan(0.2);
    expect(Math.abs(pinkSlope)).toBeLessThan(1);
  });

  it('is seeded by the clean recording: the same one gets the same noise, another one other noise', () => {
    const other = tone(0.3001, 1);
    for (const source of [{ kind: 'white' }, { kind: 'pink' }] as const) {
      expect(noiseFor(source, clean, 1000)).toEqual(noiseFor(source, { ...clean, samples: clean.samples.slice() }, 1000));
      expect(noiseFor(source, clean, 1000)).not.toEqual(noiseFor(source, other, 1000));
    }
  });

  it('loops a noise recording from a seeded offset', () => {
    const file: NoiseSource = { kind: 'file', name: 'ramp', audio: { sampleRate: SR, samples: Float32Array.from({ length: 100 }, (_, i) => i) } };
    const out = noiseFor(file, clean, 250);
    const start = out[0]!;
    expect(Array.from(out)).toEqual(Array.from({ length: 250 }, (_, i) => (start + i) % 100));
    expect(noiseFor(file, clean, 250)).toEqual(out);
    expect(() => noiseFor(file, tone(0.3, 1, 0, 8000), 10)).toThrow(/16000 Hz for audio at 8000 Hz/);
  });
});

describe('addNoise', () => {
  it('puts the noise the asked number of dB under the active speech level', () => {
    fc.assert(
      fc.property(fc.constantFrom<NoiseSource['kind']>('white', 'pink'), fc.integer({ min: -5, max: 40 }), fc.double({ min: 0.01, max: 0.3, noNaN: true }), (kind, snrDb, amplitude) => {
        const clean = tone(amplitude, 1, 1);
        const noisy = addNoise(clean, { kind } as NoiseSource, snrDb);
        const noise = noisy.audio.samples.map((v, i) => v / noisy.gain - clean.samples[i]!);
        expect(noisy.speechLevelDb).toBeCloseTo(activeSpeechLevel(clean.samples, SR)!.levelDb, 9);
        expect(noisy.speechLevelDb! - db(meanSquare(noise))).toBeCloseTo(snrDb, 2);
      }),
      { numRuns: 30 },
    );
  });

  it('scales a mixture that would clip down to MIXTURE_PEAK as a whole, keeping the SNR', () => {
    const clean = tone(0.95, 1);
    const noisy = addNoise(clean, { kind: 'white' }, 0);
    expect(noisy.gain).toBeLessThan(1);
    const peak = noisy.audio.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeCloseTo(MIXTURE_PEAK, 6);
    const noise = noisy.audio.samples.map((v, i) => v / noisy.gain - clean.samples[i]!);
    expect(noisy.speechLevelDb! - db(meanSquare(noise))).toBeCloseTo(0, 2);
  });

  it('leaves digital silence as it is (no speech level to set the noise by)', () => {
    const silent = { sampleRate: SR, samples: new Float32Array(800) };
    expect(addNoise(silent, { kind: 'pink' }, 10)).toEqual({ audio: silent, speechLevelDb: null, gain: 1 });
  });
});
