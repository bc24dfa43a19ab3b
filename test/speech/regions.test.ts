import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { VoicePassportError } from '../../src/errors.js';
import {
  resolveSegmentationOptions,
  sileroSegmentationDefaults,
  speechRegionsFromProbabilities,
  type SpeechSegmentationOptions,
} from '../../src/speech/regions.js';

const defaults = resolveSegmentationOptions();
const at16k = (windows: number, audioLength = windows * 512) => ({ sampleRate: 16000, windowSamples: 512, audioLength });
const rep = (value: number, times: number): number[] => Array<number>(times).fill(value);

// Expected values worked by hand from upstream get_speech_timestamps at 16 kHz with the defaults:
// min speech 4000 samples, min silence 1600 samples, pad 480 samples, window 512.
describe('speechRegionsFromProbabilities (Silero get_speech_timestamps rules)', () => {
  it('uses Silero defaults: 0.5 / 0.35, 250 ms speech, 100 ms silence, 30 ms pad', () => {
    expect(defaults).toEqual({
      threshold: 0.5,
      negThreshold: 0.35,
      minSpeechDurationMs: 250,
      minSilenceDurationMs: 100,
      speechPadMs: 30,
    });
    expect(sileroSegmentationDefaults).toEqual(defaults);
    expect(resolveSegmentationOptions({ threshold: 0.7 }).negThreshold).toBeCloseTo(0.55, 12);
    expect(resolveSegmentationOptions({ threshold: 0.1 }).negThreshold).toBe(0.01);
  });

  it('closes a region at the first silent window once silence lasts ≥ 100 ms, then pads it by 30 ms', () => {
    const probs = [0, 0, ...rep(1, 10), ...rep(0, 10)];
    expect(speechRegionsFromProbabilities(probs, at16k(probs.length), defaults)).toEqual([{ start: 544, end: 6624 }]);
  });

  it('drops speech of 250 ms or less (strict >, as upstream) and keeps 256 ms', () => {
    const sevenWindows = [0, 0, ...rep(1, 7), ...rep(0, 10)]; // 3584 samples = 224 ms
    expect(speechRegionsFromProbabilities(sevenWindows, at16k(sevenWindows.length), defaults)).toEqual([]);
    const eightWindows = [0, 0, ...rep(1, 8), ...rep(0, 10)]; // 4096 samples = 256 ms
    expect(speechRegionsFromProbabilities(eightWindows, at16k(eightWindows.length), defaults)).toEqual([
      { start: 544, end: 5600 },
    ]);
  });

  it('holds speech through probabilities between negThreshold and threshold (hysteresis)', () => {
    const probs = [0, ...rep(1, 10), ...rep(0.4, 10), ...rep(0, 5)];
    expect(speechRegionsFromProbabilities(probs, at16k(probs.length), defaults)).toEqual([{ start: 32, end: 11232 }]);
  });

  it('counts p = threshold as speech and p = negThreshold as not yet silence', () => {
    const probs = [...rep(0.5, 10), ...rep(0.35, 10), ...rep(0, 5)];
    expect(speechRegionsFromProbabilities(probs, at16k(probs.length), defaults)).toEqual([{ start: 0, end: 10720 }]);
  });

  it('bridges a pause shorter than 100 ms and splits at a longer one', () => {
    const shortGap = [...rep(1, 10), ...rep(0, 3), ...rep(1, 10), ...rep(0, 5)];
    expect(speechRegionsFromProbabilities(shortGap, at16k(shortGap.length), defaults)).toEqual([{ start: 0, end: 12256 }]);
    const longGap = [...rep(1, 10), ...rep(0, 6), ...rep(1, 10), ...rep(0, 5)];
    expect(speechRegionsFromProbabilities(longGap, at16k(longGap.length), defaults)).toEqual([
      { start: 0, end: 5600 },
      { start: 7712, end: 13792 },
    ]);
  });

  it('splits the gap between regions closer than two pads instead of overlapping them', () => {
    const options = { ...defaults, minSilenceDurationMs: 0 };
    const probs = [...rep(1, 10), 0, ...rep(1, 10), 0];
    expect(speechRegionsFromProbabilities(probs, at16k(probs.length), options)).toEqual([
      { start: 0, end: 5376 },
      { start: 5376, end: 11232 },
    ]);
  });

  it('runs speech that never ends to the true audio length, not the padded last window', () => {
    const probs = [0, ...rep(1, 10)];
    expect(speechRegionsFromProbabilities(probs, at16k(probs.length, 5600), defaults)).toEqual([{ start: 32, end: 5600 }]);
  });

  it('scales every duration with the rate at 8 kHz (256-sample windows)', () => {
    const probs = [0, 0, ...rep(1, 10), ...rep(0, 4)];
    const framing = { sampleRate: 8000, windowSamples: 256, audioLength: probs.length * 256 };
    expect(speechRegionsFromProbabilities(probs, framing, defaults)).toEqual([{ start: 272, end: 4096 }]);
  });

  it('refuses nonsense options with config-invalid', () => {
    const bad: Partial<SpeechSegmentationOptions>[] = [
      { threshold: 0 },
      { threshold: 1.5 },
      { threshold: Number.NaN },
      { threshold: 0.5, negThreshold: 0.6 },
      { minSpeechDurationMs: -1 },
      { speechPadMs: Number.POSITIVE_INFINITY },
    ];
    for (const options of bad) {
      expect(() => resolveSegmentationOptions(options)).toThrow(VoicePassportError);
      try {
        resolveSegmentationOptions(options);
      } catch (e) {
        expect((e as VoicePassportError).code).toBe('config-invalid');
      }
    }
  });

  it('property: regions are sorted, disjoint, inside the audio and each holds a window ≥ threshold', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 300 }),
        fc.constantFrom(8000, 16000),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 255 }),
        (probs, sampleRate, threshold, minSpeech, minSilence, pad, shortfall) => {
          const windowSamples = sampleRate === 16000 ? 512 : 256;
          const audioLength = Math.max(0, probs.length * windowSamples - (probs.length > 0 ? shortfall : 0));
          const options = resolveSegmentationOptions({
            threshold,
            minSpeechDurationMs: minSpeech,
            minSilenceDurationMs: minSilence,
            speechPadMs: pad,
          });
          const regions = speechRegionsFromProbabilities(probs, { sampleRate, windowSamples, audioLength }, options);
          let previousEnd = 0;
          for (const r of regions) {
            expect(Number.isInteger(r.start) && Number.isInteger(r.end)).toBe(true);
            expect(r.start).toBeGreaterThanOrEqual(previousEnd);
            expect(r.end).toBeGreaterThan(r.start);
            expect(r.end).toBeLessThanOrEqual(audioLength);
            previousEnd = r.end;
            const hasSpeechWindow = probs.some(
              (p, i) => p >= threshold && i * windowSamples >= r.start && i * windowSamples < r.end,
            );
            expect(hasSpeechWindow).toBe(true);
          }
          if (probs.every((p) => p < threshold)) expect(regions).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
