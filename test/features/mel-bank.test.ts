import { describe, expect, it } from 'vitest';
import { buildMelBank, effectiveHighFreq, inverseMelScale, melScale } from '../../src/features/mel-bank.js';

describe('mel scale (Kaldi: 1127 ln(1 + f/700))', () => {
  it('has its known values', () => {
    expect(melScale(0)).toBe(0);
    expect(melScale(700)).toBeCloseTo(1127 * Math.LN2, 10);
    expect(melScale(1000)).toBeCloseTo(1000, -0.5); // ≈ 999.99: the scale is built to be ~1000 at 1 kHz
    expect(melScale(8000)).toBeCloseTo(2840.02, 1);
  });

  it('inverts', () => {
    for (const f of [0, 20, 300, 3400, 7600, 8000, 24000]) expect(inverseMelScale(melScale(f))).toBeCloseTo(f, 8);
  });

  it('high_freq ≤ 0 is an offset from Nyquist', () => {
    expect(effectiveHighFreq(0, 16000)).toBe(8000);
    expect(effectiveHighFreq(-400, 16000)).toBe(7600);
    expect(effectiveHighFreq(-400, 8000)).toBe(3600);
    expect(effectiveHighFreq(7000, 16000)).toBe(7000);
  });
});

/** Dense weight of FFT bin k in mel bin b. */
function weight(bank: ReturnType<typeof buildMelBank>, b: number, k: number): number {
  const s = bank.start[b]!;
  const len = bank.length[b]!;
  return k >= s && k < s + len ? bank.weights[bank.offset[b]! + k - s]! : 0;
}

describe('buildMelBank', () => {
  const sr = 16000;
  const bank = buildMelBank(80, 512, sr, 20, -400);
  const binHz = sr / 512;

  it('has one triangle per bin, weights in (0, 1], peaks in increasing order', () => {
    expect(bank.numBins).toBe(80);
    expect(bank.numFftBins).toBe(257);
    let lastPeak = -1;
    for (let b = 0; b < 80; b++) {
      expect(bank.length[b]!).toBeGreaterThan(0);
      let peak = -1;
      let peakW = 0;
      for (let j = 0; j < bank.length[b]!; j++) {
        const w = bank.weights[bank.offset[b]! + j]!;
        expect(w).toBeGreaterThan(0);
        expect(w).toBeLessThanOrEqual(1);
        if (w > peakW) {
          peakW = w;
          peak = bank.start[b]! + j;
        }
      }
      expect(peak).toBeGreaterThanOrEqual(lastPeak);
      lastPeak = peak;
    }
  });

  it('stays inside [low_freq, high_freq] (20 Hz to Nyquist − 400 Hz)', () => {
    for (let b = 0; b < 80; b++) {
      const lo = bank.start[b]! * binHz;
      const hi = (bank.start[b]! + bank.length[b]! - 1) * binHz;
      expect(lo).toBeGreaterThan(20);
      expect(hi).toBeLessThan(7600);
    }
  });

  it('neighbouring triangles sum to 1 between the first and last centre (mel-linear slopes)', () => {
    const melLow = melScale(20);
    const delta = (melScale(7600) - melLow) / 81;
    const firstCentre = inverseMelScale(melLow + delta);
    const lastCentre = inverseMelScale(melLow + 80 * delta);
    let checked = 0;
    for (let k = 0; k < 256; k++) {
      const f = k * binHz;
      if (f <= firstCentre || f >= lastCentre) continue;
      let sum = 0;
      for (let b = 0; b < 80; b++) sum += weight(bank, b, k);
      expect(sum).toBeCloseTo(1, 4); // float32 construction, as torchaudio
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('gives the Nyquist bin no weight, and empty bins when the FFT is too coarse', () => {
    for (let b = 0; b < 80; b++) expect(bank.start[b]! + bank.length[b]!).toBeLessThanOrEqual(256);
    // 80 bins over a 64-point FFT at 8 kHz: the lowest triangles fall between FFT bins.
    const coarse = buildMelBank(80, 64, 8000, 20, 0);
    expect(Array.from(coarse.length).filter((l) => l === 0).length).toBeGreaterThan(0);
  });
});
