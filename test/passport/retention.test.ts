import { afterEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { countExpiredAudit, countExpiredHistory, purgeExpiredAudit, purgeExpiredHistory, purgeExpiredVoiceprints } from '../../src/passport/retention.js';
import { toneWav } from './fakes.js';
import { auditEntries, consentAndEnrol, createHarness, exportSubject, getSubject, verifyCall, type Harness } from '../http/harness.js';

let h: Harness;
afterEach(() => h?.close());

const day = 86_400_000;

describe('retention purge (GDPR Art. 5(1)(e))', () => {
  it('erases voiceprints unused for retentionDays, counting from the last accepted verification', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'used');
    await consentAndEnrol(h, 'idle');
    h.clock.advance(1000 * day);
    expect((await verifyCall(h, 'used', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('accept');
    // A failed attempt (perhaps an impostor's) does not keep a voiceprint alive.
    expect((await verifyCall(h, 'idle', toneWav({ freq: 400, seconds: 4 }))).body.decision).toBe('reject');

    h.clock.advance(95 * day + 1000);
    const r = purgeExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() });
    const idle = h.store.pseudonymise('idle');
    expect(r).toEqual({
      cutoff: '2026-03-01T09:00:01.000Z',
      purged: 1,
      receipts: [
        {
          subjectPseudonym: idle,
          reason: 'retention-expired',
          erasedAt: '2029-02-28T09:00:01.000Z',
          subjectKnown: true,
          voiceprintErased: true,
          dataKeyDestroyed: true,
          enrolmentSamplesErased: 0,
          verificationsErased: 1,
          consentWithdrawn: true,
          consentEvidenceRedacted: 0,
          auditSeq: expect.any(Number),
        },
      ],
      checkpointComplete: true,
    });
    expect((await getSubject(h, 'idle')).body.enrolment.state).toBe('none');
    expect((await getSubject(h, 'used')).body.enrolment.state).toBe('enrolled');
    expect((await verifyCall(h, 'idle', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('not-enrolled');
    expect((await auditEntries(h)).filter((e) => e.action === 'retention.purged').map((e) => [e.actorKeyId, e.outcome, e.details.reason])).toEqual([[null, 'erased', 'retention-expired']]);
    // Running it again finds nothing more.
    expect(purgeExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() }).purged).toBe(0);
  });

  it('refuses a retention under one day', () => {
    h = createHarness();
    expect(() => purgeExpiredVoiceprints(h.store, { retentionDays: 0, now: new Date() })).toThrow(RangeError);
  });

  it('erases verification records older than historyRetentionDays, whoever they were of, with one audit entry', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const old = (await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }))).body;
    await verifyCall(h, 'stranger', toneWav({ freq: 200, seconds: 4 })); // no consent: a record without a subject
    h.clock.advance(300 * day);
    const recent = (await verifyCall(h, 'cust-1', toneWav({ freq: 400, seconds: 4 }))).body;
    h.clock.advance(101 * day);

    expect(countExpiredHistory(h.store, { historyRetentionDays: 400, now: h.clock() })).toEqual({ cutoff: '2026-03-02T09:00:00.000Z', wouldErase: 2 });
    const r = purgeExpiredHistory(h.store, { historyRetentionDays: 400, now: h.clock() });
    expect(r).toEqual({ cutoff: '2026-03-02T09:00:00.000Z', erased: 2, auditSeq: expect.any(Number), checkpointComplete: true });
    const entry = (await auditEntries(h)).find((e) => e.seq === r.auditSeq);
    expect(entry).toMatchObject({ action: 'history.purged', actorKeyId: null, subjectPseudonym: null, outcome: 'erased', details: { cutoff: r.cutoff, verifications: 2, retentionDays: 400 } });

    // The customer's export and the operator statistics hold only the younger record; the voiceprint is untouched.
    expect((await exportSubject(h, 'cust-1')).body.verifications.map((v: { id: string }) => v.id)).toEqual([recent.verificationId]);
    expect(recent.verificationId).not.toBe(old.verificationId);
    expect((await request(h.app).get('/v1/operator/stats').set(h.auth('operator'))).body.verifications.total).toBe(1);
    expect((await getSubject(h, 'cust-1')).body.enrolment.state).toBe('enrolled');

    // Nothing more to erase: no audit entry either.
    const seq = h.store.audit.head()!.seq;
    expect(purgeExpiredHistory(h.store, { historyRetentionDays: 400, now: h.clock() })).toEqual({ cutoff: r.cutoff, erased: 0, auditSeq: null, checkpointComplete: true });
    expect(h.store.audit.head()!.seq).toBe(seq);
    expect(() => purgeExpiredHistory(h.store, { historyRetentionDays: 0, now: h.clock() })).toThrow(RangeError);
  });

  it('prunes the audit entries older than auditRetentionDays; the API and verify see the log continue from its anchor', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const before = h.store.audit.list({ limit: 1000 });
    h.clock.advance(40 * day);
    await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    const kept = h.store.audit.list({ afterSeq: before.at(-1)!.seq, limit: 1000 });

    expect(countExpiredAudit(h.store, { auditRetentionDays: 30, now: h.clock() })).toEqual({ cutoff: '2026-03-11T09:00:00.000Z', wouldPrune: before.length });
    const r = purgeExpiredAudit(h.store, { auditRetentionDays: 30, now: h.clock() });
    const through = { seq: before.at(-1)!.seq, hash: before.at(-1)!.hash };
    expect(r).toEqual({ cutoff: '2026-03-11T09:00:00.000Z', pruned: before.length, through, auditSeq: kept.at(-1)!.seq + 1, checkpointComplete: true });

    const page = (await request(h.app).get('/v1/audit?limit=1000').set(h.auth('operator'))).body;
    expect(page.entries.map((e: { seq: number }) => e.seq)).toEqual([...kept.map((e) => e.seq), r.auditSeq]);
    expect(page.entries.at(-1)).toMatchObject({ action: 'audit.pruned', actorKeyId: null, outcome: 'pruned', details: { throughSeq: through.seq, throughHash: through.hash, entries: before.length, retentionDays: 30 } });
    expect(page.prunedThrough).toEqual(through);
    expect(h.store.audit.verify()).toMatchObject({ ok: true, entries: kept.length + 1, prunedThrough: through });
    // Nothing older is left: a second run prunes and audits nothing.
    expect(purgeExpiredAudit(h.store, { auditRetentionDays: 30, now: h.clock() })).toMatchObject({ pruned: 0, through: null, auditSeq: null });
    expect(() => purgeExpiredAudit(h.store, { auditRetentionDays: 0, now: h.clock() })).toThrow(RangeError);
  });
});
