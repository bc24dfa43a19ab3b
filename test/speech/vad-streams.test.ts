import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { VoicePassportError } from '../../src/errors.js';
import { keptWindow, planVadStreams, sequentialPlan, type VadStreamOptions } from '../../src/speech/vad-streams.js';

/** 1 s of warm-up, ≥ 2 s per stream, ≤ 16 streams: SileroVad's stream defaults in windows (32 ms). */
const defaults: VadStreamOptions = { warmUpWindows: 31, minStreamWindows: 63, maxStreams: 16 };

/** Which window each (stream, step) keeps, and how often each window is kept. */
function coverage(windows: number, options: VadStreamOptions) {
  const plan = planVadStreams(windows, options);
  const keptCount = new Array<number>(windows).fill(0);
  for (let stream = 0; stream < plan.streams; stream++) {
    for (let step = 0; step < plan.steps; step++) {
      const w = keptWindow(plan, windows, stream, step);
      if (w >= 0) keptCount[w] = (keptCount[w] as number) + 1;
    }
  }
  return { plan, keptCount };
}

describe('planVadStreams', () => {
  it('keeps audio under two stream lengths sequential (a 3 s request: 94 windows)', () => {
    expect(planVadStreams(94, defaults)).toEqual({ streams: 1, steps: 94, warmUp: 0, stride: 94 });
    expect(planVadStreams(125, defaults)).toEqual(sequentialPlan(125));
    expect(planVadStreams(0, defaults)).toEqual({ streams: 1, steps: 0, warmUp: 0, stride: 0 });
  });

  it('cuts 20 s at 16 kHz (625 windows) into 9 streams of 97 steps', () => {
    // 9 = floor(625 / 63); steps = ceil((625 + 8·31) / 9) = 97; stride = 97 − 31 = 66.
    expect(planVadStreams(625, defaults)).toEqual({ streams: 9, steps: 97, warmUp: 31, stride: 66 });
    // Stream 0 keeps windows 0..96; stream 1 warms up on 66..96 and keeps 97..162; the last
    // (stream 8, from 528) keeps 559..624 and runs past the end (625..624+...) on zeros.
    const plan = planVadStreams(625, defaults);
    expect(keptWindow(plan, 625, 0, 0)).toBe(0);
    expect(keptWindow(plan, 625, 0, 96)).toBe(96);
    expect(keptWindow(plan, 625, 1, 30)).toBe(-1);
    expect(keptWindow(plan, 625, 1, 31)).toBe(97);
    expect(keptWindow(plan, 625, 8, 31)).toBe(559);
    expect(keptWindow(plan, 625, 8, 96)).toBe(624);
  });

  it('caps the batch at maxStreams (60 s: 1875 windows → 16 streams)', () => {
    const plan = planVadStreams(1875, defaults);
    expect(plan.streams).toBe(16);
    expect(plan.steps).toBe(Math.ceil((1875 + 15 * 31) / 16));
  });

  it('tiles every window exactly once, with a full warm-up before each later stream (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 32 }),
        (windows, warmUpWindows, minStreamWindows, maxStreams) => {
          const options = { warmUpWindows, minStreamWindows, maxStreams };
          const { plan, keptCount } = coverage(windows, options);
          expect(keptCount.every((c) => c === 1)).toBe(true);
          expect(plan.streams).toBeGreaterThanOrEqual(1);
          expect(plan.streams).toBeLessThanOrEqual(Math.max(1, Math.min(maxStreams, Math.floor(windows / minStreamWindows))));
          if (plan.streams === 1) {
            expect(plan).toEqual(sequentialPlan(windows));
            return;
          }
          expect(plan.warmUp).toBe(warmUpWindows);
          expect(plan.stride).toBe(plan.steps - warmUpWindows);
          expect(plan.stride).toBeGreaterThan(0);
          // No step is wasted: one step fewer could not reach the last window.
          expect(plan.streams * (plan.steps - 1) - (plan.streams - 1) * warmUpWindows).toBeLessThan(windows);
          // Every later stream starts inside the audio and keeps at least one window.
          for (let b = 1; b < plan.streams; b++) expect(b * plan.stride + warmUpWindows).toBeLessThan(windows);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses non-integer or negative counts as a caller bug (internal)', () => {
    for (const [windows, options] of [
      [-1, defaults],
      [10.5, defaults],
      [100, { ...defaults, minStreamWindows: 0 }],
      [100, { ...defaults, maxStreams: 0 }],
      [100, { ...defaults, warmUpWindows: -1 }],
    ] as const) {
      let error: unknown;
      try {
        planVadStreams(windows, options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VoicePassportError);
      expect((error as VoicePassportError).code).toBe('internal');
    }
  });
});
