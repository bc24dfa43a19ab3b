import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { MonoAudio } from '../../src/audio/types.js';
import { VoicePassportError } from '../../src/errors.js';
import {
  SNR_CAP_DB,
  SNR_FLOOR_DB,
  clippedSampleRatio,
  firstSpeech,
  measureQuality,
  normaliseRegions,
  speechOnly,
  widenRegions,
} from '../../src/speech/quality.js';
import { SileroVad, type SpeechRegion } from '../../src/speech/vad.js';
import { readSharedFlac, sharedDataDir, sharedDataSkipReason } from './shared-audio.js';
import { concat, meanPower, mix, tone, whiteNoise } from './signals.js';

const SR = 16000;

/** 1 s noise, 2 s of a 440 Hz "speech" tone in noise, 1 s noise; the tone's power sets the SNR. */
function toneInNoise(snrDb: number, seed: number): { audio: MonoAudio; regions: SpeechRegion[] } {
  const amplitude = 0.3;
  const noiseRms = Math.sqrt(amplitude ** 2 / 2 / 10 ** (snrDb / 10));
  const signal = concat(new Float32Array(SR), tone(2 * SR, 440, amplitude, SR), new Float32Array(SR));
  return { audio: { sampleRate: SR, samples: mix(signal, whiteNoise(4 * SR, noiseRms, seed)) }, regions: [{ start: SR, end: 3 * SR }] };
}

function expectCode(fn: () => unknown, code: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(VoicePassportError);
  expect((error as VoicePassportError).code).toBe(code);
}

describe('measureQuality: durations', () => {
  it('reports the duration and the net seconds of the merged regions', () => {
    const audio = { sampleRate: 8000, samples: new Float32Array(8000 * 3) };
    const q = measureQuality(audio, [
      { start: 800, end: 4800 },
      { start: 4000, end: 8800 }, // overlaps the first: counted once
      { start: 20000, end: 30000 }, // runs past the end: clamped to 24000
    ]);
    expect(q.durationSeconds).toBe(3);
    expect(q.netSpeechSeconds).toBe((8800 - 800 + 24000 - 20000) / 8000);
  });

  it('normalises regions: clamps, rounds, sorts, merges touching ones, drops empty and non-finite', () => {
    expect(
      normaliseRegions(
        [
          { start: 50, end: 60 },
          { start: -5, end: 10.4 },
          { start: 10.6, end: 20 }, // rounds to 11: not touching 10
          { start: 20, end: 30 }, // touches 20: merged
          { start: 40, end: 40 },
          { start: 70, end: 65 },
          { start: Number.NaN, end: 90 },
          { start: 95, end: Number.POSITIVE_INFINITY },
          { start: 98, end: 1e9 },
        ],
        100,
      ),
    ).toEqual([
      { start: 0, end: 10 },
      { start: 11, end: 30 },
      { start: 50, end: 60 },
      { start: 98, end: 100 },
    ]);
  });
});

describe('measureQuality: SNR estimate', () => {
  for (const snr of [20, 5, 0]) {
    it(`estimates a tone at ${snr} dB above white noise within 0.3 dB`, () => {
      const { audio, regions } = toneInNoise(snr, 100 + snr);
      const q = measureQuality(audio, regions);
      expect(q.snrDb).not.toBeNull();
      expect(Math.abs((q.snrDb as number) - snr)).toBeLessThan(0.3);
    });
  }

  it('subtracts the noise from the speech frames (a plain ratio would read 6.2 dB for 5 dB)', () => {
    const { audio, regions } = toneInNoise(5, 7);
    const q = measureQuality(audio, regions);
    expect(q.snrDb as number).toBeLessThan(5.3);
  });

  it('takes the noise floor from the median non-speech frame, so speech the VAD missed does not read as noise', () => {
    // 1 s noise, 2 s tone (marked as speech), 1 s noise with 0.3 s of the tone in it that the VAD
    // "missed": the mean of the non-speech frames would put the floor 11 dB up, the median does not.
    const amplitude = 0.3;
    const noiseRms = Math.sqrt(amplitude ** 2 / 2 / 10 ** (20 / 10));
    const signal = concat(new Float32Array(SR), tone(2 * SR, 440, amplitude, SR), new Float32Array(0.3 * SR), tone(0.3 * SR, 440, amplitude, SR), new Float32Array(0.4 * SR));
    const audio = { sampleRate: SR, samples: mix(signal, whiteNoise(signal.length, noiseRms, 5)) };
    const q = measureQuality(audio, [{ start: SR, end: 3 * SR }]);
    expect(Math.abs((q.snrDb as number) - 20)).toBeLessThan(0.3);
    // What the mean of the same noise frames would have said: the missed speech dominates it.
    const frame = 0.02 * SR;
    const noiseFrames = [...Array(50).keys(), ...Array.from({ length: 50 }, (_, k) => 150 + k)].map((f) => meanPower(audio.samples.subarray(f * frame, (f + 1) * frame)));
    const meanFloor = noiseFrames.reduce((a, b) => a + b, 0) / noiseFrames.length;
    expect(10 * Math.log10(meanFloor / noiseRms ** 2)).toBeGreaterThan(10);
  });

  it('uses a low percentile of all frames as the noise floor when there are too few non-speech frames', () => {
    // 200 ms tone-in-noise / 200 ms noise, alternating, with the whole file marked as speech:
    // the speech frames' power is half the tone's plus the noise, the floor the noise-only
    // frames (their 20th percentile, ≈ −0.3 dB), so the estimate is ≈ 20 − 3.0 + 0.3 dB.
    const parts: Float32Array[] = [];
    for (let k = 0; k < 10; k++) parts.push(tone(0.2 * SR, 440, 0.3, SR), new Float32Array(0.2 * SR));
    const clean = concat(...parts);
    const noise = whiteNoise(clean.length, Math.sqrt(0.3 ** 2 / 2 / 100), 3);
    const q = measureQuality({ sampleRate: SR, samples: mix(clean, noise) }, [{ start: 0, end: clean.length }]);
    expect(Math.abs((q.snrDb as number) - (20 + 10 * Math.log10(0.5) + 0.3))).toBeLessThan(0.5);
  });

  it(`reports ${SNR_CAP_DB} dB when the noise floor is digital silence`, () => {
    const samples = concat(new Float32Array(SR), tone(SR, 440, 0.3, SR), new Float32Array(SR));
    expect(measureQuality({ sampleRate: SR, samples }, [{ start: SR, end: 2 * SR }]).snrDb).toBe(SNR_CAP_DB);
  });

  it(`reports ${SNR_FLOOR_DB} dB when the "speech" is no louder than the noise`, () => {
    const samples = whiteNoise(3 * SR, 0.01, 9);
    for (let i = SR; i < 2 * SR; i++) samples[i] = (samples[i] as number) * 0.5; // "speech" 6 dB below the rest
    expect(measureQuality({ sampleRate: SR, samples }, [{ start: SR, end: 2 * SR }]).snrDb).toBe(SNR_FLOOR_DB);
  });

  it('reports null when it cannot estimate: no regions, only sub-frame regions, all-zero speech', () => {
    const noise = { sampleRate: SR, samples: whiteNoise(SR, 0.01, 1) };
    expect(measureQuality(noise, []).snrDb).toBeNull();
    expect(measureQuality(noise, [{ start: 100, end: 400 }]).snrDb).toBeNull(); // < one 320-sample frame
    expect(measureQuality({ sampleRate: SR, samples: new Float32Array(SR) }, [{ start: 0, end: SR }]).snrDb).toBeNull();
    expect(measureQuality({ sampleRate: SR, samples: new Float32Array(0) }, []).snrDb).toBeNull();
  });
});

describe('measureQuality: clipped-sample ratio', () => {
  // 100 Hz at 16 kHz: 160 samples a period, none exactly at |sin| = 0.5, so |2·sin| > 1 at
  // n = 14…66 and 94…146 of each period: 106 of 160 samples, 0.6625 of them, exactly.
  const overdriven = tone(SR, 100, 2, SR).map((x) => Math.max(-1, Math.min(1, x)));

  it('counts full-scale clipping exactly (|x| ≥ 0.999)', () => {
    expect(clippedSampleRatio(overdriven)).toBe(0.6625);
    expect(measureQuality({ sampleRate: SR, samples: overdriven }, []).clippedRatio).toBe(0.6625);
  });

  it('counts clipping that was attenuated afterwards by its runs stuck at the peak', () => {
    expect(clippedSampleRatio(overdriven.map((x) => x * 0.5))).toBe(0.6625);
  });

  it('counts asymmetric clipping at each polarity’s own peak', () => {
    // sin clipped at +0.8 and −0.6: 33 and 47 samples of each 160-sample period (none on a boundary).
    const period = Array.from({ length: 160 }, (_, n) => Math.sin((2 * Math.PI * n) / 160));
    expect(period.filter((s) => s > 0.8).length).toBe(33);
    expect(period.filter((s) => s < -0.6).length).toBe(47);
    expect(period.filter((s) => Math.abs(s - 0.8) < 1e-3 || Math.abs(s + 0.6) < 1e-3).length).toBe(0);
    const samples = tone(SR, 100, 1, SR).map((x) => Math.max(-0.6, Math.min(0.8, x)));
    expect(clippedSampleRatio(samples)).toBe((33 + 47) / 160);
  });

  it('does not count clean peaks, pairs of equal peak samples, or quiet flat tops', () => {
    expect(clippedSampleRatio(tone(SR, 100, 0.9, SR))).toBe(0);
    expect(clippedSampleRatio(Float32Array.from([0, 0.5, 0.5, 0, -0.3]))).toBe(0);
    expect(clippedSampleRatio(Float32Array.from([0, 0.5, 0.5, 0.5, 0, -0.3]))).toBe(3 / 6);
    expect(clippedSampleRatio(Float32Array.from([0, 0.05, 0.05, 0.05, 0.05, -0.02]))).toBe(0);
    expect(clippedSampleRatio(Float32Array.from([0.4, 0.4, 0.4, 0.4]))).toBe(1); // stuck DC: once, not twice
    expect(clippedSampleRatio(new Float32Array(0))).toBe(0);
  });
});

describe('speechOnly', () => {
  it('concatenates the merged regions in order, each sample once', () => {
    const samples = Float32Array.from({ length: 20 }, (_, i) => i);
    const out = speechOnly({ sampleRate: SR, samples }, [
      { start: 15, end: 25 },
      { start: 2, end: 5 },
      { start: 4, end: 7 },
    ]);
    expect(Array.from(out)).toEqual([2, 3, 4, 5, 6, 15, 16, 17, 18, 19]);
    expect(speechOnly({ sampleRate: SR, samples }, []).length).toBe(0);
  });
});

describe('firstSpeech', () => {
  const regions = [
    { start: 40, end: 60 },
    { start: 0, end: 10 },
    { start: 20, end: 30 },
  ];
  it('keeps the regions in order until they hold maxSamples, cutting the last one', () => {
    expect(firstSpeech(regions, 15, 100)).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 25 },
    ]);
    expect(firstSpeech(regions, 20, 100)).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 30 },
    ]);
    expect(firstSpeech(regions, Infinity, 100)).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 30 },
      { start: 40, end: 60 },
    ]);
    expect(firstSpeech(regions, 0, 100)).toEqual([]);
  });
  it('takes the same samples as cutting the concatenated speech (what analyse did before context)', () => {
    const samples = Float32Array.from({ length: 100 }, (_, i) => i);
    const audio = { sampleRate: SR, samples };
    for (const n of [0, 1, 9, 10, 11, 25, 40, 1000]) {
      expect(Array.from(speechOnly(audio, firstSpeech(regions, n, 100)))).toEqual(Array.from(speechOnly(audio, regions).subarray(0, n)));
    }
  });
});

describe('widenRegions', () => {
  it('widens each region on both sides, clips to the audio and joins regions that meet', () => {
    expect(
      widenRegions(
        [
          { start: 10, end: 20 },
          { start: 30, end: 40 },
          { start: 90, end: 95 },
        ],
        5,
        98,
      ),
    ).toEqual([
      { start: 5, end: 45 },
      { start: 85, end: 98 },
    ]);
    expect(widenRegions([{ start: 3, end: 5 }], 10, 100)).toEqual([{ start: 0, end: 15 }]);
  });
  it('with context 0 is normaliseRegions; refuses a negative or fractional context', () => {
    const regions = [
      { start: 30, end: 40 },
      { start: 10, end: 30 },
    ];
    expect(widenRegions(regions, 0, 100)).toEqual(normaliseRegions(regions, 100));
    expect(() => widenRegions(regions, -1, 100)).toThrow(RangeError);
    expect(() => widenRegions(regions, 1.5, 100)).toThrow(RangeError);
  });
  it('properties: the result is normalised, covers every input sample and adds at most 2·context per region', () => {
    const region = fc.record({ start: fc.integer({ min: -50, max: 1050 }), end: fc.integer({ min: -50, max: 1050 }) });
    fc.assert(
      fc.property(fc.array(region, { maxLength: 8 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 1000 }), (regions, context, length) => {
        const inside = normaliseRegions(regions, length);
        const wide = widenRegions(regions, context, length);
        expect(normaliseRegions(wide, length)).toEqual(wide);
        const covered = (rs: { start: number; end: number }[], i: number) => rs.some((r) => r.start <= i && i < r.end);
        for (const r of inside) for (const i of [r.start, r.end - 1]) expect(covered(wide, i)).toBe(true);
        const total = (rs: { start: number; end: number }[]) => rs.reduce((sum, r) => sum + (r.end - r.start), 0);
        expect(total(wide)).toBeLessThanOrEqual(total(inside) + 2 * context * inside.length);
        expect(total(wide)).toBeGreaterThanOrEqual(total(inside));
      }),
      { numRuns: 300 },
    );
  });
});

describe('measureQuality / speechOnly: bad input', () => {
  it('refuses non-finite samples (audio-invalid-samples) and impossible rates (internal)', () => {
    const samples = new Float32Array(100);
    samples[7] = Number.POSITIVE_INFINITY;
    expectCode(() => measureQuality({ sampleRate: SR, samples }, []), 'audio-invalid-samples');
    expectCode(() => speechOnly({ sampleRate: SR, samples }, []), 'audio-invalid-samples');
    expectCode(() => measureQuality({ sampleRate: 0, samples: new Float32Array(10) }, []), 'internal');
    expectCode(() => measureQuality({ sampleRate: Number.NaN, samples: new Float32Array(10) }, []), 'internal');
  });
});

describe('measureQuality: properties', () => {
  const edge = fc.oneof(
    fc.integer({ min: -2000, max: 6000 }),
    fc.double({ min: -1e12, max: 1e12 }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0),
  );
  const region = fc.record({ start: edge, end: edge });

  it('never returns NaN; net speech stays within [0, duration]; ratios and SNR stay in range', () => {
    fc.assert(
      fc.property(
        fc.float32Array({ noNaN: true, noDefaultInfinity: true, maxLength: 4000 }),
        fc.oneof(fc.constantFrom(8000, 16000, 44100), fc.integer({ min: 1, max: 192000 })),
        fc.array(region, { maxLength: 8 }),
        (samples, sampleRate, regions) => {
          const audio = { sampleRate, samples };
          const q = measureQuality(audio, regions);
          for (const v of [q.durationSeconds, q.netSpeechSeconds, q.clippedRatio]) expect(Number.isFinite(v)).toBe(true);
          expect(q.netSpeechSeconds).toBeGreaterThanOrEqual(0);
          expect(q.netSpeechSeconds).toBeLessThanOrEqual(q.durationSeconds);
          expect(q.clippedRatio).toBeGreaterThanOrEqual(0);
          expect(q.clippedRatio).toBeLessThanOrEqual(1);
          if (q.snrDb !== null) {
            expect(q.snrDb).toBeGreaterThanOrEqual(SNR_FLOOR_DB);
            expect(q.snrDb).toBeLessThanOrEqual(SNR_CAP_DB);
          }
          const only = speechOnly(audio, regions);
          expect(only.length).toBe(Math.round(q.netSpeechSeconds * sampleRate));
          // The order of the regions does not matter.
          expect(measureQuality(audio, [...regions].reverse())).toEqual(q);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe.skipIf(sharedDataDir === null)('measureQuality on real speech with added white noise (../shared/data/dev)', () => {
  let vad: SileroVad;
  beforeAll(async () => {
    vad = await SileroVad.create();
  });
  afterAll(async () => {
    await vad?.release();
  });

  // The files' own background is ~26–32 dB below their speech, so at 20 dB it adds a little.
  for (const file of ['dev/so762/3423/034230081.flac', 'dev/so762/5551/055510084.flac']) {
    for (const [snr, tolerance] of [
      [20, 1.5],
      [5, 1],
    ] as const) {
      it(`estimates ${snr} dB within ${tolerance} dB for ${file}, with the VAD run on the noisy audio`, async () => {
        const audio = await readSharedFlac(file);
        const cleanRegions = normaliseRegions(await vad.detect(audio), audio.samples.length);
        expect(cleanRegions.length).toBeGreaterThan(0);
        // Speech power over the clean file's speech regions defines the SNR of the mix.
        const speechPower = meanPower(speechOnly(audio, cleanRegions));
        const noiseRms = Math.sqrt(speechPower / 10 ** (snr / 10));
        const noisy = { sampleRate: audio.sampleRate, samples: mix(audio.samples, whiteNoise(audio.samples.length, noiseRms, snr)) };
        const withCleanRegions = measureQuality(noisy, cleanRegions).snrDb as number;
        const withNoisyRegions = measureQuality(noisy, await vad.detect(noisy)).snrDb as number;
        expect(Math.abs(withCleanRegions - snr)).toBeLessThan(tolerance);
        expect(Math.abs(withNoisyRegions - snr)).toBeLessThan(tolerance);
      });
    }
  }
});

if (sharedDataDir === null) {
  describe('measureQuality on real speech', () => {
    it.skip(sharedDataSkipReason, () => {});
  });
}
