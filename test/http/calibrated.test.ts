/**
 * A calibrated model: verification scores are LLRs (rawScore stays the cosine), telephone audio
 * (8 kHz) uses the telephone calibration, and policies are set by target false match rate with the
 * FMR/FNMR they imply, the trials behind them, and rule-of-three warnings in the response and audit.
 */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCountsAt } from '../../src/evaluation/metrics.js';
import type { ModelCalibration } from '../../src/model/manifest.js';
import { nextUp, operatingTable } from '../../src/scoring/calibration.js';
import { fakeModelId, toneWav } from '../passport/fakes.js';
import { auditEntries, consent, consentAndEnrol, createHarness, enrolSample, verifyCall, type Harness } from './harness.js';
import { calibration, halfToTwice, telTrials, wbTrials } from './fixtures/calibration.js';
import { expectDocumented } from './schema-check.js';

const T0 = '2026-03-01T09:00:00.000Z';
let h: Harness;
afterEach(() => h?.close());

// FMR 1 % of 2000 = the 20 highest non-targets accepted: threshold just above the 21st highest.
const wb1 = nextUp(-0.3 + (1 * 1979) / 2000);
const tel1 = nextUp(-0.25 + (1 * 1979) / 2000);
// FMR 0.1 %: the 2 highest accepted; below 3/2000 = 0.15 %, so it is flagged.
const wb01 = nextUp(-0.3 + (1 * 1997) / 2000);
const tel01 = nextUp(-0.25 + (1 * 1997) / 2000);

const measured = (trials: { target: number[]; nonTarget: number[] }, channel: 'wideband' | 'telephone', rawThreshold: number, a: number, b: number) => ({
  calibration: channel,
  rawThreshold,
  llrThreshold: a * rawThreshold + b,
  fmr: errorCountsAt(trials, rawThreshold).fmr,
  fnmr: errorCountsAt(trials, rawThreshold).fnmr,
  fmrInterval: channel === 'wideband' ? halfToTwice(errorCountsAt(trials, rawThreshold).fmr) : null,
  fnmrInterval: channel === 'wideband' ? halfToTwice(errorCountsAt(trials, rawThreshold).fnmr) : null,
  rates: 'measured',
  targetFmrBound: 'estimate',
  targetTrials: 500,
  nonTargetTrials: 2000,
  // These tables do not count false-match pairs (a calibration from before them): only the rule of three limits.
  falseMatchPairs: null,
  lowestSupportedFmr: 0.0015,
});

const warning = (name: string, fmr: string, channel: string) =>
  `Policy "${name}": targetFmr ${fmr} (${(Number(fmr) * 100).toPrecision(3)} %) is below what the ${channel} calibration data can support: 2000 non-target trials show FMRs down to 3/2000 = 0.150 % (ISO/IEC 19795-1 rule of three). The threshold is the strictest these trials can place, but the actual FMR is not known to meet the target; calibrate on more non-target trials.`;

const calibrationView = {
  model: fakeModelId,
  method: 'logistic',
  channels: {
    wideband: { a: 10, b: -5, targetTrials: 500, nonTargetTrials: 2000, operatingTable: true, protocol: 'wideband; enrolment, rotating: 20 s voiceprints against single utterances' },
    // A calibration that does not record its trials shows null.
    telephone: { a: 8, b: -4.4, targetTrials: 500, nonTargetTrials: 2000, operatingTable: true, protocol: null },
  },
};


describe('default policies of a calibrated model', () => {
  it('standard at FMR 1 %, high at 0.1 % (flagged: below 3/N), minimum speech from the duration tables', async () => {
    h = createHarness({ calibration });
    const res = await request(h.app).get('/v1/operator/policies').set(h.auth('operator'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      policies: [
        {
          name: 'high',
          // EER ≤ 2 %: wideband at 10 s, telephone never (its longest, 10 s).
          threshold: wb01,
          minNetSpeechSeconds: 10,
          description: 'Payments and changes to contact details.',
          targetFmr: 0.001,
          targetFmrBound: 'estimate',
          thresholdSource: 'target-fmr',
          channels: { wideband: measured(wbTrials, 'wideband', wb01, 10, -5), telephone: measured(telTrials, 'telephone', tel01, 8, -4.4) },
          updatedBy: null,
          updatedAt: T0,
        },
        {
          name: 'standard',
          // EER ≤ 5 %: wideband at 2.9 s (on the chord from 8 % at 2 s to 4.5 % at 3 s), telephone at
          // 4.5 s (from 8 % at 3 s to 4 % at 5 s); the larger holds for both.
          threshold: wb1,
          minNetSpeechSeconds: 4.5,
          description: 'Caller authentication for account information.',
          targetFmr: 0.01,
          targetFmrBound: 'estimate',
          thresholdSource: 'target-fmr',
          channels: { wideband: measured(wbTrials, 'wideband', wb1, 10, -5), telephone: measured(telTrials, 'telephone', tel1, 8, -4.4) },
          updatedBy: null,
          updatedAt: T0,
        },
      ],
      scoreScale: 'llr',
      comparisonScale: 'cosine',
      explanation: expect.stringMatching(/^score: calibrated natural-log likelihood ratio, llr = a·cosine \+ b/),
      calibration: calibrationView,
      warnings: [warning('high', '0.001', 'wideband'), warning('high', '0.001', 'telephone')],
    });
    // Hand check: 20 of 2000 non-targets accepted; targets 0.4 + 0.0012·i ≤ 0.6895 for i = 0…241 rejected.
    expect(res.body.policies[1].channels.wideband).toMatchObject({ fmr: 0.01, fnmr: 242 / 500 });
    expectDocumented('PoliciesResponse', res.body);
  });
});

describe('verification with a calibrated model', () => {
  it('score is the LLR of the channel, rawScore the cosine; 8 kHz audio uses the telephone calibration and threshold', async () => {
    h = createHarness({ calibration });
    await consentAndEnrol(h, 'cust-1', 200);
    const same = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 6 }));
    expect(same.body).toEqual({
      verificationId: expect.any(String),
      occurredAt: T0,
      decision: 'accept',
      reasons: ['score-above-threshold'],
      score: 10 * same.body.rawScore - 5,
      rawScore: expect.closeTo(1, 5),
      scoreScale: 'llr',
      threshold: 10 * wb1 - 5,
      rawThreshold: wb1,
      channel: 'wideband',
      policy: 'standard',
      netSpeechSeconds: 6,
      model: fakeModelId,
    });
    expectDocumented('VerificationResponse', same.body);

    // 300 Hz against 200 Hz: cosine cos(π/4) ≈ 0.707, between the wideband (0.6895) and the
    // telephone (0.7395) thresholds for FMR 1 %.
    const wide = await verifyCall(h, 'cust-1', toneWav({ freq: 300, seconds: 6 }));
    expect(wide.body).toMatchObject({ decision: 'accept', channel: 'wideband', rawScore: expect.closeTo(Math.SQRT1_2, 2), rawThreshold: wb1 });
    expect(wide.body.score).toBeCloseTo(10 * wide.body.rawScore - 5, 12);
    const phone = await verifyCall(h, 'cust-1', toneWav({ freq: 300, seconds: 6, sampleRate: 8000 }));
    expect(phone.body).toMatchObject({ decision: 'reject', reasons: ['score-below-threshold'], channel: 'telephone', rawScore: expect.closeTo(Math.SQRT1_2, 2), rawThreshold: tel1 });
    expect(phone.body.score).toBeCloseTo(8 * phone.body.rawScore - 4.4, 12);
    expect(phone.body.threshold).toBeCloseTo(8 * tel1 - 4.4, 12);
    expect(phone.body.score).toBeLessThan(phone.body.threshold);

    // Below the policy's minimum speech (4.5 s from the duration tables): inconclusive with the seconds needed.
    const short = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    expect(short.body).toMatchObject({ decision: 'inconclusive', reasons: ['insufficient-speech'], additionalSpeechSecondsNeeded: 0.5 });

    // Stored and audited on the same scales.
    const audited = (await auditEntries(h)).filter((e) => e.action === 'verification');
    expect(audited[2]!.details).toEqual({
      verificationId: phone.body.verificationId,
      policy: 'standard',
      reasons: ['score-below-threshold'],
      score: Math.round(phone.body.score * 1e4) / 1e4,
      threshold: Math.round(phone.body.threshold * 1e4) / 1e4,
      channel: 'telephone',
      scoreScale: 'llr',
      rawScore: Math.round(phone.body.rawScore * 1e4) / 1e4,
      rawThreshold: Math.round(tel1 * 1e4) / 1e4,
      model: fakeModelId,
      transport: 'request',
    });
    const exported = await request(h.app).get('/v1/subjects/cust-1/export').set(h.auth('enrolment'));
    expect(exported.body.verifications[2]).toMatchObject({ score: phone.body.score, rawScore: phone.body.rawScore, threshold: phone.body.threshold });
    // Operator histograms bin the cosine (bins of 0.1 over [-1, 1)), not the LLR: 1.0 → last bin, 0.707 → [0.7, 0.8).
    const stats = await request(h.app).get('/v1/operator/stats').set(h.auth('operator'));
    const nonEmpty = (stats.body.scoreHistograms.standard as { lower: number; accept: number; reject: number }[]).filter((b) => b.accept + b.reject > 0);
    expect(nonEmpty).toEqual([
      { lower: 0.7, upper: 0.8, accept: 1, reject: 1 },
      { lower: 0.9, upper: 1, accept: 1, reject: 0 },
    ]);
  });

  it('without a telephone calibration, 8 kHz audio is scored with the wideband one', async () => {
    h = createHarness({ calibration: { method: 'logistic', wideband: calibration.wideband } });
    await consentAndEnrol(h, 'cust-1', 200);
    const phone = await verifyCall(h, 'cust-1', toneWav({ freq: 300, seconds: 4, sampleRate: 8000 }));
    // Wideband only: standard needs 3 s (EER ≤ 5 % at 3 s). Every calibrated channel (wideband alone)
    // has FMR intervals, so the default standard bounds their upper end: 1 % is reached where the
    // measured FMR is 0.5 % (intervals run from half to twice the rate), 10 of 2000 non-targets above.
    const wb1Upper = nextUp(-0.3 + (1 * 1989) / 2000);
    expect(phone.body).toMatchObject({ decision: 'accept', channel: 'telephone', rawThreshold: wb1Upper });
    expect(phone.body.score).toBeCloseTo(10 * phone.body.rawScore - 5, 12);
  });
});

describe('a telephone calibration without an operating table', () => {
  it('8 kHz calls are decided at the wideband-derived threshold, and every target policy says so', async () => {
    const { operatingPoints: _table, trials: _trials, ...telephoneWithoutTable } = calibration.telephone!;
    h = createHarness({ calibration: { ...calibration, telephone: telephoneWithoutTable } });
    await consentAndEnrol(h, 'cust-1', 200);
    const policies = (await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body;
    const said = (name: string) =>
      `Policy "${name}": targetFmr ${name === 'standard' ? 0.01 : 0.001} cannot be placed on the telephone channel, because model "${fakeModelId}"'s telephone calibration has no operating table; ` +
      'telephone calls are decided at the threshold derived from the wideband calibration. Recalibrate the channel (`voice-passport calibrate DEV_SET --channel telephone --write`) and restart.';
    expect(policies.warnings).toEqual(expect.arrayContaining([said('standard'), said('high')]));
    const wideband = policies.policies.find((p: { name: string }) => p.name === 'standard').channels.wideband.rawThreshold;
    const phone = await verifyCall(h, 'cust-1', toneWav({ freq: 300, seconds: 4, sampleRate: 8000 }));
    expect(phone.body).toMatchObject({ channel: 'telephone', rawThreshold: wideband });
    // Scored on the telephone calibration's own scale all the same.
    expect(phone.body.score).toBeCloseTo(8 * phone.body.rawScore - 4.4, 12);
  });
});

describe('PUT /v1/operator/policies with targetFmr', () => {
  it('round trip: targetFmr and explicit thresholds, derived figures, rule-of-three warnings in the response and the audit log', async () => {
    h = createHarness({ calibration });
    h.clock.advance(60_000);
    const T1 = '2026-03-01T09:01:00.000Z';
    const body = {
      policies: [
        { name: 'standard', targetFmr: 0.01, minNetSpeechSeconds: 4, description: 'Account information.' },
        { name: 'payments', targetFmr: 0.0001 },
        { name: 'legacy', threshold: 0.65, minNetSpeechSeconds: 3 },
      ],
    };
    const res = await request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send(body);
    expect(res.status).toBe(200);
    expectDocumented('PoliciesResponse', res.body);
    // FMR 0.01 % of 2000 trials: no impostor accepted, the threshold just above the highest one.
    const top = { wb: nextUp(-0.3 + (1 * 1999) / 2000), tel: nextUp(-0.25 + (1 * 1999) / 2000) };
    expect(res.body.policies).toEqual([
      {
        name: 'legacy',
        threshold: 0.65,
        minNetSpeechSeconds: 3,
        description: '',
        targetFmr: null,
        targetFmrBound: null,
        thresholdSource: 'explicit',
        channels: {
          // 0.65 lies between table rows: FMR ≤ that of the row just below, FNMR ≤ that of the row just above.
          // Wideband: row FMR 5 % (just above 0.6495) below; row FMR 4 % (just above 0.6595) above, where
          // targets 0.4 + 0.0012·i ≤ 0.6595 (i ≤ 216) are rejected: 217/500.
          // The intervals are those rows' too.
          wideband: {
            calibration: 'wideband',
            rawThreshold: 0.65,
            llrThreshold: 10 * 0.65 - 5,
            fmr: 0.05,
            fnmr: 217 / 500,
            fmrInterval: { low: 0.025, high: 0.1 },
            fnmrInterval: { low: 217 / 1000, high: 434 / 500 },
            rates: 'at-most',
            targetFmrBound: null,
            targetTrials: 500,
            nonTargetTrials: 2000,
            falseMatchPairs: null,
            lowestSupportedFmr: 0.0015,
          },
          // Telephone: row FMR 10 % (just above 0.6495); row FMR 8 % (just above 0.6695): targets 0.45 + 0.0011·i ≤ 0.6695, i ≤ 199.
          telephone: { calibration: 'telephone', rawThreshold: 0.65, llrThreshold: 8 * 0.65 - 4.4, fmr: 0.1, fnmr: 200 / 500, fmrInterval: null, fnmrInterval: null, rates: 'at-most', targetFmrBound: null, targetTrials: 500, nonTargetTrials: 2000, falseMatchPairs: null, lowestSupportedFmr: 0.0015 },
        },
        updatedBy: h.keyIds.operator,
        updatedAt: T1,
      },
      {
        name: 'payments',
        threshold: top.wb,
        // No duration meets EER ≤ 2 % on telephone: its longest tested duration.
        minNetSpeechSeconds: 10,
        description: '',
        targetFmr: 0.0001,
        targetFmrBound: 'estimate',
        thresholdSource: 'target-fmr',
        channels: { wideband: { ...measured(wbTrials, 'wideband', top.wb, 10, -5), fmr: 0 }, telephone: { ...measured(telTrials, 'telephone', top.tel, 8, -4.4), fmr: 0 } },
        updatedBy: h.keyIds.operator,
        updatedAt: T1,
      },
      {
        name: 'standard',
        threshold: wb1,
        minNetSpeechSeconds: 4,
        description: 'Account information.',
        targetFmr: 0.01,
        targetFmrBound: 'estimate',
        thresholdSource: 'target-fmr',
        channels: { wideband: measured(wbTrials, 'wideband', wb1, 10, -5), telephone: measured(telTrials, 'telephone', tel1, 8, -4.4) },
        updatedBy: h.keyIds.operator,
        updatedAt: T1,
      },
    ]);
    expect(res.body.warnings).toEqual([warning('payments', '0.0001', 'wideband'), warning('payments', '0.0001', 'telephone')]);
    // The explicit threshold's bounds are those of the neighbouring rows, and hold at 0.65 itself.
    const atExplicit = errorCountsAt(wbTrials, 0.65);
    expect(atExplicit.fmr).toBeLessThanOrEqual(0.05);
    expect(atExplicit.fnmr).toBeLessThanOrEqual(217 / 500);
    expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body).toEqual(res.body);

    const audit = (await auditEntries(h)).filter((e) => e.action === 'policy.updated');
    expect(audit.map((e) => [e.outcome, e.details])).toEqual([
      ['changed', { name: 'standard', threshold: wb1, targetFmr: 0.01, targetFmrBound: 'estimate', minNetSpeechSeconds: 4, previous: { threshold: wb1, targetFmr: 0.01, targetFmrBound: 'estimate', minNetSpeechSeconds: 4.5 }, model: fakeModelId }],
      [
        'created',
        {
          name: 'payments',
          threshold: top.wb,
          targetFmr: 0.0001,
          targetFmrBound: 'estimate',
          minNetSpeechSeconds: 10,
          previous: null,
          model: fakeModelId,
          warnings: [warning('payments', '0.0001', 'wideband'), warning('payments', '0.0001', 'telephone')],
        },
      ],
      ['created', { name: 'legacy', threshold: 0.65, minNetSpeechSeconds: 3, previous: null }],
      ['deleted', { name: 'high', previous: { threshold: wb01, targetFmr: 0.001, targetFmrBound: 'estimate', minNetSpeechSeconds: 10 } }],
    ]);

    // The explicit policy decides on its raw threshold; the LLR threshold is shown beside it.
    await consentAndEnrol(h, 'cust-1', 200);
    const v = await verifyCall(h, 'cust-1', toneWav({ freq: 300, seconds: 4 }), '?policy=legacy');
    expect(v.body).toMatchObject({ decision: 'accept', rawThreshold: 0.65, threshold: 10 * 0.65 - 5, scoreScale: 'llr' });
  });

  it('targetFmrBound upper-95: a stricter threshold from the FMR intervals, audited; the estimate, with a warning, on a channel without intervals; 400 when wideband has none', async () => {
    h = createHarness({ calibration });
    const put = (policies: unknown[]) => request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send({ policies });
    const res = await put([{ name: 'standard', targetFmr: 0.01, targetFmrBound: 'upper-95', minNetSpeechSeconds: 5 }]);
    expect(res.status).toBe(200);
    expectDocumented('PoliciesResponse', res.body);
    // Wideband intervals end at twice each row's FMR: the first row ending at ≤ 1 % is the 0.5 % row,
    // the 10 highest of 2000 non-targets accepted. Telephone has no intervals: its 1 % row, as before.
    const wbUpper = nextUp(-0.3 + (1 * 1989) / 2000);
    expect(res.body.policies).toEqual([
      {
        name: 'standard',
        threshold: wbUpper,
        minNetSpeechSeconds: 5,
        description: '',
        targetFmr: 0.01,
        targetFmrBound: 'upper-95',
        thresholdSource: 'target-fmr',
        channels: { wideband: { ...measured(wbTrials, 'wideband', wbUpper, 10, -5), targetFmrBound: 'upper-95' }, telephone: measured(telTrials, 'telephone', tel1, 8, -4.4) },
        updatedBy: h.keyIds.operator,
        updatedAt: T0,
      },
    ]);
    expect(res.body.policies[0].channels.wideband).toMatchObject({ fmr: 0.005, fmrInterval: { low: 0.0025, high: 0.01 } });
    const warned = `Policy "standard": targetFmrBound "upper-95" cannot be applied on the telephone channel, because model "${fakeModelId}"'s telephone calibration has no FMR intervals; there the target bounds the estimate. Recalibrate with this version (\`voice-passport calibrate --write\`) and restart.`;
    expect(res.body.warnings).toEqual([warned]);
    expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body).toEqual(res.body);
    const changed = (await auditEntries(h)).filter((e) => e.action === 'policy.updated' && e.outcome === 'changed');
    expect(changed.map((e) => e.details)).toEqual([
      {
        name: 'standard',
        threshold: wbUpper,
        targetFmr: 0.01,
        targetFmrBound: 'upper-95',
        minNetSpeechSeconds: 5,
        previous: { threshold: wb1, targetFmr: 0.01, targetFmrBound: 'estimate', minNetSpeechSeconds: 4.5 },
        model: fakeModelId,
        warnings: [warned],
      },
    ]);
    // Verification decides with it at once, per channel.
    await consentAndEnrol(h, 'cust-1', 200);
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 6 }))).body).toMatchObject({ decision: 'accept', rawThreshold: wbUpper });
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 6, sampleRate: 8000 }))).body).toMatchObject({ channel: 'telephone', rawThreshold: tel1 });
    // Only the bound changes: that is a change too.
    await put([{ name: 'standard', targetFmr: 0.01, minNetSpeechSeconds: 5 }]);
    const last = (await auditEntries(h)).filter((e) => e.action === 'policy.updated').at(-1)!;
    expect(last.details).toMatchObject({ threshold: wb1, targetFmrBound: 'estimate', previous: { threshold: wbUpper, targetFmrBound: 'upper-95' } });
    await h.close();

    // A calibration from before the intervals cannot bound the target by them.
    h = createHarness({ calibration: { method: 'logistic', wideband: { ...calibration.wideband, operatingPoints: operatingTable(wbTrials) } } });
    const refused = await put([{ name: 'standard', targetFmr: 0.01, targetFmrBound: 'upper-95' }]);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      code: 'validation-failed',
      detail: `Policy "standard" sets targetFmrBound "upper-95", but model "${fakeModelId}"'s calibration has no FMR intervals to bound the target by; recalibrate it with this version (voice-passport calibrate --write) and restart, or leave targetFmrBound out.`,
      policy: 'standard',
    });
    const boundAlone = await put([{ name: 'standard', threshold: 0.5, targetFmrBound: 'upper-95' }]);
    expect(boundAlone.body.issues).toEqual([{ path: 'body.policies.0.targetFmrBound', message: 'targetFmrBound goes with targetFmr (an explicit threshold bounds nothing)' }]);
  });

  it('a threshold resting on the false matches of fewer than three pairs of speakers: flagged in the response and the audit log, with the pairs and the lowest target the data support', async () => {
    // The wideband impostors come in pairs of speakers, ten of the highest scores each: a row that
    // accepts k non-targets rests on ⌈k/10⌉ pairs. Telephone counts no pairs: the rule of three alone.
    const pairsOf = (fmr: number) => Math.ceil((fmr * 2000) / 10);
    const withPairs: ModelCalibration = {
      ...calibration,
      wideband: { ...calibration.wideband, operatingPoints: calibration.wideband.operatingPoints!.map((r) => ({ ...r, falseMatchPairs: pairsOf(r.fmr) })) },
    };
    h = createHarness({ calibration: withPairs });
    const put = (policies: unknown[]) => request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send({ policies });
    const res = await put([
      { name: 'legacy', threshold: 0.65, minNetSpeechSeconds: 5 },
      { name: 'standard', targetFmr: 0.01, minNetSpeechSeconds: 5 },
      { name: 'wider', targetFmr: 0.02, minNetSpeechSeconds: 5 },
    ]);
    expect(res.status).toBe(200);
    expectDocumented('PoliciesResponse', res.body);
    // 1 %: the 20 highest accepted, two pairs. The lowest row on three pairs is the 1.25 % row (25
    // accepted; the R10 grid has no row between it and 1 %), so targets from 1.25 % are supported.
    // 2 %: 40 accepted, four pairs.
    const wb2 = nextUp(-0.3 + (1 * 1959) / 2000);
    const tel2 = nextUp(-0.25 + (1 * 1959) / 2000);
    const wbView = (rawThreshold: number, falseMatchPairs: number) => ({ ...measured(wbTrials, 'wideband', rawThreshold, 10, -5), falseMatchPairs, lowestSupportedFmr: 0.0125 });
    // An explicit threshold: the pairs of the row whose FMR bounds it (5 %, 100 accepted, ten pairs).
    expect(res.body.policies[0].channels.wideband).toMatchObject({ rates: 'at-most', fmr: 0.05, falseMatchPairs: 10, lowestSupportedFmr: 0.0125 });
    expect(res.body.policies.slice(1).map((p: { name: string; channels: unknown }) => [p.name, p.channels])).toEqual([
      ['standard', { wideband: wbView(wb1, 2), telephone: measured(telTrials, 'telephone', tel1, 8, -4.4) }],
      ['wider', { wideband: wbView(wb2, 4), telephone: measured(telTrials, 'telephone', tel2, 8, -4.4) }],
    ]);
    const warned =
      'Policy "standard": targetFmr 0.01 (1.00 %) is below what the wideband calibration data can support: its threshold rests on the false matches of 2 pairs of calibration speakers, fewer than 3. ' +
      'False matches gather in a few pairs of similar voices, so callers other than the calibration speakers may meet more of them than the target. ' +
      'The lowest target these data support with targetFmrBound "estimate" is 1.25 %. The threshold stays; calibrate on more speakers to rely on the target.';
    expect(res.body.warnings).toEqual([warned]);
    expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body).toEqual(res.body);
    const audited = (await auditEntries(h)).filter((e) => e.action === 'policy.updated' && e.outcome !== 'deleted');
    expect(audited.map((e) => [e.outcome, e.details.name, e.details.warnings])).toEqual([
      ['created', 'legacy', undefined],
      ['changed', 'standard', [warned]],
      ['created', 'wider', undefined],
    ]);
    // The threshold still decides: the warning says what the data can show, it does not change the rule.
    await consentAndEnrol(h, 'cust-1', 200);
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 6 }))).body).toMatchObject({ decision: 'accept', rawThreshold: wb1 });
  });

  it('enrolment checks a new sample against the standard policy at its estimate, though verification bounds the upper end', async () => {
    h = createHarness({ calibration });
    const put = (policies: unknown[]) => request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send({ policies });
    expect((await put([{ name: 'standard', targetFmr: 0.01, targetFmrBound: 'upper-95', minNetSpeechSeconds: 5 }])).status).toBe(200);
    const wbUpper = nextUp(-0.3 + (1 * 1989) / 2000);
    // A tone whose cosine with 200 Hz lies between the estimate (wb1, 0.6895) and the upper bound
    // (0.6945): the fake embeds a tone at an angle that follows its frequency (test/passport/fakes.ts).
    const between = toneWav({ freq: 302.7, seconds: 5 });
    await consentAndEnrol(h, 'cust-0', 200);
    const probe = (await verifyCall(h, 'cust-0', between)).body as { rawScore: number; decision: string; rawThreshold: number };
    expect(probe.rawScore).toBeGreaterThanOrEqual(wb1);
    expect(probe.rawScore).toBeLessThan(wbUpper);
    // Verification rejects it under the upper bound …
    expect(probe).toMatchObject({ decision: 'reject', rawThreshold: wbUpper });
    // … while an enrolment that began at 200 Hz keeps it as the same speaker's sample.
    await consent(h, 'cust-1');
    expect((await enrolSample(h, 'cust-1', toneWav({ freq: 200, seconds: 5 }))).body.feedback).toEqual(['ok']);
    const kept = await enrolSample(h, 'cust-1', between);
    expect(kept.body).toMatchObject({ feedback: ['ok'], samples: 2 });
    // Under the estimate it would not: a tone just below it starts the enrolment over.
    await consent(h, 'cust-2');
    await enrolSample(h, 'cust-2', toneWav({ freq: 200, seconds: 5 }));
    expect((await enrolSample(h, 'cust-2', toneWav({ freq: 304, seconds: 5 }))).body).toMatchObject({ feedback: ['not-same-speaker'], samples: 0 });
  });

  it('a target without a bound takes the default tiers\' bound: upper-95 where every calibrated channel has intervals, else the estimate', async () => {
    // Wideband alone, with intervals (half to twice each rate): upper-95 meets 1 % at a measured 0.5 %.
    h = createHarness({ calibration: { method: 'logistic', wideband: calibration.wideband } });
    const put = (policies: unknown[]) => request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send({ policies });
    const seeded = await request(h.app).get('/v1/operator/policies').set(h.auth('operator'));
    expect(seeded.body.policies.map((p: { name: string; targetFmrBound: string }) => [p.name, p.targetFmrBound])).toEqual([
      ['high', 'upper-95'],
      ['standard', 'upper-95'],
    ]);
    const unbounded = await put([{ name: 'standard', targetFmr: 0.01, minNetSpeechSeconds: 4 }]);
    expect(unbounded.status).toBe(200);
    expect(unbounded.body.policies[0]).toMatchObject({ targetFmrBound: 'upper-95', threshold: nextUp(-0.3 + (1 * 1989) / 2000) });
    expect(unbounded.body.policies[0].channels.wideband).toMatchObject({ targetFmrBound: 'upper-95', fmr: 0.005 });
    // Asked for, the estimate is still there.
    const estimate = await put([{ name: 'standard', targetFmr: 0.01, targetFmrBound: 'estimate', minNetSpeechSeconds: 4 }]);
    expect(estimate.body.policies[0]).toMatchObject({ targetFmrBound: 'estimate', threshold: wb1 });
    // The telephone calibration without intervals: the estimate, for both channels alike.
    await h.close();
    h = createHarness({ calibration });
    const mixed = await request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send({ policies: [{ name: 'standard', targetFmr: 0.01 }] });
    expect(mixed.body.policies[0]).toMatchObject({ targetFmrBound: 'estimate', threshold: wb1 });
  });

  it('refuses targetFmr without a calibration, and a policy with both or neither of targetFmr and threshold', async () => {
    h = createHarness();
    const put = (policies: unknown[]) => request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send({ policies });
    const uncalibrated = await put([{ name: 'standard', targetFmr: 0.01 }]);
    expect(uncalibrated.status).toBe(400);
    expect(uncalibrated.body).toMatchObject({
      code: 'validation-failed',
      detail: `Policy "standard" sets targetFmr, but model "${fakeModelId}" has no calibration to derive a threshold from; set an explicit threshold, or calibrate the model (voice-passport calibrate --write) and restart.`,
      policy: 'standard',
    });
    const both = await put([{ name: 'standard', targetFmr: 0.01, threshold: 0.5 }]);
    expect(both.body.issues).toEqual([{ path: 'body.policies.0', message: 'set either targetFmr or threshold (exactly one)' }]);
    const neither = await put([{ name: 'standard', minNetSpeechSeconds: 3 }]);
    expect(neither.body.issues).toEqual([{ path: 'body.policies.0', message: 'set either targetFmr or threshold (exactly one)' }]);
    const range = await put([{ name: 'standard', targetFmr: 0.6 }, { name: 'x', targetFmr: 0 }]);
    expect(range.body.issues.map((i: { path: string }) => i.path)).toEqual(['body.policies.0.targetFmr', 'body.policies.1.targetFmr']);
    // Without a calibration an explicit threshold without minNetSpeechSeconds gets the standard default, 3 s.
    const explicit = await put([{ name: 'standard', threshold: 0.55 }]);
    expect(explicit.body.policies).toEqual([
      { name: 'standard', threshold: 0.55, minNetSpeechSeconds: 3, description: '', targetFmr: null, targetFmrBound: null, thresholdSource: 'explicit', channels: null, updatedBy: h.keyIds.operator, updatedAt: T0 },
    ]);
  });
});

describe('recalibration', () => {
  it('a restart with a new calibration re-derives targetFmr thresholds, audited as recalibrated; explicit thresholds stay', async () => {
    const options: { calibration: ModelCalibration } = { calibration };
    h = createHarness(options);
    const put = await request(h.app)
      .put('/v1/operator/policies')
      .set(h.auth('operator'))
      .send({ policies: [{ name: 'standard', targetFmr: 0.01, minNetSpeechSeconds: 4 }, { name: 'high', threshold: 0.65, minNetSpeechSeconds: 3 }] });
    expect(put.status).toBe(200);
    // New dev data: the non-targets moved up by 0.02.
    const moved = { nonTarget: wbTrials.nonTarget.map((x) => x + 0.02), target: wbTrials.target };
    options.calibration = { method: 'logistic', wideband: { ...calibration.wideband, a: 11, operatingPoints: operatingTable(moved) } };
    h.reopen();
    const wbMoved = nextUp(-0.3 + (1 * 1979) / 2000 + 0.02);
    const got = await request(h.app).get('/v1/operator/policies').set(h.auth('operator'));
    expect(got.body.policies.map((p: { name: string; threshold: number; targetFmr: number | null }) => [p.name, p.threshold, p.targetFmr])).toEqual([
      ['high', 0.65, null],
      ['standard', wbMoved, 0.01],
    ]);
    const recalibrated = (await auditEntries(h)).filter((e) => e.outcome === 'recalibrated');
    expect(recalibrated.map((e) => [e.action, e.actorKeyId, e.details])).toEqual([
      ['policy.updated', null, { name: 'standard', threshold: wbMoved, targetFmr: 0.01, targetFmrBound: 'estimate', minNetSpeechSeconds: 4, previous: { threshold: wb1, targetFmr: 0.01, targetFmrBound: 'estimate', minNetSpeechSeconds: 4 }, model: fakeModelId }],
    ]);
    // The same calibration again: nothing to re-derive, nothing audited.
    h.reopen();
    expect((await auditEntries(h)).filter((e) => e.outcome === 'recalibrated')).toHaveLength(1);
  });
});
