import { describe, expect, it } from 'vitest';
import type { ModelCalibration } from '../../src/model/manifest.js';
import { nextUp, operatingTable } from '../../src/scoring/calibration.js';
import {
  calibrationFor,
  channelOfSampleRate,
  defaultPolicies,
  defaultPoliciesFor,
  derivedMinNetSpeech,
  effectiveThreshold,
  policyInputSchema,
  speechNeed,
  thresholdOnChannel,
} from '../../src/scoring/policy.js';

// 100 non-targets 0.00 … 0.99 and 10 targets 0.90 … 0.99.
const trials = { nonTarget: Array.from({ length: 100 }, (_, i) => i / 100), target: Array.from({ length: 10 }, (_, i) => (90 + i) / 100) };
const wideband = { a: 20, b: -10, trials: { target: 10, nonTarget: 100 }, operatingPoints: operatingTable(trials) };
const calibrated: ModelCalibration = { method: 'logistic', wideband, telephone: { ...wideband, a: 5, b: -2 } };

describe('channels', () => {
  it('8 kHz and below is telephone', () => {
    expect([8000, 7999, 11025, 16000, 48000, 0].map(channelOfSampleRate)).toEqual(['telephone', 'telephone', 'wideband', 'wideband', 'wideband', 'wideband']);
  });

  it('telephone falls back to the wideband calibration; none without calibration', () => {
    expect(calibrationFor(calibrated, 'telephone')).toEqual({ channel: 'telephone', calibration: calibrated.telephone });
    expect(calibrationFor({ method: 'logistic', wideband }, 'telephone')).toEqual({ channel: 'wideband', calibration: wideband });
    expect(calibrationFor(undefined, 'wideband')).toBeNull();
  });
});

describe('effectiveThreshold', () => {
  it('derives from targetFmr per channel, else the stored threshold', () => {
    // FMR 5 % of 100: the 5 highest (0.95 … 0.99) accepted, threshold just above 0.94.
    expect(effectiveThreshold({ threshold: 0.3, targetFmr: 0.05 }, calibrated, 'wideband')).toBe(nextUp(0.94));
    expect(effectiveThreshold({ threshold: 0.3, targetFmr: null }, calibrated, 'wideband')).toBe(0.3);
    expect(effectiveThreshold({ threshold: 0.3, targetFmr: 0.05 }, undefined, 'wideband')).toBe(0.3);
    expect(effectiveThreshold({ threshold: 0.3, targetFmr: 0.05 }, { method: 'logistic', wideband: { a: 1, b: 0 } }, 'telephone')).toBe(0.3);
  });

  it('thresholdOnChannel: measured rates for targetFmr, unknown without a table, null when targetFmr cannot be derived', () => {
    expect(thresholdOnChannel({ threshold: 0, targetFmr: 0.05 }, 'telephone', calibrated.telephone!)).toEqual({
      calibration: 'telephone',
      rawThreshold: nextUp(0.94),
      llrThreshold: 5 * nextUp(0.94) - 2,
      fmr: 0.05,
      fnmr: 0.5,
      fmrInterval: null,
      fnmrInterval: null,
      rates: 'measured',
      targetFmrBound: 'estimate',
      targetTrials: 10,
      nonTargetTrials: 100,
      falseMatchPairs: null,
      lowestSupportedFmr: 0.03,
    });
    expect(thresholdOnChannel({ threshold: 0.5, targetFmr: null }, 'wideband', { a: 2, b: 1 })).toEqual({
      calibration: 'wideband',
      rawThreshold: 0.5,
      llrThreshold: 2,
      fmr: null,
      fnmr: null,
      fmrInterval: null,
      fnmrInterval: null,
      rates: 'unknown',
      targetFmrBound: null,
      targetTrials: null,
      nonTargetTrials: null,
      falseMatchPairs: null,
      lowestSupportedFmr: null,
    });
    expect(thresholdOnChannel({ threshold: 0.5, targetFmr: 0.01 }, 'wideband', { a: 2, b: 1 })).toBeNull();
  });

  it('thresholdOnChannel: the speaker-bootstrap intervals of the row that decides (of the bounding rows for an explicit threshold)', () => {
    const rows = wideband.operatingPoints.map((r, k) => ({ ...r, fmrInterval: { low: k / 1000, high: k / 100 }, fnmrInterval: { low: k / 2000, high: k / 200 } }));
    const withIntervals = { ...wideband, operatingPoints: rows };
    const index = (threshold: number) => rows.findIndex((r) => r.threshold === threshold);
    const derived = thresholdOnChannel({ threshold: 0, targetFmr: 0.05 }, 'wideband', withIntervals)!;
    const k = index(nextUp(0.94));
    expect(k).toBeGreaterThan(0);
    expect([derived.fmr, derived.fmrInterval, derived.fnmrInterval]).toEqual([0.05, { low: k / 1000, high: k / 100 }, { low: k / 2000, high: k / 200 }]);
    // 0.945 lies between the rows just above 0.94 (below it) and just above 0.95 (above it).
    const explicit = thresholdOnChannel({ threshold: 0.945, targetFmr: null }, 'wideband', withIntervals)!;
    const below = index(nextUp(0.94));
    const above = index(nextUp(0.95));
    expect([explicit.rates, explicit.fmrInterval, explicit.fnmrInterval]).toEqual(['at-most', { low: below / 1000, high: below / 100 }, { low: above / 2000, high: above / 200 }]);
  });

  it('targetFmrBound upper-95: the lowest row whose FMR interval ends at or under the target; the estimate where a channel has no intervals', () => {
    // Each row's upper end is twice its FMR: a 5 % target is met at FMR 2.5 %, by the row just above 0.97
    // (FMR 2 %, as the grid has no 2.5 % row for 100 trials: 0.025·100 = 2.5 → k = 2).
    const rows = wideband.operatingPoints.map((r) => ({ ...r, fmrInterval: { low: r.fmr / 2, high: 2 * r.fmr }, fnmrInterval: { low: 0, high: 1 } }));
    const withIntervals = { ...wideband, operatingPoints: rows };
    const upper = { threshold: 0, targetFmr: 0.05, targetFmrBound: 'upper-95' as const };
    const t = thresholdOnChannel(upper, 'wideband', withIntervals)!;
    expect([t.rawThreshold, t.fmr, t.fmrInterval, t.targetFmrBound]).toEqual([nextUp(0.97), 0.02, { low: 0.01, high: 0.04 }, 'upper-95']);
    // The next lower row (FMR 3 %, just above 0.96) ends at 6 %, over the target.
    expect(rows.find((r) => r.threshold === nextUp(0.96))!.fmrInterval.high).toBeGreaterThan(0.05);
    // The estimate bound on the same table is the 5 % row; a stored policy without a bound is the same.
    expect(thresholdOnChannel({ ...upper, targetFmrBound: 'estimate' }, 'wideband', withIntervals)!.rawThreshold).toBe(nextUp(0.94));
    expect(thresholdOnChannel({ threshold: 0, targetFmr: 0.05 }, 'wideband', withIntervals)!.rawThreshold).toBe(nextUp(0.94));
    // A calibration without intervals can only bound the estimate, and says so.
    expect(thresholdOnChannel(upper, 'wideband', wideband)).toMatchObject({ rawThreshold: nextUp(0.94), fmr: 0.05, targetFmrBound: 'estimate' });
    // effectiveThreshold follows per channel: upper-95 where there are intervals, the estimate where not.
    const mixed: ModelCalibration = { method: 'logistic', wideband: withIntervals, telephone: wideband };
    expect(effectiveThreshold(upper, mixed, 'wideband')).toBe(nextUp(0.97));
    expect(effectiveThreshold(upper, mixed, 'telephone')).toBe(nextUp(0.94));
    // An explicit threshold bounds nothing.
    expect(thresholdOnChannel({ threshold: 0.945, targetFmr: null, targetFmrBound: null }, 'wideband', withIntervals)!.targetFmrBound).toBeNull();
  });
});

describe('minimum net speech', () => {
  const withDurations = (wb: number[], tel?: number[]): ModelCalibration => ({
    method: 'logistic',
    wideband: { ...wideband, durations: wb.map((eer, i) => ({ seconds: [2, 3, 5, 10][i]!, eer, targetTrials: 1, nonTargetTrials: 1 })) },
    ...(tel ? { telephone: { ...wideband, durations: tel.map((eer, i) => ({ seconds: [2, 3, 5, 10][i]!, eer, targetTrials: 1, nonTargetTrials: 1 })) } } : {}),
  });

  it('needs EER ≤ 5 % at FMR ≥ 1 % and for explicit thresholds, ≤ 2 % for stricter targets', () => {
    expect(speechNeed(null)).toEqual({ maxEer: 0.05, fallbackSeconds: 3 });
    expect(speechNeed(0.01)).toEqual({ maxEer: 0.05, fallbackSeconds: 3 });
    expect(speechNeed(0.005)).toEqual({ maxEer: 0.02, fallbackSeconds: 5 });
  });

  it('where the duration table meets the need, the larger over channels; defaults without a table', () => {
    expect(derivedMinNetSpeech(0.01, withDurations([0.06, 0.05, 0.03, 0.02]))).toEqual({ seconds: 3, source: 'duration-table' });
    expect(derivedMinNetSpeech(0.001, withDurations([0.06, 0.05, 0.03, 0.02]))).toEqual({ seconds: 10, source: 'duration-table' });
    // Wideband meets 5 % at 2 s; telephone between 3 s (7 %) and 5 s (4.5 %), at 4.6 s on the chord.
    expect(derivedMinNetSpeech(0.01, withDurations([0.04, 0.03, 0.03, 0.02], [0.09, 0.07, 0.045, 0.03]))).toEqual({ seconds: 4.6, source: 'duration-table' });
    expect(derivedMinNetSpeech(0.01, calibrated)).toEqual({ seconds: 3, source: 'default' });
    // A table across channels (enrolled in the app, calling in) counts too, where it needs more.
    const both = withDurations([0.04, 0.03, 0.03, 0.02], [0.09, 0.07, 0.045, 0.03]);
    const across = (eers: number[]) => ({ enrolChannel: 'wideband' as const, durations: eers.map((eer, i) => ({ seconds: [2, 3, 5, 10][i]!, eer, targetTrials: 1, nonTargetTrials: 1 })) });
    expect(derivedMinNetSpeech(0.01, { ...both, telephone: { ...both.telephone!, acrossChannels: across([0.1, 0.08, 0.06, 0.03]) } })).toEqual({ seconds: 6.7, source: 'duration-table' });
    expect(derivedMinNetSpeech(0.01, { ...both, telephone: { ...both.telephone!, acrossChannels: across([0.05, 0.04, 0.03, 0.02]) } })).toEqual({ seconds: 4.6, source: 'duration-table' });
    expect(derivedMinNetSpeech(0.001, undefined)).toEqual({ seconds: 5, source: 'default' });
  });
});

describe('default policies', () => {
  it('by false match rate with a calibration table, the cosine defaults otherwise', () => {
    // Without FMR intervals in the tables the target bounds the estimate.
    expect(defaultPoliciesFor(calibrated)).toEqual([
      { name: 'standard', targetFmr: 0.01, targetFmrBound: 'estimate', threshold: nextUp(0.98), minNetSpeechSeconds: 3, description: 'Caller authentication for account information.' },
      // 0.1 % of 100 trials: k = 0, above every non-target.
      { name: 'high', targetFmr: 0.001, targetFmrBound: 'estimate', threshold: nextUp(0.99), minNetSpeechSeconds: 5, description: 'Payments and changes to contact details.' },
    ]);
    expect(defaultPoliciesFor(undefined)).toEqual(defaultPolicies.map((p) => ({ ...p, targetFmr: null, targetFmrBound: null })));
    expect(defaultPoliciesFor({ method: 'logistic', wideband: { a: 1, b: 0 } })).toEqual(defaultPolicies.map((p) => ({ ...p, targetFmr: null, targetFmrBound: null })));
  });

  it('bound the upper end of the FMR interval where every calibrated channel has the intervals', () => {
    // Each row's FMR interval ends at 1.5 × its FMR plus 0.5 % (at 0 for the row with no false match, as a
    // bootstrap gives): a 1 % target is met by the 0 % row (k = 0) under upper-95, by the 1 % row under the estimate.
    const rows = wideband.operatingPoints.map((r) => ({ ...r, fmrInterval: { low: r.fmr / 2, high: r.fmr === 0 ? 0 : 1.5 * r.fmr + 0.005 }, fnmrInterval: { low: 0, high: 1 } }));
    const withIntervals = { ...wideband, operatingPoints: rows };
    const both: ModelCalibration = { method: 'logistic', wideband: withIntervals, telephone: { ...withIntervals, a: 5, b: -2 } };
    expect(defaultPoliciesFor(both).map((p) => [p.name, p.targetFmrBound, p.threshold])).toEqual([
      ['standard', 'upper-95', nextUp(0.99)],
      ['high', 'upper-95', nextUp(0.99)],
    ]);
    expect(defaultPoliciesFor({ method: 'logistic', wideband: withIntervals }).map((p) => p.targetFmrBound)).toEqual(['upper-95', 'upper-95']);
    // One channel without intervals: the estimate for both, so a tier means the same on either channel.
    const mixed: ModelCalibration = { method: 'logistic', wideband: withIntervals, telephone: wideband };
    expect(defaultPoliciesFor(mixed).map((p) => [p.targetFmrBound, p.threshold])).toEqual([
      ['estimate', nextUp(0.98)],
      ['estimate', nextUp(0.99)],
    ]);
  });
});

describe('policyInputSchema', () => {
  it('exactly one of targetFmr and threshold; minimum speech optional', () => {
    expect(policyInputSchema.parse({ name: 'a', targetFmr: 0.01 })).toEqual({ name: 'a', targetFmr: 0.01, description: '' });
    expect(policyInputSchema.parse({ name: 'a', targetFmr: 0.01, targetFmrBound: 'upper-95' })).toEqual({ name: 'a', targetFmr: 0.01, targetFmrBound: 'upper-95', description: '' });
    const boundWithoutTarget = policyInputSchema.safeParse({ name: 'a', threshold: 0.5, targetFmrBound: 'estimate' });
    expect(boundWithoutTarget.success).toBe(false);
    expect(boundWithoutTarget.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['targetFmrBound', 'targetFmrBound goes with targetFmr (an explicit threshold bounds nothing)']]);
    expect(policyInputSchema.safeParse({ name: 'a', targetFmr: 0.01, targetFmrBound: 'upper-99' }).success).toBe(false);
    expect(policyInputSchema.parse({ name: 'a', threshold: -0.2, minNetSpeechSeconds: 2 })).toEqual({ name: 'a', threshold: -0.2, minNetSpeechSeconds: 2, description: '' });
    expect(policyInputSchema.safeParse({ name: 'a', threshold: 0.5, targetFmr: 0.01 }).success).toBe(false);
    expect(policyInputSchema.safeParse({ name: 'a' }).success).toBe(false);
    expect(policyInputSchema.safeParse({ name: 'a', targetFmr: 0.51 }).success).toBe(false);
  });
});
