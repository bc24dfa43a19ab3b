import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import { computeFbank, fbankGeometry, FLOAT32_EPSILON } from '../../src/features/fbank.js';
import { type FbankOptions, torchaudioFbankDefaults } from '../../src/features/options.js';
import { repoRoot } from './fbank-fixtures.js';
import { int16ToUnit, syntheticInt16 } from './synthetic-signal.js';

const wespeaker: FbankOptions = { ...torchaudioFbankDefaults, numMelBins: 80, windowType: 'hamming' };
const sherpa: FbankOptions = { ...torchaudioFbankDefaults, numMelBins: 80, snipEdges: false, highFreq: -400 };
const LOG_EPS = Math.fround(Math.log(FLOAT32_EPSILON));

function sine(hz: number, sr: number, n: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / sr));
}

function expectError(fn: () => unknown, code: string, messagePart: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VoicePassportError);
    expect((e as VoicePassportError).code).toBe(code);
    expect((e as VoicePassportError).message).toContain(messagePart);
    return;
  }
  throw new Error('expected an error');
}

describe('fbankGeometry', () => {
  it('derives window, shift and FFT size as torchaudio does', () => {
    expect(fbankGeometry(16000, wespeaker)).toEqual({ windowSize: 400, windowShift: 160, paddedWindowSize: 512 });
    expect(fbankGeometry(8000, wespeaker)).toEqual({ windowSize: 200, windowShift: 80, paddedWindowSize: 256 });
    expect(fbankGeometry(22050, torchaudioFbankDefaults)).toEqual({ windowSize: 551, windowShift: 220, paddedWindowSize: 1024 });
    expect(fbankGeometry(16000, { ...wespeaker, roundToPowerOfTwo: false }).paddedWindowSize).toBe(400);
  });
});

describe('computeFbank shapes and edge cases', () => {
  it('gives 0 frames, never NaN, for empty input and input shorter than one frame', () => {
    for (const opts of [wespeaker, sherpa]) {
      for (const n of [0, 1, 399]) {
        const m = computeFbank(new Float32Array(n), 16000, opts, 'int16');
        expect(m).toEqual({ frames: 0, bins: 80, data: new Float32Array(0) });
      }
    }
  });

  it('counts frames with and without snip_edges at the edge lengths', () => {
    expect(computeFbank(new Float32Array(400), 16000, wespeaker, 'int16').frames).toBe(1);
    expect(computeFbank(new Float32Array(559), 16000, wespeaker, 'int16').frames).toBe(1);
    expect(computeFbank(new Float32Array(560), 16000, wespeaker, 'int16').frames).toBe(2);
    expect(computeFbank(new Float32Array(400), 16000, sherpa, 'unit').frames).toBe(3);
    expect(computeFbank(new Float32Array(48000), 16000, wespeaker, 'int16').frames).toBe(298);
    expect(computeFbank(new Float32Array(48000), 16000, sherpa, 'unit').frames).toBe(300);
    expect(computeFbank(new Float32Array(24000), 8000, sherpa, 'unit').frames).toBe(300);
  });

  it('maps digital silence to the log floor ln(FLT_EPSILON) exactly', () => {
    const m = computeFbank(new Float32Array(1600), 16000, wespeaker, 'int16');
    expect(m.frames).toBe(8);
    for (const v of m.data) expect(v).toBe(LOG_EPS);
  });

  it('puts log energy first with use_energy, floored at ln(energy_floor)', () => {
    const silent = computeFbank(new Float32Array(800), 16000, { ...wespeaker, useEnergy: true }, 'int16');
    expect(silent.bins).toBe(81);
    expect(silent.data[0]).toBe(0); // max(ln ε, ln 1)
    const noFloor = computeFbank(new Float32Array(800), 16000, { ...wespeaker, useEnergy: true, energyFloor: 0 }, 'int16');
    expect(noFloor.data[0]).toBe(LOG_EPS);

    // Raw energy = Σ (x − mean)² over the frame, before pre-emphasis and window.
    const x = int16ToUnit(syntheticInt16(16000, 0.1, 3));
    const m = computeFbank(x, 16000, { ...wespeaker, useEnergy: true }, 'int16');
    let mean = 0;
    for (let k = 0; k < 400; k++) mean += x[k]! * 32768;
    mean /= 400;
    let sq = 0;
    for (let k = 0; k < 400; k++) sq += (x[k]! * 32768 - mean) ** 2;
    expect(m.data[0]).toBeCloseTo(Math.log(sq), 5);
    // The mel columns are unchanged by adding the energy column.
    const plain = computeFbank(x, 16000, wespeaker, 'int16');
    for (let b = 0; b < 80; b++) expect(m.data[1 + b]).toBe(plain.data[b]);
  });

  it('peaks in the mel bin whose centre is nearest a pure tone', () => {
    const m = computeFbank(sine(1000, 16000, 4000), 16000, wespeaker, 'int16');
    // Centres: inverse mel of melLow + (b+1)·delta; find the one nearest 1 kHz.
    const melLow = 1127 * Math.log(1 + 20 / 700);
    const delta = (1127 * Math.log(1 + 8000 / 700) - melLow) / 81;
    let nearest = 0;
    for (let b = 0; b < 80; b++) {
      const c = 700 * (Math.exp((melLow + (b + 1) * delta) / 1127) - 1);
      const best = 700 * (Math.exp((melLow + (nearest + 1) * delta) / 1127) - 1);
      if (Math.abs(c - 1000) < Math.abs(best - 1000)) nearest = b;
    }
    for (let t = 0; t < m.frames; t++) {
      const row = Array.from(m.data.subarray(t * 80, t * 80 + 80));
      expect(row.indexOf(Math.max(...row))).toBe(nearest);
    }
  });

  it('int16 scale adds exactly 2·ln 32768 to every log-mel value above the floor', () => {
    const x = int16ToUnit(syntheticInt16(16000, 0.2, 9)).map((v) => v + 0.01); // no silent stretches at this length
    const a = computeFbank(x, 16000, wespeaker, 'int16');
    const b = computeFbank(x, 16000, wespeaker, 'unit');
    const shift = 2 * Math.log(32768);
    let checked = 0;
    for (let i = 0; i < a.data.length; i++) {
      if (b.data[i]! < LOG_EPS + 2) continue;
      expect(a.data[i]! - b.data[i]!).toBeCloseTo(shift, 4);
      checked++;
    }
    expect(checked).toBeGreaterThan(a.data.length * 0.9);
  });

  it('is deterministic across calls and plan-cache changes, and leaves its input untouched', () => {
    const x = int16ToUnit(syntheticInt16(8000, 0.3, 5));
    const copy = Float32Array.from(x);
    const first = computeFbank(x, 8000, sherpa, 'unit');
    computeFbank(x, 16000, wespeaker, 'int16');
    computeFbank(x, 8000, { ...sherpa, numMelBins: 40 }, 'unit');
    const again = computeFbank(x, 8000, { ...sherpa }, 'unit');
    expect(again).toEqual(first);
    expect(x).toEqual(copy);
  });

  it('returns linear mel energies with use_log_fbank false, magnitudes with use_power false', () => {
    const x = sine(440, 16000, 1600);
    const log = computeFbank(x, 16000, wespeaker, 'unit');
    const lin = computeFbank(x, 16000, { ...wespeaker, useLogFbank: false }, 'unit');
    for (let i = 0; i < log.data.length; i++) {
      expect(Math.log(Math.max(lin.data[i]!, FLOAT32_EPSILON))).toBeCloseTo(log.data[i]!, 4);
    }
    const mag = computeFbank(x, 16000, { ...wespeaker, usePower: false }, 'unit');
    // A tone's bin is dominated by one FFT bin, so log |X| ≈ ½ log |X|² there.
    const row = Array.from(log.data.subarray(0, 80));
    const peak = row.indexOf(Math.max(...row));
    expect(mag.data[peak]!).toBeCloseTo(log.data[peak]! / 2, 0);
  });
});

describe('computeFbank with dither (seeded by the audio: dither.ts)', () => {
  const dithered: FbankOptions = { ...wespeaker, dither: 1 };
  const meanOverFrames = (m: { frames: number; bins: number; data: Float32Array }): number[] => {
    const mean = new Array<number>(m.bins).fill(0);
    for (let t = 0; t < m.frames; t++) for (let b = 0; b < m.bins; b++) mean[b]! += m.data[t * m.bins + b]! / m.frames;
    return mean;
  };

  it('lifts digital silence from the log floor to the noise floor a dithered model was trained on', () => {
    const silence = new Float32Array(16000);
    expect(new Set(computeFbank(silence, 16000, wespeaker, 'int16').data)).toEqual(new Set([LOG_EPS]));
    const m = computeFbank(silence, 16000, dithered, 'int16');
    expect(m.frames).toBe(98);
    for (const v of m.data) expect(v).toBeGreaterThan(LOG_EPS + 5);
    // White noise of sd 1 (int16 units): its mel energies grow as the variance, so dither 4 sits
    // ln 16 = 2.77 above dither 1 in every bin, up to sampling noise.
    const m4 = computeFbank(new Float32Array(16000 * 5), 16000, { ...wespeaker, dither: 4 }, 'int16');
    const m1 = computeFbank(new Float32Array(16000 * 5), 16000, dithered, 'int16');
    const gap = meanOverFrames(m4).map((v, b) => v - meanOverFrames(m1)[b]!);
    expect(gap.reduce((a, b) => a + b, 0) / gap.length).toBeCloseTo(Math.log(16), 1);
    for (const g of gap) expect(Math.abs(g - Math.log(16))).toBeLessThan(0.3);
  });

  it('matches torchaudio’s dither in distribution: per-bin mean and spread of the log-mel of silence', () => {
    // fixtures/fbank-dither: torchaudio's statistics (scripts/reference/fbank_reference.py). The
    // noise itself cannot match value for value (torch.randn), so the means must agree within 4
    // standard errors of a difference of two means (frames overlap 2.5-fold, so n / 2.5 are
    // independent), their average within 0.02 (a dither 5 % off would move every bin by 0.1), and
    // the spreads within 15 %.
    const fx = JSON.parse(readFileSync(path.join(repoRoot, 'fixtures/fbank-dither/silence-wespeaker-16k.json'), 'utf8')) as {
      seconds: number;
      sampleRate: number;
      sampleScale: 'int16';
      options: FbankOptions;
      frames: number;
      mean: number[];
      sd: number[];
    };
    const ours = computeFbank(new Float32Array(fx.seconds * fx.sampleRate), fx.sampleRate, fx.options, fx.sampleScale);
    expect([ours.frames, ours.bins]).toEqual([fx.frames, fx.mean.length]);
    const mean = meanOverFrames(ours);
    const sd = mean.map((mu, b) => {
      let ss = 0;
      for (let t = 0; t < ours.frames; t++) ss += (ours.data[t * ours.bins + b]! - mu) ** 2;
      return Math.sqrt(ss / ours.frames);
    });
    const gaps = mean.map((mu, b) => mu - fx.mean[b]!);
    for (let b = 0; b < gaps.length; b++) {
      expect(Math.abs(gaps[b]!)).toBeLessThan(4 * fx.sd[b]! * Math.sqrt((2 * 2.5) / fx.frames));
      expect(sd[b]! / fx.sd[b]!).toBeGreaterThan(0.85);
      expect(sd[b]! / fx.sd[b]!).toBeLessThan(1.15);
    }
    expect(Math.abs(gaps.reduce((a, g) => a + g, 0) / gaps.length)).toBeLessThan(0.02);
  });

  it('is deterministic, and leaves loud audio all but unchanged', () => {
    const x = sine(440, 16000, 16000);
    const a = computeFbank(x, 16000, dithered, 'int16');
    expect(computeFbank(x.slice(), 16000, dithered, 'int16').data).toEqual(a.data);
    const plain = computeFbank(x, 16000, wespeaker, 'int16');
    const row = Array.from(plain.data.subarray(0, 80));
    const peak = row.indexOf(Math.max(...row));
    for (let t = 0; t < plain.frames; t++) expect(Math.abs(a.data[t * 80 + peak]! - plain.data[t * 80 + peak]!)).toBeLessThan(1e-4);
  });
});

describe('computeFbank rejects bad options and samples with a clear error', () => {
  const x = new Float32Array(1600);
  const cases: [string, Partial<FbankOptions>, string][] = [
    ['3 mel bins', { numMelBins: 3 }, 'num_mel_bins'],
    ['fractional mel bins', { numMelBins: 40.5 }, 'num_mel_bins'],
    ['negative dither', { dither: -1 }, 'dither must be a finite number ≥ 0'],
    ['NaN dither', { dither: Number.NaN }, 'dither must be a finite number ≥ 0'],
    ['infinite dither', { dither: Number.POSITIVE_INFINITY }, 'dither must be a finite number ≥ 0'],
    ['unknown window', { windowType: 'kaiser' as FbankOptions['windowType'] }, 'window_type'],
    ['pre-emphasis above 1', { preemphasisCoefficient: 1.5 }, 'preemphasis_coefficient'],
    ['negative energy floor', { energyFloor: -1 }, 'energy_floor'],
    ['low ≥ high', { lowFreq: 7000, highFreq: 6000 }, 'low_freq'],
    ['high beyond Nyquist', { highFreq: 9000 }, 'high_freq'],
    ['offset below zero', { highFreq: -9000 }, 'high_freq'],
    ['one-sample frame', { frameLength: 0.1 }, 'at least 2'],
    ['zero shift', { frameShift: 0 }, 'frame_shift'],
    ['sub-sample shift', { frameShift: 0.01 }, 'frame_shift'],
    ['NaN frame length', { frameLength: Number.NaN }, 'frame_length'],
    ['odd FFT without rounding', { frameLength: 25.0625, roundToPowerOfTwo: false }, 'must be even'],
    ['absurd frame length', { frameLength: 1e7 }, 'limit'],
  ];
  for (const [name, patch, part] of cases) {
    it(name, () => expectError(() => computeFbank(x, 16000, { ...wespeaker, ...patch }, 'int16'), 'validation-failed', part));
  }

  it('bad sample rate and sample scale', () => {
    expectError(() => computeFbank(x, 0, wespeaker, 'int16'), 'validation-failed', 'Sample rate');
    expectError(() => computeFbank(x, Number.NaN, wespeaker, 'int16'), 'validation-failed', 'Sample rate');
    expectError(() => computeFbank(x, 16000, wespeaker, 'float' as 'unit'), 'validation-failed', 'sample scale');
  });

  it('NaN or infinite samples', () => {
    const bad = new Float32Array(1600);
    bad[1234] = Number.NaN;
    expectError(() => computeFbank(bad, 16000, wespeaker, 'int16'), 'audio-invalid-samples', 'Sample 1234');
    bad[1234] = Number.POSITIVE_INFINITY;
    expectError(() => computeFbank(bad, 16000, wespeaker, 'int16'), 'audio-invalid-samples', 'Sample 1234');
  });
});
