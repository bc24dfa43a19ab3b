/** PUT /v1/verifications/{id}/outcome, and the error rates among reported calls in GET /v1/operator/stats. */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { purgeExpiredHistory } from '../../src/passport/retention.js';
import { runThrough } from '../../src/passport/steps.js';
import { toneWav } from '../passport/fakes.js';
import { auditEntries, consentAndEnrol, createHarness, exportSubject, verifyCall, type Harness } from './harness.js';

const T0 = '2026-03-01T09:00:00.000Z';
let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(() => h.close());

const report = (id: string, body: unknown, role: 'telephony' | 'operator' | 'enrolment' = 'operator') =>
  request(h.app).put(`/v1/verifications/${id}/outcome`).set(h.auth(role)).send(body as object);
const stats = async () => (await request(h.app).get('/v1/operator/stats').set(h.auth('operator'))).body;

/** An accepted call (the enrolled tone) and a rejected one (another tone), both of `cust-1`. */
async function twoCalls(): Promise<{ accepted: string; rejected: string }> {
  await consentAndEnrol(h, 'cust-1', 200);
  const a = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
  const r = await verifyCall(h, 'cust-1', toneWav({ freq: 400, seconds: 4 }));
  expect([a.body.decision, r.body.decision]).toEqual(['accept', 'reject']);
  return { accepted: a.body.verificationId, rejected: r.body.verificationId };
}

describe('PUT /v1/verifications/{id}/outcome', () => {
  it('records what a call really was and what that makes of the decision; the statistics, the export and the audit log show it', async () => {
    const { accepted, rejected } = await twoCalls();
    // The rejected caller then passed the security questions: the customer after all.
    const res = await report(rejected, { truth: 'genuine', source: 'step-up' }, 'telephony');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      verificationId: rejected,
      policy: 'standard',
      decision: 'reject',
      outcome: { truth: 'genuine', source: 'step-up', reportedAt: T0 },
      assessment: 'false-non-match',
      verificationDisabled: false,
    });
    // A fraud case finds the accepted call was someone else: whoever it was can pass again, so the
    // customer's voice verification is disabled until an operator resets it.
    expect((await report(accepted, { truth: 'impostor', source: 'fraud-case' })).body).toMatchObject({ assessment: 'false-match', verificationDisabled: true });
    const locked = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    expect([locked.body.decision, locked.body.reasons]).toEqual(['locked', ['verification-disabled']]);

    const s = await stats();
    const oneOfOne = { errors: 1, decided: 1, rate: 1, low95: 0.2065, high95: 1 };
    const rates = {
      genuine: { reported: 1, accepted: 0, rejected: 1, inconclusive: 0, falseNonMatchRate: oneOfOne },
      impostor: { reported: 1, accepted: 1, rejected: 0, inconclusive: 0, falseMatchRate: oneOfOne },
    };
    const none = { reported: 0, accepted: 0, rejected: 0, inconclusive: 0 };
    // Both calls were wideband recordings: the telephone channel has none.
    expect(s.outcomes).toEqual({
      standard: { ...rates, byChannel: { wideband: rates, telephone: { genuine: { ...none, falseNonMatchRate: null }, impostor: { ...none, falseMatchRate: null } } } },
    });
    const exported = (await exportSubject(h, 'cust-1')).body.verifications as Array<{ id: string; outcome: unknown }>;
    expect(exported.map((v) => [v.id, v.outcome])).toEqual([
      [accepted, { truth: 'impostor', source: 'fraud-case', reportedAt: T0 }],
      [rejected, { truth: 'genuine', source: 'step-up', reportedAt: T0 }],
      [locked.body.verificationId, null],
    ]);
    const metrics = (await request(h.app).get('/metrics').set(h.auth('operator'))).text;
    expect(metrics).toContain('voice_passport_reported_outcomes_total{policy="standard",assessment="false-non-match"} 1');
    expect(metrics).toContain('voice_passport_reported_outcomes_total{policy="standard",assessment="false-match"} 1');
    const audit = (await auditEntries(h)).filter((e) => e.action === 'verification.outcome-reported');
    expect(audit.map((e) => [e.actorKeyId, e.subjectPseudonym, e.outcome, e.details])).toEqual([
      [h.keyIds.telephony, h.store.pseudonymise('cust-1'), 'false-non-match', { verificationId: rejected, policy: 'standard', decision: 'reject', truth: 'genuine', source: 'step-up' }],
      [h.keyIds.operator, h.store.pseudonymise('cust-1'), 'false-match', { verificationId: accepted, policy: 'standard', decision: 'accept', truth: 'impostor', source: 'fraud-case', verificationDisabled: true }],
    ]);
    // The operator's reset restores it; the reset is audited as any.
    const reset = await request(h.app).post('/v1/operator/subjects/cust-1/reset-lockout').set(h.auth('operator'));
    expect(reset.body.attempts).toEqual({ consecutiveRejects: 0, locked: false, retryAfterSeconds: null, disabled: false });
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('accept');
  });

  it('a later report replaces the earlier one; verification it disabled stays disabled until a reset', async () => {
    const { accepted } = await twoCalls();
    expect((await report(accepted, { truth: 'impostor', source: 'customer-report' })).body).toMatchObject({ assessment: 'false-match', verificationDisabled: true });
    h.clock.advance(86_400_000);
    const corrected = await report(accepted, { truth: 'genuine', source: 'fraud-case' });
    expect(corrected.body).toMatchObject({ outcome: { truth: 'genuine', source: 'fraud-case', reportedAt: '2026-03-02T09:00:00.000Z' }, assessment: 'correct', verificationDisabled: true });
    expect((await request(h.app).get('/v1/subjects/cust-1').set(h.auth('enrolment'))).body.attempts.disabled).toBe(true);
    expect((await stats()).outcomes.standard).toMatchObject({
      genuine: { reported: 1, accepted: 1, rejected: 0, inconclusive: 0, falseNonMatchRate: { errors: 0, decided: 1, rate: 0, low95: 0, high95: 0.7935 } },
      impostor: { reported: 0, accepted: 0, rejected: 0, inconclusive: 0, falseMatchRate: null },
    });
  });

  it('counts a call\'s assessment once in /metrics: a retried report is not a second one, a correction counts its new assessment', async () => {
    const { accepted } = await twoCalls();
    const count = async (assessment: string) => {
      const m = /voice_passport_reported_outcomes_total\{policy="standard",assessment="([a-z-]+)"\} (\d+)/g;
      const text = (await request(h.app).get('/metrics').set(h.auth('operator'))).text;
      return [...text.matchAll(m)].find((x) => x[1] === assessment)?.[2] ?? '0';
    };
    for (let i = 0; i < 3; i++) expect((await report(accepted, { truth: 'impostor', source: 'fraud-case' })).body.assessment).toBe('false-match');
    expect(await count('false-match')).toBe('1');
    // The same assessment from another source is no news either.
    await report(accepted, { truth: 'impostor', source: 'customer-report' });
    expect(await count('false-match')).toBe('1');
    expect((await report(accepted, { truth: 'genuine', source: 'fraud-case' })).body.assessment).toBe('correct');
    expect(await count('correct')).toBe('1');
    // The API's answer is as before: no internal flag leaks.
    expect(Object.keys((await report(accepted, { truth: 'genuine', source: 'fraud-case' })).body).sort()).toEqual(['assessment', 'decision', 'outcome', 'policy', 'verificationDisabled', 'verificationId']);
  });

  it("a telephony key corrects its own kind of report, never an operator's finding", async () => {
    const { accepted } = await twoCalls();
    expect((await report(accepted, { truth: 'impostor', source: 'agent' }, 'telephony')).body.outcome).toMatchObject({ truth: 'impostor', source: 'agent' });
    expect((await report(accepted, { truth: 'genuine', source: 'step-up' }, 'telephony')).body.outcome).toMatchObject({ truth: 'genuine', source: 'step-up' });
    expect((await report(accepted, { truth: 'impostor', source: 'fraud-case' })).body.assessment).toBe('false-match');
    const overwrite = await report(accepted, { truth: 'genuine', source: 'agent' }, 'telephony');
    expect(overwrite.status).toBe(403);
    expect(overwrite.body).toMatchObject({ code: 'forbidden', detail: 'This verification\'s outcome was reported by an operator (source "fraud-case"); a telephony key cannot replace it.' });
    // Re-read: the finding stands, in the statistics and in the audit log (three reports, no fourth).
    expect((await stats()).outcomes.standard).toMatchObject({ genuine: { reported: 0 }, impostor: { reported: 1, accepted: 1 } });
    expect((await auditEntries(h)).filter((e) => e.action === 'verification.outcome-reported').map((e) => e.details.source)).toEqual(['agent', 'step-up', 'fraud-case']);
    // An operator may still correct it.
    expect((await report(accepted, { truth: 'genuine', source: 'customer-report' })).status).toBe(200);
    // An operator's report under a source a telephony key may use too (an agent's finding) is still the operator's.
    expect((await report(accepted, { truth: 'impostor', source: 'agent' })).body.assessment).toBe('false-match');
    const overAgent = await report(accepted, { truth: 'genuine', source: 'step-up' }, 'telephony');
    expect([overAgent.status, overAgent.body.detail]).toEqual([403, 'This verification\'s outcome was reported by an operator (source "agent"); a telephony key cannot replace it.']);
    expect((await stats()).outcomes.standard).toMatchObject({ genuine: { reported: 0 }, impostor: { reported: 1, accepted: 1 } });
  });

  it('refuses what cannot be an error, what is unknown, and what the key may not report, storing nothing', async () => {
    const { accepted } = await twoCalls();
    const noConsent = (await verifyCall(h, 'someone-else', toneWav({ freq: 200, seconds: 4 }))).body;
    expect(noConsent.decision).toBe('no-consent');
    const unscored = await report(noConsent.verificationId, { truth: 'impostor', source: 'fraud-case' });
    expect(unscored.status).toBe(409);
    expect(unscored.body).toMatchObject({
      code: 'verification-not-scored',
      detail: 'The verification was decided without comparing a voice (no-consent), so it can be neither a false match nor a false non-match.',
    });
    const unknown = await report('6f1c2b9e-0d7a-4c51-9a43-2f0e8b7d1c65', { truth: 'genuine', source: 'agent' });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'not-found']);
    const badId = await report('not-a-uuid', { truth: 'genuine', source: 'agent' });
    expect([badId.status, badId.body.issues[0].path]).toEqual([400, 'path.verificationId']);
    const badBody = await report(accepted, { truth: 'maybe', source: 'agent', note: 'x' });
    expect(badBody.status).toBe(400);
    expect(badBody.body.issues.map((i: { path: string }) => i.path)).toEqual(['body.truth', 'body']);
    // A platform reports what the call itself showed; investigations come through operators.
    const telephony = await report(accepted, { truth: 'impostor', source: 'fraud-case' }, 'telephony');
    expect([telephony.status, telephony.body.code, telephony.body.detail]).toEqual([403, 'forbidden', 'A telephony key reports what the call itself showed only (source "step-up" or "agent").']);
    expect((await report(accepted, { truth: 'genuine', source: 'agent' }, 'enrolment')).status).toBe(403);
    expect((await stats()).outcomes).toEqual({});
    expect((await auditEntries(h)).filter((e) => e.action === 'verification.outcome-reported')).toEqual([]);
  });

  it("goes with its verification: an erasure or the history's retention takes the outcome too", async () => {
    const { accepted, rejected } = await twoCalls();
    await report(accepted, { truth: 'genuine', source: 'agent' });
    await report(rejected, { truth: 'genuine', source: 'step-up' });
    await consentAndEnrol(h, 'cust-2', 300);
    h.clock.advance(10 * 86_400_000);
    const later = (await verifyCall(h, 'cust-2', toneWav({ freq: 300, seconds: 4 }))).body.verificationId;
    await report(later, { truth: 'genuine', source: 'agent' });
    expect((await stats()).outcomes.standard.genuine.reported).toBe(3);

    // cust-1's records are 10 days old: a 5-day history retention erases them and their outcomes.
    expect(runThrough(purgeExpiredHistory(h.store, { historyRetentionDays: 5, now: h.clock() })).erased).toBe(2);
    expect((await stats()).outcomes.standard.genuine).toMatchObject({ reported: 1, accepted: 1 });
    expect((await report(accepted, { truth: 'impostor', source: 'fraud-case' })).status).toBe(404);

    expect((await request(h.app).delete('/v1/subjects/cust-2').set(h.auth('enrolment'))).status).toBe(200);
    expect((await stats()).outcomes).toEqual({});
    expect(h.store.db.get<{ n: number }>('SELECT count(*) AS n FROM verification_outcomes')!.n).toBe(0);
  });
});
