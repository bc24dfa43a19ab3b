/** Operator endpoints: policies, statistics, audit, lockout reset, metrics. Aggregates only. */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { toneWav } from '../passport/fakes.js';
import { auditEntries, consent, consentAndEnrol, createHarness, verifyCall, type Harness } from './harness.js';
import { expectDocumented } from './schema-check.js';

const T0 = '2026-03-01T09:00:00.000Z';
let h: Harness;
afterEach(() => h?.close());

// The fake model has no calibration: cosine scores, explicit thresholds (calibrated policies: policies-calibrated.test.ts).
const uncalibrated = {
  scoreScale: 'cosine',
  comparisonScale: 'cosine',
  explanation: 'score and rawScore: cosine similarity of speaker embeddings, -1 to 1 (accept when score ≥ threshold). The running model has no calibration: policies need explicit thresholds.',
  calibration: null,
  warnings: [],
};
const explicit = { targetFmr: null, targetFmrBound: null, thresholdSource: 'explicit', channels: null };
const seeded = [
  { name: 'high', threshold: 0.6, minNetSpeechSeconds: 5, description: 'Payments and changes to contact details.', ...explicit, updatedBy: null, updatedAt: T0 },
  { name: 'standard', threshold: 0.5, minNetSpeechSeconds: 3, description: 'Caller authentication for account information.', ...explicit, updatedBy: null, updatedAt: T0 },
];

describe('policies', () => {
  it('GET lists the seeded defaults with the score scale', async () => {
    h = createHarness();
    const res = await request(h.app).get('/v1/operator/policies').set(h.auth('operator'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ policies: seeded, ...uncalibrated });
  });

  it('If-Match: a PUT made on the version read applies, one made on a set changed since is refused with 412 and changes nothing', async () => {
    h = createHarness();
    const get = () => request(h.app).get('/v1/operator/policies').set(h.auth('operator'));
    const put = (ifMatch: string | undefined, threshold: number) => {
      const r = request(h.app).put('/v1/operator/policies').set(h.auth('operator'));
      if (ifMatch !== undefined) r.set('If-Match', ifMatch);
      return r.send({ policies: [{ name: 'standard', threshold, minNetSpeechSeconds: 3 }, { name: 'high', threshold: 0.6, minNetSpeechSeconds: 5 }] });
    };
    const first = await get();
    const v1 = first.headers.etag;
    expect(v1).toMatch(/^"[0-9a-f]{32}"$/);
    // The same set read again: the same version.
    expect((await get()).headers.etag).toBe(v1);

    // Two operators open the editor on v1; the first saves.
    h.clock.advance(1000);
    const saved = await put(v1, 0.55);
    expect(saved.status).toBe(200);
    const v2 = saved.headers.etag;
    expect(v2).toMatch(/^"[0-9a-f]{32}"$/);
    expect(v2).not.toBe(v1);
    expect((await get()).headers.etag).toBe(v2);

    // The second saves over v1: refused, nothing changed or audited.
    const audited = (await auditEntries(h)).filter((e) => e.action === 'policy.updated').length;
    const stale = await put(v1, 0.9);
    expect(stale.status).toBe(412);
    expect(stale.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(stale.body).toEqual({
      type: 'https://voice-passport.dev/problems/precondition-failed',
      title: 'The resource changed since it was read',
      status: 412,
      code: 'precondition-failed',
      detail: 'The policies were changed since this version was read (If-Match); read them again (GET /v1/operator/policies) and make the change on the current set.',
      instance: '/v1/operator/policies',
      requestId: stale.headers['x-request-id'],
    });
    // A weak tag never matches (strong comparison, RFC 9110 §13.1.1).
    expect((await put(`W/${v2}`, 0.9)).status).toBe(412);
    const now = await get();
    expect(now.body.policies.find((p: { name: string }) => p.name === 'standard').threshold).toBe(0.55);
    expect((await auditEntries(h)).filter((e) => e.action === 'policy.updated')).toHaveLength(audited);

    // One of several tags, "*", or no If-Match at all: applied.
    expect((await put(`"0000", ${v2}`, 0.6)).status).toBe(200);
    expect((await put('*', 0.65)).status).toBe(200);
    expect((await put(undefined, 0.7)).status).toBe(200);
    expect((await get()).body.policies.find((p: { name: string }) => p.name === 'standard').threshold).toBe(0.7);
    // Not an entity tag: 400.
    const malformed = await put('abc', 0.9);
    expect([malformed.status, malformed.body.code]).toEqual([400, 'validation-failed']);
  });

  it('PUT replaces the set: changed, created and removed policies, each audited; verification uses them at once', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    h.clock.advance(60_000);
    const T1 = '2026-03-01T09:01:00.000Z';
    const body = {
      policies: [
        { name: 'standard', threshold: 0.95, minNetSpeechSeconds: 2, description: 'Stricter.' },
        { name: 'payments', threshold: 0.7, minNetSpeechSeconds: 6 },
      ],
    };
    const res = await request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send(body);
    expect(res.status).toBe(200);
    const expected = {
      policies: [
        { name: 'payments', threshold: 0.7, minNetSpeechSeconds: 6, description: '', ...explicit, updatedBy: h.keyIds.operator, updatedAt: T1 },
        { name: 'standard', threshold: 0.95, minNetSpeechSeconds: 2, description: 'Stricter.', ...explicit, updatedBy: h.keyIds.operator, updatedAt: T1 },
      ],
      ...uncalibrated,
    };
    expect(res.body).toEqual(expected);
    expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body).toEqual(expected);
    const audit = (await auditEntries(h)).filter((e) => e.action === 'policy.updated');
    expect(audit.map((e) => [e.outcome, e.actorKeyId, e.details])).toEqual([
      ['changed', h.keyIds.operator, { name: 'standard', threshold: 0.95, minNetSpeechSeconds: 2, previous: { threshold: 0.5, minNetSpeechSeconds: 3 } }],
      ['created', h.keyIds.operator, { name: 'payments', threshold: 0.7, minNetSpeechSeconds: 6, previous: null }],
      ['deleted', h.keyIds.operator, { name: 'high', previous: { threshold: 0.6, minNetSpeechSeconds: 5 } }],
    ]);
    // 250 Hz against the 200 Hz voiceprint scores cos(π/8) ≈ 0.92: below the new threshold.
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 250, seconds: 2.5 }))).body).toMatchObject({ decision: 'reject', threshold: 0.95, policy: 'standard' });
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }), '?policy=high')).status).toBe(400);

    // The same body again changes nothing and audits nothing.
    await request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send(body);
    expect((await auditEntries(h)).filter((e) => e.action === 'policy.updated')).toHaveLength(3);

    // A restart keeps the operator's set: the deleted default tier "high" does not come back.
    h.reopen();
    expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body).toEqual(expected);
    expect((await auditEntries(h)).filter((e) => e.action === 'policy.updated')).toHaveLength(3);
  });

  it('refuses a set without "standard", duplicates, out-of-range values and unknown fields', async () => {
    h = createHarness();
    const put = (body: unknown) => request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send(body as object);
    const noStandard = await put({ policies: [{ name: 'high', threshold: 0.6, minNetSpeechSeconds: 5 }] });
    expect(noStandard.status).toBe(400);
    expect(noStandard.body.issues).toEqual([{ path: 'body.policies', message: 'the default policy "standard" must stay' }]);
    const dup = await put({ policies: [{ name: 'standard', threshold: 0.5, minNetSpeechSeconds: 3 }, { name: 'standard', threshold: 0.6, minNetSpeechSeconds: 3 }] });
    expect(dup.body.issues).toEqual([{ path: 'body.policies', message: 'policy names must be unique' }]);
    const range = await put({ policies: [{ name: 'standard', threshold: 1.5, minNetSpeechSeconds: 0.1 }] });
    expect(range.body.issues.map((i: { path: string }) => i.path)).toEqual(['body.policies.0.threshold', 'body.policies.0.minNetSpeechSeconds']);
    const unknown = await put({ policies: [{ name: 'standard', threshold: 0.5, minNetSpeechSeconds: 3, fmr: 0.01 }] });
    expect(unknown.body.issues).toEqual([{ path: 'body.policies.0', message: 'Unrecognized key: "fmr"' }]);
    expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body.policies).toEqual(seeded);
  });
});

describe('GET /v1/operator/stats', () => {
  it('counts by decision and policy, histograms, funnel and lockouts, within from/to, in all and per channel', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    await consent(h, 'cust-2');
    await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    await verifyCall(h, 'cust-1', toneWav({ freq: 400, seconds: 4 }));
    await verifyCall(h, 'cust-2', toneWav({ freq: 200, seconds: 4 }));
    // Two phone calls: the enrolled voice, and one with no speech at all.
    await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4, sampleRate: 8000 }));
    await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 0, silenceSeconds: 2, sampleRate: 8000 }));
    h.clock.advance(86_400_000);
    await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 6 }), '?policy=high');

    const zero = { accept: 0, reject: 0, inconclusive: 0, 'not-enrolled': 0, 'no-consent': 0, locked: 0 };
    const res = await request(h.app).get('/v1/operator/stats').set(h.auth('operator'));
    expect(res.status).toBe(200);
    const bins = (hits: Record<number, { accept?: number; reject?: number }>) =>
      Array.from({ length: 20 }, (_, i) => ({ lower: Math.round((-1 + i * 0.1) * 100) / 100, upper: Math.round((-0.9 + i * 0.1) * 100) / 100, accept: hits[i]?.accept ?? 0, reject: hits[i]?.reject ?? 0 }));
    const emptyNormalisedBins = Array.from({ length: 20 }, (_, i) => ({ lower: Math.round((-4 + i * 0.8) * 100) / 100, upper: Math.round((-3.2 + i * 0.8) * 100) / 100, accept: 0, reject: 0 }));
    expect(res.body).toEqual({
      from: null,
      to: null,
      verifications: {
        total: 6,
        byDecision: { ...zero, accept: 3, reject: 1, inconclusive: 1, 'not-enrolled': 1 },
        byPolicy: { high: { ...zero, accept: 1 }, standard: { ...zero, accept: 2, reject: 1, inconclusive: 1, 'not-enrolled': 1 } },
      },
      // Scores: ≈1 (same tone) in the last bin, ≈0 (orthogonal tone) in the bin [0, 0.1).
      scoreHistograms: { high: bins({ 19: { accept: 1 } }), standard: bins({ 19: { accept: 2 }, 10: { reject: 1 } }) },
      // The fake model does not normalise scores: nothing on the AS-norm scale (test/http/as-norm.test.ts has it).
      normalisedScoreHistograms: { high: emptyNormalisedBins, standard: emptyNormalisedBins },
      // The not-enrolled call analysed no audio, so it has no channel and is in the totals only.
      byChannel: {
        wideband: {
          verifications: { total: 3, byDecision: { ...zero, accept: 2, reject: 1 }, byPolicy: { high: { ...zero, accept: 1 }, standard: { ...zero, accept: 1, reject: 1 } } },
          scoreHistograms: { high: bins({ 19: { accept: 1 } }), standard: bins({ 19: { accept: 1 }, 10: { reject: 1 } }) },
          normalisedScoreHistograms: { high: emptyNormalisedBins, standard: emptyNormalisedBins },
          inconclusiveReasons: {},
        },
        telephone: {
          verifications: { total: 2, byDecision: { ...zero, accept: 1, inconclusive: 1 }, byPolicy: { standard: { ...zero, accept: 1, inconclusive: 1 } } },
          scoreHistograms: { standard: bins({ 19: { accept: 1 } }) },
          normalisedScoreHistograms: { standard: emptyNormalisedBins },
          inconclusiveReasons: { 'insufficient-speech': 1 },
        },
      },
      // Every call here sent a recording (streams: test/http/verification-stream.test.ts).
      byTransport: {
        request: {
          verifications: { total: 6, byDecision: { ...zero, accept: 3, reject: 1, inconclusive: 1, 'not-enrolled': 1 }, byPolicy: { high: { ...zero, accept: 1 }, standard: { ...zero, accept: 2, reject: 1, inconclusive: 1, 'not-enrolled': 1 } } },
          inconclusiveReasons: { 'insufficient-speech': 1 },
        },
        stream: { verifications: { total: 0, byDecision: zero, byPolicy: {} }, inconclusiveReasons: {} },
      },
      enrolment: { subjects: 2, enrolling: 0, enrolled: 1 },
      lockouts: { lockedDecisions: 0, verificationDisabledNow: 0 },
      outcomes: {},
    });
    expectDocumented('StatsResponse', res.body);

    const day2 = await request(h.app).get('/v1/operator/stats?from=2026-03-02&to=2026-03-03T00:00:00Z').set(h.auth('operator'));
    expect(day2.body).toMatchObject({
      from: '2026-03-02T00:00:00.000Z',
      to: '2026-03-03T00:00:00.000Z',
      verifications: { total: 1, byDecision: { ...zero, accept: 1 } },
      byChannel: { wideband: { verifications: { total: 1 } }, telephone: { verifications: { total: 0, byDecision: zero, byPolicy: {} }, inconclusiveReasons: {} } },
    });
    // Aggregates only: no pseudonym, no key id.
    expect(JSON.stringify(res.body)).not.toMatch(/[0-9a-f]{64}|key_/);
  });

  it('400 for a bad range', async () => {
    h = createHarness();
    const bad = await request(h.app).get('/v1/operator/stats?from=yesterday').set(h.auth('operator'));
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(['query.from']);
    const beyond = await request(h.app).get('/v1/audit?from=9999-12-31T23:59:59.999-23:59').set(h.auth('operator'));
    expect([beyond.status, beyond.body.issues]).toEqual([400, [{ path: 'query.from', message: 'must lie between the years 0000 and 9999 in UTC' }]]);
    const reversed = await request(h.app).get('/v1/operator/stats?from=2026-03-02&to=2026-03-01').set(h.auth('operator'));
    expect(reversed.body.issues).toEqual([{ path: 'query.from', message: '"from" must be before "to"' }]);
  });
});

describe('GET /v1/audit', () => {
  it('pages through the hash-chained log by sequence number, filters by action', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    await consent(h, 'cust-2');
    const all = await auditEntries(h);
    // 4 key.created entries from the harness, then the two consents.
    expect(all.map((e) => [e.seq, e.action])).toEqual([
      [1, 'key.created'],
      [2, 'key.created'],
      [3, 'key.created'],
      [4, 'key.created'],
      [5, 'consent.given'],
      [6, 'consent.given'],
    ]);
    for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);

    const page1 = await request(h.app).get('/v1/audit?limit=4').set(h.auth('operator'));
    expect(page1.body).toEqual({ entries: all.slice(0, 4), nextAfterSeq: 4, head: { seq: 6, hash: all[5]!.hash }, prunedThrough: null });
    const page2 = await request(h.app).get('/v1/audit?limit=4&afterSeq=4').set(h.auth('operator'));
    expect(page2.body).toEqual({ entries: all.slice(4), nextAfterSeq: null, head: { seq: 6, hash: all[5]!.hash }, prunedThrough: null });
    const consents = await request(h.app).get('/v1/audit?action=consent.given').set(h.auth('operator'));
    expect(consents.body.entries).toEqual(all.slice(4));
    expect(JSON.stringify(all)).not.toMatch(/cust-/);

    const bad = await request(h.app).get('/v1/audit?limit=0&action=nope').set(h.auth('operator'));
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(['query.limit', 'query.action']);
  });
});

describe('POST /v1/operator/subjects/{id}/reset-lockout', () => {
  it('404 for an unknown subject', async () => {
    h = createHarness();
    const res = await request(h.app).post('/v1/operator/subjects/nobody/reset-lockout').set(h.auth('operator'));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'not-found', detail: 'Nothing is held about this subject.' });
    expect((await auditEntries(h)).filter((e) => e.action === 'attempts.reset')).toEqual([]);
  });
});

describe('GET /metrics', () => {
  it('Prometheus text: requests by route pattern and status, decisions by policy and channel, engine gauges, model latency; no customer ids', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-4711', 200);
    await verifyCall(h, 'cust-4711', toneWav({ freq: 200, seconds: 4 }));
    await verifyCall(h, 'cust-4711', toneWav({ freq: 400, seconds: 4 }));
    await verifyCall(h, 'cust-4711', toneWav({ freq: 200, seconds: 4, sampleRate: 8000 }));
    await verifyCall(h, 'cust-0815', toneWav({ freq: 200, seconds: 4 }));
    await request(h.app).get('/v1/subjects/cust-4711');
    const res = await request(h.app).get('/metrics').set(h.auth('operator'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(text).toContain('voice_passport_http_requests_total{method="POST",route="/v1/subjects/:id/verifications",status="200"} 4');
    expect(text).toContain('voice_passport_http_requests_total{method="PUT",route="/v1/subjects/:id/consent",status="200"} 1');
    expect(text).toContain('voice_passport_http_requests_total{method="GET",route="/v1/subjects/:id",status="401"} 1');
    expect(text).toMatch(/voice_passport_http_request_duration_seconds_count\{method="POST",route="\/v1\/subjects\/:id\/enrolments",status="200"\} 2/);
    expect(text).toContain('voice_passport_verification_decisions_total{policy="standard",decision="accept",channel="wideband"} 1');
    expect(text).toContain('voice_passport_verification_decisions_total{policy="standard",decision="reject",channel="wideband"} 1');
    expect(text).toContain('voice_passport_verification_decisions_total{policy="standard",decision="accept",channel="telephone"} 1');
    // No consent: nothing was analysed, so no channel.
    expect(text).toContain('voice_passport_verification_decisions_total{policy="standard",decision="no-consent",channel="none"} 1');
    expect(text).toContain('voice_passport_enrolment_samples_total{outcome="accepted"} 1');
    expect(text).toContain('voice_passport_enrolment_samples_total{outcome="enrolled"} 1');
    expect(text).toContain('voice_passport_engine_queue_depth 3');
    expect(text).toContain('voice_passport_engine_busy_workers 1');
    expect(text).toContain('voice_passport_engine_workers 2');
    // 2 enrolment samples + 3 verifications reached the model (not the one without consent).
    expect(text).toContain('voice_passport_model_analysis_seconds_count{outcome="ok"} 5');
    expect(text).not.toContain('cust-4711');
    expect(text).not.toContain('cust-0815');
  });
});
