import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultEnrolmentSettings } from '../../src/passport/context.js';
import { assessEnrolmentSample } from '../../src/passport/enrolment.js';
import { defaultQualityLimits } from '../../src/scoring/decision.js';

const assess = (q: Partial<Parameters<typeof assessEnrolmentSample>[0]>) =>
  assessEnrolmentSample({ netSpeechSeconds: 5, snrDb: 20, clippedRatio: 0, durationSeconds: 6, ...q }, defaultEnrolmentSettings, defaultQualityLimits);

describe('assessEnrolmentSample', () => {
  it.each([
    [{}, ['ok']],
    [{ netSpeechSeconds: 0 }, ['no-speech']],
    [{ netSpeechSeconds: 2.99 }, ['too-short']],
    [{ netSpeechSeconds: 3 }, ['ok']],
    [{ snrDb: 4.9 }, ['too-noisy']],
    [{ snrDb: 5 }, ['ok']],
    [{ snrDb: null }, ['ok']],
    [{ clippedRatio: 0.011 }, ['clipped']],
    [{ clippedRatio: 0.01 }, ['ok']],
    [{ netSpeechSeconds: 1, snrDb: 0, clippedRatio: 0.5 }, ['too-short', 'too-noisy', 'clipped']],
  ] as const)('%j → %j', (q, expected) => {
    expect(assess(q)).toEqual(expected);
  });

  it('"ok" exactly when no rule objects, and each rule fires exactly at its own bar', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 60, noNaN: true }), fc.option(fc.double({ min: -20, max: 60, noNaN: true }), { nil: null }), fc.double({ min: 0, max: 1, noNaN: true }), (net, snr, clipped) => {
        const f = assess({ netSpeechSeconds: net, snrDb: snr, clippedRatio: clipped });
        expect(f.includes('no-speech')).toBe(net === 0);
        expect(f.includes('too-short')).toBe(net > 0 && net < 3);
        expect(f.includes('too-noisy')).toBe(snr !== null && snr < 5);
        expect(f.includes('clipped')).toBe(clipped > 0.01);
        expect(f.includes('ok')).toBe(f.length === 1 && f[0] === 'ok');
        expect(f.length).toBeGreaterThan(0);
      }),
    );
  });
});
