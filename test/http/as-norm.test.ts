/**
 * A model with AS-norm (manifest `scoreNormalisation`): the comparison score is the AS-norm score of
 * the cosine against the cohort, and decides; rawScore stays the cosine; normalisedScore is reported
 * (null when the manifest declares normalisation but it is off); thresholds and the calibration are
 * on the AS-norm scale; explicit thresholds outside [-1, 1] only for such a model.
 */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { pseudonymOf } from '../../src/passport/views.js';
import { asNormScore, cohortStats, type CohortMatrix } from '../../src/scoring/as-norm.js';
import { cosine, l2Normalise } from '../../src/scoring/cosine.js';
import { Scorer } from '../../src/scoring/scorer.js';
import { toneEmbedding, toneWav } from '../passport/fakes.js';
import { auditEntries, consentAndEnrol, createHarness, verifyCall, type Harness } from './harness.js';
import { expectDocumented } from './schema-check.js';

let h: Harness;
afterEach(() => h?.close());

const TOP_K = 3;
const SHA = 'ab'.repeat(32);
/** Impostors close to the enrolled 200 Hz voice and to each other (the fake's embeddings are tone angles). */
const cohortFreqs = [120, 140, 260, 280, 300, 330, 360];
const cohort: CohortMatrix & { sha256: string } = (() => {
  const rows = new Float32Array(cohortFreqs.length * 16);
  cohortFreqs.forEach((f, i) => rows.set(l2Normalise(toneEmbedding(f)), i * 16));
  return { rows, size: cohortFreqs.length, dim: 16, sha256: SHA };
})();
const asNormOn = () => Scorer.asNorm(TOP_K, { wideband: cohort });
const asNormOff = () =>
  Scorer.fromManifest({
    id: 'fake-model',
    scoreNormalisation: { method: 'as-norm', enabled: false, topK: TOP_K, cohorts: { wideband: { file: 'c.f32', sha256: SHA, speakers: cohort.size } } },
    cohorts: { wideband: { ...cohort, file: '/m/c.f32' } },
  });

/** The AS-norm score by the pure functions, for the stored voiceprint and a test embedding. */
function expectedAsNorm(voiceprint: Float32Array, test: Float32Array): number {
  const s = cosine(voiceprint, test);
  return asNormScore(s, cohortStats(l2Normalise(voiceprint), cohort, TOP_K), cohortStats(l2Normalise(test), cohort, TOP_K));
}


async function verifyWith(embedding: Float32Array) {
  h.embedder.overrides.push({ embedding });
  return verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
}

describe('verification with AS-norm enabled', () => {
  it('the AS-norm score decides; rawScore is the cosine; normalisedScore, scale and audit say so', async () => {
    h = createHarness({ scorer: asNormOn() });
    // Enrolment's same-speaker check is on the same (AS-norm) scale as the threshold: the second sample passes.
    await consentAndEnrol(h, 'cust-1', 200);
    const voiceprint = h.store.voiceprints.voiceprint(pseudonymOf(h.ctx, 'cust-1'))!.embedding;

    const same = await verifyWith(toneEmbedding(205));
    const sameNorm = expectedAsNorm(voiceprint, toneEmbedding(205));
    expect(sameNorm).toBeGreaterThan(0.5);
    expect(same.body).toMatchObject({
      decision: 'accept',
      score: expect.closeTo(sameNorm, 9),
      rawScore: expect.closeTo(cosine(voiceprint, toneEmbedding(205)), 12),
      normalisedScore: expect.closeTo(sameNorm, 9),
      scoreScale: 'as-norm',
      threshold: 0.5,
      rawThreshold: 0.5,
      channel: 'wideband',
    });
    expect(same.body.score).toBe(same.body.normalisedScore);
    expectDocumented('VerificationResponse', same.body);

    // 320 Hz: cosine ≈ 0.59, which the cosine model's 0.5 accepts; next to impostors at 300-360 Hz its AS-norm score is far below 0.5.
    const near = await verifyWith(toneEmbedding(320));
    expect(near.body.rawScore).toBeGreaterThan(0.5);
    expect(near.body).toMatchObject({ decision: 'reject', normalisedScore: expect.closeTo(expectedAsNorm(voiceprint, toneEmbedding(320)), 9) });
    expect(near.body.normalisedScore).toBeLessThan(0);

    const audited = (await auditEntries(h)).filter((e) => e.action === 'verification');
    expect(audited.map((e) => e.details)).toEqual([
      expect.objectContaining({ scoreScale: 'as-norm', rawScore: Number(same.body.rawScore.toFixed(4)), normalisedScore: Number(sameNorm.toFixed(4)), rawThreshold: 0.5 }),
      expect.objectContaining({ scoreScale: 'as-norm', normalisedScore: Number(near.body.normalisedScore.toFixed(4)) }),
    ]);

    // The history keeps the scale that decided: the customer's export and the operator's histogram.
    const exported = await request(h.app).get('/v1/subjects/cust-1/export').set(h.auth('enrolment'));
    expect(exported.body.verifications.map((v: Record<string, unknown>) => [v.decision, v.rawScore, v.normalisedScore, v.threshold, v.rawThreshold])).toEqual([
      ['accept', same.body.rawScore, same.body.normalisedScore, 0.5, 0.5],
      ['reject', near.body.rawScore, near.body.normalisedScore, 0.5, 0.5],
    ]);
    expectDocumented('SubjectExport', exported.body);
    const stats = await request(h.app).get('/v1/operator/stats').set(h.auth('operator'));
    expectDocumented('StatsResponse', stats.body);
    // 20 bins of 0.8 over [-4, 12); the accept lands above the 0.5 threshold, the reject below it.
    const binOf = (x: number) => Math.min(Math.max(Math.floor((x + 4) / 0.8), 0), 19);
    const hits = (stats.body.normalisedScoreHistograms.standard as { lower: number; accept: number; reject: number }[]).flatMap((b, i) => [
      ...Array<[string, number]>(b.accept).fill(['accept', i]),
      ...Array<[string, number]>(b.reject).fill(['reject', i]),
    ]);
    expect(hits).toEqual([
      ['reject', binOf(near.body.normalisedScore)],
      ['accept', binOf(same.body.normalisedScore)],
    ]);
    expect(binOf(near.body.normalisedScore)).toBeLessThan(binOf(0.5));
    expect(binOf(same.body.normalisedScore)).toBeGreaterThanOrEqual(binOf(0.5));
  });

  it('with a calibration, score is the LLR of the AS-norm score; before scoring normalisedScore is null', async () => {
    h = createHarness({ scorer: asNormOn(), calibration: { method: 'logistic', wideband: { a: 2, b: -1 } } });
    const before = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    expect(before.body).toMatchObject({ decision: 'no-consent', score: null, rawScore: null, normalisedScore: null, scoreScale: 'llr' });
    expectDocumented('VerificationResponse', before.body);
    await consentAndEnrol(h, 'cust-1', 200);
    const voiceprint = h.store.voiceprints.voiceprint(pseudonymOf(h.ctx, 'cust-1'))!.embedding;
    const res = await verifyWith(toneEmbedding(210));
    const norm = expectedAsNorm(voiceprint, toneEmbedding(210));
    expect(res.body).toMatchObject({ scoreScale: 'llr', normalisedScore: expect.closeTo(norm, 9), score: expect.closeTo(2 * norm - 1, 9), threshold: 0, rawThreshold: 0.5 });
  });

  it('explicit thresholds on the AS-norm scale: [-100, 100]; the policies view says which scale', async () => {
    h = createHarness({ scorer: asNormOn() });
    const put = (threshold: number) =>
      request(h.app)
        .put('/v1/operator/policies')
        .set(h.auth('operator'))
        .send({ policies: [{ name: 'standard', threshold, minNetSpeechSeconds: 3 }] });
    const ok = await put(3.5);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ scoreScale: 'as-norm', comparisonScale: 'as-norm', explanation: expect.stringMatching(/^The running model enables AS-norm/), policies: [{ name: 'standard', threshold: 3.5 }] });
    expectDocumented('PoliciesResponse', ok.body);
    const tooHigh = await put(150);
    expect(tooHigh.status).toBe(400);
    expect(tooHigh.body.issues.map((i: { path: string }) => i.path)).toEqual(['body.policies.0.threshold']);
  });
});

describe('a model that compares cosines', () => {
  it('refuses an explicit threshold outside [-1, 1] with a message that says why', async () => {
    h = createHarness();
    const res = await request(h.app)
      .put('/v1/operator/policies')
      .set(h.auth('operator'))
      .send({ policies: [{ name: 'standard', threshold: 3.5, minNetSpeechSeconds: 3 }] });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([
      { path: 'body.policies.0.threshold', message: 'the running model compares cosines: an explicit threshold is in [-1, 1] (only a model with AS-norm enabled takes [-100, 100])' },
    ]);
  });

  it('a manifest that declares AS-norm but leaves it off: cosine decisions, normalisedScore null', async () => {
    h = createHarness({ scorer: asNormOff() });
    await consentAndEnrol(h, 'cust-1', 200);
    const res = await verifyWith(toneEmbedding(320));
    expect(res.body).toMatchObject({ decision: 'accept', scoreScale: 'cosine', normalisedScore: null, threshold: 0.5 });
    expect(res.body.score).toBe(res.body.rawScore);
    expectDocumented('VerificationResponse', res.body);
    const audited = (await auditEntries(h)).filter((e) => e.action === 'verification');
    expect(audited[0]!.details).toMatchObject({ normalisedScore: null });
    expect(audited[0]!.details.scoreScale).toBeUndefined();
  });
});
