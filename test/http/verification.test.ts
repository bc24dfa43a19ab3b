/** POST /v1/subjects/{id}/verifications: decisions, policies, attempt limiting, model changes. */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeModelId, toneWav } from '../passport/fakes.js';
import { auditEntries, consent, consentAndEnrol, createHarness, enrolSample, exportSubject, getSubject, verifyCall, type Harness } from './harness.js';

const T0 = '2026-03-01T09:00:00.000Z';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let h: Harness;
afterEach(() => h?.close());

const voice = (freq: number, seconds = 4) => toneWav({ freq, seconds });
/** The fake's cosine between tones a and b (see fakes.ts). */
const fakeCosine = (a: number, b: number) => Math.cos(((b - a) / 200) * (Math.PI / 2));

describe('decisions', () => {
  it('accept for the same speaker, reject for another, each recorded and audited', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    const same = await verifyCall(h, 'cust-1', voice(200));
    expect(same.status).toBe(200);
    expect(same.body).toEqual({
      verificationId: expect.stringMatching(uuid),
      occurredAt: T0,
      decision: 'accept',
      reasons: ['score-above-threshold'],
      score: same.body.rawScore,
      rawScore: expect.closeTo(1, 5),
      scoreScale: 'cosine',
      threshold: 0.5,
      rawThreshold: 0.5,
      channel: 'wideband',
      policy: 'standard',
      netSpeechSeconds: 4,
      model: fakeModelId,
    });
    const other = await verifyCall(h, 'cust-1', voice(400));
    expect(other.body).toEqual({
      verificationId: expect.stringMatching(uuid),
      occurredAt: T0,
      decision: 'reject',
      reasons: ['score-below-threshold'],
      score: other.body.rawScore,
      rawScore: expect.closeTo(fakeCosine(200, 400), 2),
      scoreScale: 'cosine',
      threshold: 0.5,
      rawThreshold: 0.5,
      channel: 'wideband',
      policy: 'standard',
      netSpeechSeconds: 4,
      model: fakeModelId,
    });

    const exported = await exportSubject(h, 'cust-1');
    expect(exported.body.verifications).toEqual([
      { id: same.body.verificationId, occurredAt: T0, policy: 'standard', decision: 'accept', reasons: ['score-above-threshold'], score: same.body.score, rawScore: same.body.rawScore, normalisedScore: null, threshold: 0.5, rawThreshold: 0.5, netSpeechSeconds: 4, channel: 'wideband', transport: 'request', model: fakeModelId, outcome: null },
      { id: other.body.verificationId, occurredAt: T0, policy: 'standard', decision: 'reject', reasons: ['score-below-threshold'], score: other.body.score, rawScore: other.body.rawScore, normalisedScore: null, threshold: 0.5, rawThreshold: 0.5, netSpeechSeconds: 4, channel: 'wideband', transport: 'request', model: fakeModelId, outcome: null },
    ]);
    const view = await getSubject(h, 'cust-1');
    expect(view.body.lastUsedAt).toBe(T0);
    expect(view.body.counts).toEqual({ verifications: 2, consentEvents: 1 });
    expect(view.body.attempts).toEqual({ consecutiveRejects: 1, locked: false, retryAfterSeconds: null, disabled: false });
    const audited = (await auditEntries(h)).filter((e) => e.action === 'verification');
    expect(audited.map((e) => [e.outcome, e.actorKeyId, e.details.verificationId, e.details.channel, e.details.transport])).toEqual([
      ['accept', h.keyIds.telephony, same.body.verificationId, 'wideband', 'request'],
      ['reject', h.keyIds.telephony, other.body.verificationId, 'wideband', 'request'],
    ]);
  });

  it('two identical calls compute twice: no caching', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const calls = h.embedder.calls;
    const a = await verifyCall(h, 'cust-1', voice(210));
    const b = await verifyCall(h, 'cust-1', voice(210));
    expect(h.embedder.calls).toBe(calls + 2);
    expect(a.body.verificationId).not.toBe(b.body.verificationId);
    expect(a.headers['cache-control']).toBe('no-store');
    expect((await getSubject(h, 'cust-1')).body.counts.verifications).toBe(2);
  });

  it('inconclusive with the seconds still needed: too little speech, or none', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const short = await verifyCall(h, 'cust-1', voice(200, 1.2));
    expect(short.body).toEqual({
      verificationId: expect.stringMatching(uuid),
      occurredAt: T0,
      decision: 'inconclusive',
      reasons: ['insufficient-speech'],
      score: short.body.rawScore,
      rawScore: expect.closeTo(1, 5),
      scoreScale: 'cosine',
      threshold: 0.5,
      rawThreshold: 0.5,
      channel: 'wideband',
      policy: 'standard',
      netSpeechSeconds: 1.2,
      model: fakeModelId,
      additionalSpeechSecondsNeeded: 1.8,
    });
    const silence = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 0, silenceSeconds: 2 }));
    expect(silence.body).toMatchObject({ decision: 'inconclusive', reasons: ['insufficient-speech'], score: null, rawScore: null, channel: 'wideband', netSpeechSeconds: 0, additionalSpeechSecondsNeeded: 3 });
    // A silent phone call is still a phone call: answered on the telephone channel.
    const silentCall = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 0, silenceSeconds: 2, sampleRate: 8000 }));
    expect(silentCall.body).toMatchObject({ decision: 'inconclusive', reasons: ['insufficient-speech'], score: null, channel: 'telephone', netSpeechSeconds: 0, additionalSpeechSecondsNeeded: 3 });
    h.embedder.overrides.push({ snrDb: 1 });
    const noisy = await verifyCall(h, 'cust-1', voice(200));
    expect(noisy.body).toMatchObject({ decision: 'inconclusive', reasons: ['low-snr'] });
    expect(noisy.body.additionalSpeechSecondsNeeded).toBeUndefined();
    // Inconclusive attempts count neither way.
    expect((await getSubject(h, 'cust-1')).body.attempts.consecutiveRejects).toBe(0);
  });

  it('?policy=high asks for more speech and a higher score; an unknown policy is a 400', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    // cos((260-200)/200·π/2) ≈ 0.89: accepted by both; 4 s is below high's 5 s.
    expect((await verifyCall(h, 'cust-1', voice(260, 4), '?policy=high')).body).toMatchObject({ decision: 'inconclusive', policy: 'high', threshold: 0.6, additionalSpeechSecondsNeeded: 1 });
    // cos((320-200)/200·π/2) ≈ 0.588: standard accepts, high rejects.
    expect((await verifyCall(h, 'cust-1', voice(320, 6), '?policy=high')).body).toMatchObject({ decision: 'reject', policy: 'high', threshold: 0.6, rawScore: expect.closeTo(fakeCosine(200, 320), 2) });
    expect((await verifyCall(h, 'cust-1', voice(320, 6), '?policy=standard')).body).toMatchObject({ decision: 'accept', policy: 'standard' });
    const unknown = await verifyCall(h, 'cust-1', voice(200), '?policy=lenient');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ code: 'validation-failed', detail: 'There is no policy "lenient".', availablePolicies: ['high', 'standard'] });
    const extra = await verifyCall(h, 'cust-1', voice(200), '?policy=high&cache=1');
    expect(extra.status).toBe(400);
    expect(extra.body.issues).toEqual([{ path: 'query', message: 'Unrecognized key: "cache"' }]);
  });
});

describe('decisions made before the audio is read', () => {
  it('no-consent for a subject who never consented; no subject is made of them, only the call is recorded', async () => {
    h = createHarness();
    const res = await verifyCall(h, 'stranger', voice(200));
    expect(res.body).toEqual({
      verificationId: expect.stringMatching(uuid),
      occurredAt: T0,
      decision: 'no-consent',
      reasons: ['consent-not-active'],
      score: null,
      rawScore: null,
      scoreScale: 'cosine',
      threshold: 0.5,
      rawThreshold: 0.5,
      channel: null,
      policy: 'standard',
      netSpeechSeconds: null,
      model: fakeModelId,
    });
    expect(h.embedder.calls).toBe(0);
    expect(h.store.subjects.find(h.store.pseudonymise('stranger'))).toBeUndefined();
    expect((await getSubject(h, 'stranger')).body).toMatchObject({ consent: { active: false }, enrolment: { state: 'none', voiceprint: null }, counts: { verifications: 1, consentEvents: 0 } });
  });

  it('not-enrolled with consent but no voiceprint, and after an erasure', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    expect((await verifyCall(h, 'cust-1', voice(200))).body).toMatchObject({ decision: 'not-enrolled', reasons: ['no-voiceprint'], score: null });
    await enrolSample(h, 'cust-1', voice(200, 5));
    expect((await verifyCall(h, 'cust-1', voice(200))).body.decision).toBe('not-enrolled');
    await enrolSample(h, 'cust-1', voice(200, 6));
    expect((await verifyCall(h, 'cust-1', voice(200))).body.decision).toBe('accept');
    expect((await request(h.app).delete('/v1/subjects/cust-1').set(h.auth('enrolment'))).status).toBe(200);
    const calls = h.embedder.calls;
    expect((await verifyCall(h, 'cust-1', voice(200))).body).toMatchObject({ decision: 'not-enrolled', reasons: ['no-voiceprint'] });
    expect(h.embedder.calls).toBe(calls);
  });

  it('a voiceprint of another model is never scored: 409 model-changed until re-enrolment', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    h.embedder.modelId = 'fake-model-2';
    const calls = h.embedder.calls;
    const res = await verifyCall(h, 'cust-1', voice(200));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'model-changed',
      detail: 'The voiceprint was made with model "fake-model" and the service now runs "fake-model-2"; enrol the subject again.',
      enrolledModel: 'fake-model',
      currentModel: 'fake-model-2',
    });
    expect(h.embedder.calls).toBe(calls);
    expect((await getSubject(h, 'cust-1')).body.enrolment).toMatchObject({ model: 'fake-model', modelCurrent: false });

    await enrolSample(h, 'cust-1', voice(200, 5));
    expect((await enrolSample(h, 'cust-1', voice(200, 6))).body).toMatchObject({ status: 'enrolled', model: 'fake-model-2' });
    expect((await verifyCall(h, 'cust-1', voice(200))).body).toMatchObject({ decision: 'accept', model: 'fake-model-2' });
  });
});

describe('attempt limiting (NIST SP 800-63B-4 §3.2.3), persisted', () => {
  const lockedBody = (retryAfterSeconds: number) => ({
    verificationId: expect.stringMatching(uuid),
    occurredAt: expect.any(String),
    decision: 'locked',
    reasons: ['too-many-rejects'],
    score: null,
    rawScore: null,
    scoreScale: 'cosine',
    threshold: 0.5,
    rawThreshold: 0.5,
    channel: null,
    policy: 'standard',
    netSpeechSeconds: null,
    model: fakeModelId,
    retryAfterSeconds,
  });

  it('after 5 consecutive rejects each attempt waits 30 s (locked + Retry-After), across a restart', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    for (let i = 0; i < 5; i++) expect((await verifyCall(h, 'cust-1', voice(400))).body.decision).toBe('reject');
    const calls = h.embedder.calls;
    const locked = await verifyCall(h, 'cust-1', voice(200));
    expect(locked.status).toBe(200);
    expect(locked.headers['retry-after']).toBe('30');
    expect(locked.body).toEqual(lockedBody(30));
    expect(h.embedder.calls).toBe(calls);

    h.reopen();
    h.clock.advance(10_000);
    const stillLocked = await verifyCall(h, 'cust-1', voice(200));
    expect(stillLocked.headers['retry-after']).toBe('20');
    expect(stillLocked.body).toEqual(lockedBody(20));
    expect((await getSubject(h, 'cust-1')).body.attempts).toEqual({ consecutiveRejects: 5, locked: true, retryAfterSeconds: 20, disabled: false });

    h.clock.advance(20_000);
    // A 6th reject is allowed after the wait, and starts a new wait.
    expect((await verifyCall(h, 'cust-1', voice(400))).body.decision).toBe('reject');
    expect((await verifyCall(h, 'cust-1', voice(200))).body).toEqual(lockedBody(30));
    h.clock.advance(30_000);
    // An accept resets the count.
    expect((await verifyCall(h, 'cust-1', voice(200))).body.decision).toBe('accept');
    expect((await getSubject(h, 'cust-1')).body.attempts).toEqual({ consecutiveRejects: 0, locked: false, retryAfterSeconds: null, disabled: false });
    const locks = (await auditEntries(h)).filter((e) => e.action === 'verification' && e.outcome === 'locked');
    expect(locks).toHaveLength(3);
    // Locked before any audio was analysed: no channel decided.
    expect(locks.map((e) => 'channel' in e.details)).toEqual([false, false, false]);
  });

  it('after 50 consecutive rejects verification is disabled until an operator resets it', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    for (let i = 0; i < 50; i++) {
      expect((await verifyCall(h, 'cust-1', voice(400, 3))).body.decision).toBe('reject');
      h.clock.advance(31_000);
    }
    h.reopen();
    h.clock.advance(86_400_000);
    const res = await verifyCall(h, 'cust-1', voice(200));
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.body).toEqual({ ...lockedBody(0), reasons: ['verification-disabled'], retryAfterSeconds: undefined });
    expect((await getSubject(h, 'cust-1')).body.attempts).toEqual({ consecutiveRejects: 50, locked: true, retryAfterSeconds: null, disabled: true });

    const reset = await request(h.app).post('/v1/operator/subjects/cust-1/reset-lockout').set(h.auth('operator'));
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ attempts: { consecutiveRejects: 0, locked: false, retryAfterSeconds: null, disabled: false } });
    expect((await verifyCall(h, 'cust-1', voice(200))).body.decision).toBe('accept');
    const audit = (await auditEntries(h)).filter((e) => e.action === 'attempts.reset');
    expect(audit.map((e) => [e.actorKeyId, e.details])).toEqual([[h.keyIds.operator, { consecutiveRejectsBefore: 50, disabledBefore: true }]]);
  });

  it('parallel attempts cannot race past the limit: the count is re-checked when the result is written', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    for (let i = 0; i < 4; i++) await verifyCall(h, 'cust-1', voice(400));
    const results = await Promise.all(Array.from({ length: 4 }, () => verifyCall(h, 'cust-1', voice(400))));
    const decisions = results.map((r) => r.body.decision).sort();
    expect(decisions).toEqual(['locked', 'locked', 'locked', 'reject']);
    expect((await getSubject(h, 'cust-1')).body.attempts.consecutiveRejects).toBe(5);
  });
});
