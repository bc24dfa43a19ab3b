/** GET /v1/subjects/{id}, GET …/export, DELETE /v1/subjects/{id} (GDPR Art. 15, 17). */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeModelId, toneWav } from '../passport/fakes.js';
import { filesContaining } from '../store/helpers.js';
import { auditEntries, consent, consentAndEnrol, createHarness, exportSubject, getSubject, verifyCall, type Harness } from './harness.js';

const T0 = '2026-03-01T09:00:00.000Z';
let h: Harness;
afterEach(() => h?.close());

describe('GET /v1/subjects/{id}', () => {
  it('shows consent, enrolment, model, times, attempts and counts; never the template', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    h.clock.advance(5_000);
    await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    const res = await getSubject(h, 'cust-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      createdAt: T0,
      lastUsedAt: '2026-03-01T09:00:05.000Z',
      consent: { active: true, givenAt: T0, noticeVersion: 'v2', channel: 'web', locale: 'en' },
      enrolment: {
        state: 'enrolled',
        model: fakeModelId,
        modelCurrent: true,
        enrolledAt: T0,
        voiceprint: { sampleCount: 2, netSpeechSeconds: 10, createdAt: T0 },
        inProgress: { samples: 0, netSpeechSeconds: 0, requiredSeconds: 8, requiredSamples: 2 },
      },
      attempts: { consecutiveRejects: 0, locked: false, retryAfterSeconds: null, disabled: false },
      counts: { verifications: 1, consentEvents: 1 },
      // Notice v1 states three years unused (1095 days) and no other period: the configuration's 400 days and five years.
      retention: { voiceprintUnusedDays: 1095, voiceprintErasedAfter: '2029-02-28T09:00:05.000Z', verificationHistoryDays: 400, consentRecordDays: 1826 },
    });
    // Reading personal data is itself audited.
    expect((await auditEntries(h)).at(-1)).toMatchObject({ action: 'subject.viewed', actorKeyId: h.keyIds.enrolment, outcome: 'ok' });
  });

  it('404 when nothing is held', async () => {
    h = createHarness();
    const res = await getSubject(h, 'nobody');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      type: 'https://voice-passport.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      code: 'not-found',
      detail: 'Nothing is held about this subject.',
      instance: '/v1/subjects/nobody',
      requestId: res.headers['x-request-id'],
    });
    expect((await exportSubject(h, 'nobody')).status).toBe(404);
  });
});

describe('GET /v1/subjects/{id}/export', () => {
  it('everything held: consent history, voiceprint metadata, every verification, the audit trail', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const v = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    const res = await exportSubject(h, 'cust-1');
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="voice-passport-export.json"');
    const view = (await getSubject(h, 'cust-1')).body;
    // The trail is read before the export's own entry (and this test's later view) is written.
    const trail = (await auditEntries(h)).filter((e) => e.subjectPseudonym === res.body.pseudonym && !['subject.exported', 'subject.viewed'].includes(e.action));
    expect(res.body).toEqual({
      exportedAt: T0,
      pseudonym: expect.stringMatching(/^[0-9a-f]{64}$/),
      ...view,
      consentHistory: [
        { id: 1, kind: 'given', noticeVersion: 'v2', channel: 'web', locale: 'en', evidence: null, evidenceSha256: null, noticeSha256: h.ctx.notices.get('v2')!.find((n) => n.locale === 'en')!.sha256, reason: null, actorKeyId: h.keyIds.enrolment, occurredAt: T0 },
      ],
      voiceprint: {
        modelId: fakeModelId,
        sampleCount: 2,
        netSpeechSeconds: 10,
        formatVersion: 1,
        createdAt: T0,
        note: 'The voiceprint is an encrypted list of numbers derived from your speech; it is not a recording and is not included here.',
      },
      verifications: [
        { id: v.body.verificationId, occurredAt: T0, policy: 'standard', decision: 'accept', reasons: ['score-above-threshold'], score: v.body.score, rawScore: v.body.rawScore, normalisedScore: null, threshold: 0.5, rawThreshold: 0.5, netSpeechSeconds: 4, channel: 'wideband', transport: 'request', model: fakeModelId, outcome: null },
      ],
      auditTrail: trail.map(({ seq, occurredAt, action, actorKeyId, outcome, details }) => ({ seq, occurredAt, action, actorKeyId, outcome, details })),
    });
    expect(res.body.auditTrail.map((e: { action: string }) => e.action)).toEqual([
      'consent.given',
      'enrolment.sample',
      'enrolment.sample',
      'enrolment.completed',
      'verification',
    ]);
    expect((await auditEntries(h)).filter((e) => e.action === 'subject.exported')).toHaveLength(1);
  });
});

describe('DELETE /v1/subjects/{id}', () => {
  it('erases voiceprint and history, returns a receipt; a later verify says not-enrolled', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    const before = await exportSubject(h, 'cust-1');
    h.clock.advance(1000);
    const res = await request(h.app).delete('/v1/subjects/cust-1').set(h.auth('enrolment'));
    expect(res.status).toBe(200);
    const erasedEntry = (await auditEntries(h)).find((e) => e.action === 'subject.erased')!;
    expect(res.body).toEqual({
      receipt: {
        reason: 'subject-request',
        erasedAt: '2026-03-01T09:00:01.000Z',
        subjectKnown: true,
        voiceprintErased: true,
        dataKeyDestroyed: true,
        enrolmentSamplesErased: 0,
        verificationsErased: 1,
        consentWithdrawn: true,
        consentEvidenceRedacted: 0,
        auditSeq: erasedEntry.seq,
        checkpointComplete: true,
      },
    });
    expect(erasedEntry).toMatchObject({ actorKeyId: h.keyIds.enrolment, subjectPseudonym: before.body.pseudonym, outcome: 'erased' });

    const view = await getSubject(h, 'cust-1');
    expect(view.body).toMatchObject({
      lastUsedAt: null,
      consent: { active: false, withdrawnAt: '2026-03-01T09:00:01.000Z' },
      enrolment: { state: 'none', model: null, voiceprint: null },
      counts: { verifications: 0, consentEvents: 2 },
    });
    const after = await exportSubject(h, 'cust-1');
    expect(after.body.verifications).toEqual([]);
    expect(after.body.voiceprint).toBeNull();
    expect(after.body.consentHistory.map((e: { kind: string; reason: string | null }) => [e.kind, e.reason])).toEqual([
      ['given', null],
      ['withdrawn', 'erasure-request'],
    ]);
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('not-enrolled');
    // Consent must be given again before a new enrolment.
    expect((await request(h.app).post('/v1/subjects/cust-1/enrolments').set(h.auth('enrolment')).set('Content-Type', 'audio/wav').send(Buffer.from(toneWav({ freq: 200, seconds: 5 })))).status).toBe(403);
  });

  it('consent evidence is blanked; its hash stays as proof', async () => {
    h = createHarness();
    await consent(h, 'cust-1', { noticeVersion: 'v2', channel: 'agent', evidence: 'call 7781, agent 12' });
    const res = await request(h.app).delete('/v1/subjects/cust-1').set(h.auth('enrolment'));
    expect(res.body.receipt).toMatchObject({ subjectKnown: true, voiceprintErased: false, consentWithdrawn: true, consentEvidenceRedacted: 1 });
    const history = (await exportSubject(h, 'cust-1')).body.consentHistory;
    expect(history[0]).toMatchObject({ evidence: null, evidenceSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(filesContaining(h.dataDir, Buffer.from('call 7781'))).toEqual([]);
  });

  it('a caller who never consented: their recorded calls are shown (Art. 15) and erased (Art. 17), kept answers with them', async () => {
    h = createHarness();
    const first = (await verifyCall(h, 'stranger', toneWav({ freq: 200, seconds: 4 }))).body;
    h.clock.advance(60_000);
    const retried = await request(h.app).post('/v1/subjects/stranger/verifications').set(h.auth('telephony')).set('Content-Type', 'audio/wav').set('Idempotency-Key', 'call-1').send(Buffer.from(toneWav({ freq: 200, seconds: 4 })));
    expect([first.decision, retried.body.decision]).toEqual(['no-consent', 'no-consent']);

    const view = await getSubject(h, 'stranger');
    expect(view.status).toBe(200);
    expect(view.body).toEqual({
      createdAt: T0,
      lastUsedAt: null,
      consent: { active: false, withdrawnAt: null },
      enrolment: { state: 'none', model: null, modelCurrent: null, enrolledAt: null, voiceprint: null, inProgress: { samples: 0, netSpeechSeconds: 0, requiredSeconds: 8, requiredSamples: 2 } },
      attempts: { consecutiveRejects: 0, locked: false, retryAfterSeconds: null, disabled: false },
      counts: { verifications: 2, consentEvents: 0 },
      retention: { voiceprintUnusedDays: 1095, voiceprintErasedAfter: null, verificationHistoryDays: 400, consentRecordDays: 1826 },
    });
    const exported = (await exportSubject(h, 'stranger')).body;
    expect(exported.verifications.map((v: { id: string; decision: string }) => [v.id, v.decision])).toEqual([
      [first.verificationId, 'no-consent'],
      [retried.body.verificationId, 'no-consent'],
    ]);
    expect(exported.consentHistory).toEqual([]);

    const erased = await request(h.app).delete('/v1/subjects/stranger').set(h.auth('enrolment'));
    expect(erased.body.receipt).toMatchObject({ subjectKnown: true, verificationsErased: 2, voiceprintErased: false, consentWithdrawn: false });
    // Re-read: nothing left, not the kept answer either.
    expect((await getSubject(h, 'stranger')).status).toBe(404);
    expect(h.store.db.get<{ n: number }>('SELECT count(*) AS n FROM verifications')!.n).toBe(0);
    expect(h.store.db.get<{ n: number }>('SELECT count(*) AS n FROM idempotent_requests')!.n).toBe(0);
    expect((await auditEntries(h)).at(-1)).toMatchObject({ action: 'subject.erased', outcome: 'erased', details: { verificationsErased: 2 } });
  });

  it('calls recorded before the first consent belong to the subject once it consents: exported and erased with the rest', async () => {
    h = createHarness();
    const early = (await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }))).body;
    h.clock.advance(60_000);
    await consentAndEnrol(h, 'cust-1');
    const later = (await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }))).body;
    expect((await getSubject(h, 'cust-1')).body).toMatchObject({ createdAt: '2026-03-01T09:01:00.000Z', counts: { verifications: 2 } });
    expect((await exportSubject(h, 'cust-1')).body.verifications.map((v: { id: string }) => v.id)).toEqual([early.verificationId, later.verificationId]);
    const erased = await request(h.app).delete('/v1/subjects/cust-1').set(h.auth('enrolment'));
    expect(erased.body.receipt).toMatchObject({ verificationsErased: 2, voiceprintErased: true });
    expect(h.store.db.get<{ n: number }>('SELECT count(*) AS n FROM verifications')!.n).toBe(0);
  });

  it('is idempotent: nothing held gives a receipt that says so', async () => {
    h = createHarness();
    const res = await request(h.app).delete('/v1/subjects/nobody').set(h.auth('enrolment'));
    expect(res.status).toBe(200);
    expect(res.body.receipt).toEqual({
      reason: 'subject-request',
      erasedAt: T0,
      subjectKnown: false,
      voiceprintErased: false,
      dataKeyDestroyed: false,
      enrolmentSamplesErased: 0,
      verificationsErased: 0,
      consentWithdrawn: false,
      consentEvidenceRedacted: 0,
      auditSeq: res.body.receipt.auditSeq,
      checkpointComplete: true,
    });
    expect((await getSubject(h, 'nobody')).status).toBe(404);
  });
});
