import { afterEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import {
  appliedRetention,
  countExpiredAudit,
  countExpiredConsentRecords,
  countExpiredHistory,
  findExpiredVoiceprints,
  noticeRetentionWarnings,
  purgeAllExpired,
  purgeExpiredAudit,
  purgeExpiredConsentRecords,
  purgeExpiredHistory,
  purgeExpiredVoiceprints,
  retentionSettings,
} from '../../src/passport/retention.js';
import { runThrough } from '../../src/passport/steps.js';
import { noticesStating, toneWav } from './fakes.js';
import { auditEntries, consentAndEnrol, createHarness, enrolSample, exportSubject, getSubject, verifyCall, type Harness } from '../http/harness.js';

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
    const r = runThrough(purgeExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() }));
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
      reEnrolmentsDiscarded: 0,
      checkpointComplete: true,
    });
    expect((await getSubject(h, 'idle')).body.enrolment.state).toBe('none');
    expect((await getSubject(h, 'used')).body.enrolment.state).toBe('enrolled');
    expect((await verifyCall(h, 'idle', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('not-enrolled');
    expect((await auditEntries(h)).filter((e) => e.action === 'retention.purged').map((e) => [e.actorKeyId, e.outcome, e.details.reason])).toEqual([[null, 'erased', 'retention-expired']]);
    // Running it again finds nothing more.
    expect(runThrough(purgeExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() })).purged).toBe(0);
  });

  it('discards the samples of a re-enrolment abandoned for retentionDays, keeping the voiceprint its customer goes on using', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    await consentAndEnrol(h, 'cust-2');
    // Both begin to enrol again; cust-2 sends its sample later.
    expect((await enrolSample(h, 'cust-1', toneWav({ freq: 200, seconds: 4, amplitude: 0.27 }))).body).toMatchObject({ status: 'enrolling', samples: 1 });
    h.clock.advance(200 * day);
    expect((await enrolSample(h, 'cust-2', toneWav({ freq: 200, seconds: 4, amplitude: 0.27 }))).status).toBe(200);
    // Each year, each verifies: the voiceprints stay in use.
    for (let year = 0; year < 3; year++) {
      h.clock.advance(300 * day);
      for (const id of ['cust-1', 'cust-2']) expect((await verifyCall(h, id, toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('accept');
    }
    h.clock.advance(100 * day);
    // cust-1's sample is 1 200 days old, past the 1 095; cust-2's 1 000.
    const [p1, p2] = [h.store.pseudonymise('cust-1'), h.store.pseudonymise('cust-2')];
    expect(findExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() })).toMatchObject({ subjectPseudonyms: [], reEnrolmentPseudonyms: [p1] });
    expect(runThrough(purgeExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() }))).toMatchObject({ purged: 0, reEnrolmentsDiscarded: 1 });
    expect(h.store.voiceprints.enrolmentProgress(p1)).toEqual({ sampleCount: 0, netSpeechSeconds: 0 });
    expect(h.store.voiceprints.enrolmentProgress(p2).sampleCount).toBe(1);
    for (const p of [p1, p2]) expect(h.store.voiceprints.voiceprintMetadata(p)).toBeDefined();
    expect((await getSubject(h, 'cust-1')).body.enrolment.state).toBe('enrolled');
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('accept');
    expect((await auditEntries(h)).filter((e) => e.action === 'enrolment.discarded')).toEqual([
      expect.objectContaining({ actorKeyId: null, subjectPseudonym: p1, outcome: 'retention-expired', details: { samplesDiscarded: 1 } }),
    ]);
  });

  it('keeps a re-enrolment sample younger than retentionDays, and checks again as it discards: a sample sent between two steps keeps its enrolment', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    // 3 s samples: two of them (6 s) do not complete the re-enrolment (8 s).
    await enrolSample(h, 'cust-1', toneWav({ freq: 200, seconds: 3, amplitude: 0.27 }));
    h.clock.advance(1094 * day);
    // The voiceprint is in use.
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('accept');
    expect(findExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() }).reEnrolmentPseudonyms).toEqual([]);
    h.clock.advance(2 * day);
    const steps = purgeExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() });
    // Finding the expired voiceprints, then the abandoned re-enrolments: two steps.
    steps.next();
    steps.next();
    expect((await enrolSample(h, 'cust-1', toneWav({ freq: 200, seconds: 3, amplitude: 0.25 }))).body.samples).toBe(2);
    expect(runThrough(steps)).toMatchObject({ reEnrolmentsDiscarded: 0 });
    expect(h.store.voiceprints.enrolmentProgress(h.store.pseudonymise('cust-1')).sampleCount).toBe(2);
  });

  it('refuses a retention under one day', () => {
    h = createHarness();
    expect(() => runThrough(purgeExpiredVoiceprints(h.store, { retentionDays: 0, now: new Date() }))).toThrow(RangeError);
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
    const r = runThrough(purgeExpiredHistory(h.store, { historyRetentionDays: 400, now: h.clock() }));
    expect(r).toEqual({ cutoff: '2026-03-02T09:00:00.000Z', erased: 2, auditSeqs: [expect.any(Number)], checkpointComplete: true });
    const entry = (await auditEntries(h)).find((e) => e.seq === r.auditSeqs[0]);
    expect(entry).toMatchObject({ action: 'history.purged', actorKeyId: null, subjectPseudonym: null, outcome: 'erased', details: { cutoff: r.cutoff, verifications: 2, retentionDays: 400 } });

    // The customer's export and the operator statistics hold only the younger record; the voiceprint is untouched.
    expect((await exportSubject(h, 'cust-1')).body.verifications.map((v: { id: string }) => v.id)).toEqual([recent.verificationId]);
    expect(recent.verificationId).not.toBe(old.verificationId);
    expect((await request(h.app).get('/v1/operator/stats').set(h.auth('operator'))).body.verifications.total).toBe(1);
    expect((await getSubject(h, 'cust-1')).body.enrolment.state).toBe('enrolled');

    // Nothing more to erase: no audit entry either.
    const seq = h.store.audit.head()!.seq;
    expect(runThrough(purgeExpiredHistory(h.store, { historyRetentionDays: 400, now: h.clock() }))).toEqual({ cutoff: r.cutoff, erased: 0, auditSeqs: [], checkpointComplete: true });
    expect(h.store.audit.head()!.seq).toBe(seq);
    expect(() => runThrough(purgeExpiredHistory(h.store, { historyRetentionDays: 0, now: h.clock() }))).toThrow(RangeError);
  });

  it('erases many records in batches, each a transaction with its own audit entry', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    for (let i = 0; i < 5; i++) await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    h.clock.advance(31 * day);
    const steps = purgeExpiredHistory(h.store, { historyRetentionDays: 30, now: h.clock(), batchSize: 2 });
    // A step finds them; the next erases the first batch and commits it with its entry.
    const held = () => h.store.verifications.countForSubject(h.store.pseudonymise('cust-1'));
    expect(steps.next()).toEqual({ done: false, value: undefined });
    expect(held()).toBe(5);
    expect(steps.next()).toEqual({ done: false, value: undefined });
    expect(held()).toBe(3);
    expect((await auditEntries(h)).filter((e) => e.action === 'history.purged')).toHaveLength(1);
    const r = runThrough(steps);
    expect(r).toEqual({ cutoff: expect.any(String), erased: 5, auditSeqs: [expect.any(Number), expect.any(Number), expect.any(Number)], checkpointComplete: true });
    const entries = (await auditEntries(h)).filter((e) => e.action === 'history.purged');
    expect(entries.map((e) => [e.seq, e.details.verifications])).toEqual(r.auditSeqs.map((seq, i) => [seq, [2, 2, 1][i]]));
    expect(held()).toBe(0);
  });

  it('checks each subject again as it erases it: one used between two steps of the purge stays', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'a');
    await consentAndEnrol(h, 'b');
    h.clock.advance(1096 * day);
    const [first, second] = findExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() }).subjectPseudonyms;
    const steps = purgeExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock() });
    // A step finds both, the next erases the first.
    expect(steps.next().done).toBe(false);
    expect(steps.next().done).toBe(false);
    expect(h.store.voiceprints.voiceprint(first!)).toBeUndefined();
    expect(h.store.voiceprints.voiceprint(second!)).toBeDefined();
    // While the purge yields, the second customer calls and is accepted: the voiceprint is in use again.
    const customer = second === h.store.pseudonymise('a') ? 'a' : 'b';
    expect((await verifyCall(h, customer, toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('accept');
    const r = runThrough(steps);
    expect(r.receipts.map((x) => x.subjectPseudonym)).toEqual([first]);
    expect((await getSubject(h, customer)).body.enrolment.state).toBe('enrolled');
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

describe('each subject kept no longer than the notice they agreed to says (GDPR Art. 13(2)(a))', () => {
  const configured = { retentionDays: 1095, historyRetentionDays: 400, consentRecordRetentionDays: 1826, auditRetentionDays: null };

  it('takes the shorter periods of the notices as limits, and warns where the current notice and the configuration differ', () => {
    const notices = noticesStating(
      {
        v1: { voiceprintUnusedDays: 1095 },
        v2: { voiceprintUnusedDays: 365, verificationHistoryDays: 90, consentRecordDays: 700 },
        v3: { voiceprintUnusedDays: 2000, verificationHistoryDays: 400, consentRecordDays: 1826 },
      },
      'v3',
    );
    const settings = retentionSettings(configured, notices);
    expect(settings).toEqual({ ...configured, noticeLimits: [{ noticeVersion: 'v2', voiceprintUnusedDays: 365, verificationHistoryDays: 90, consentRecordDays: 700 }] });
    expect(retentionSettings({ ...configured, retentionDays: 300, historyRetentionDays: 30, consentRecordRetentionDays: 365 }, notices).noticeLimits).toEqual([]);
    expect(retentionSettings({ ...configured, historyRetentionDays: 500, consentRecordRetentionDays: 2000 }, notices).noticeLimits).toEqual([
      { noticeVersion: 'v2', voiceprintUnusedDays: 365, verificationHistoryDays: 90, consentRecordDays: 700 },
      { noticeVersion: 'v3', voiceprintUnusedDays: null, verificationHistoryDays: 400, consentRecordDays: 1826 },
    ]);

    const configuredPeriods = { voiceprintUnusedDays: 1095, verificationHistoryDays: 400, consentRecordDays: 1826 };
    expect(appliedRetention(settings, notices.retention('v1'))).toEqual(configuredPeriods);
    expect(appliedRetention(settings, notices.retention('v2'))).toEqual({ voiceprintUnusedDays: 365, verificationHistoryDays: 90, consentRecordDays: 700 });
    expect(appliedRetention(settings, notices.retention('v3'))).toEqual(configuredPeriods);
    expect(appliedRetention(settings, undefined)).toEqual(configuredPeriods);

    expect(noticeRetentionWarnings(settings, notices)).toEqual([
      'The current consent notice v3 tells customers 2000 days for an unused voiceprint, but VP_RETENTION_DAYS is 1095: it is erased sooner than they were told.',
    ]);
    expect(noticeRetentionWarnings(settings, noticesStating({ v1: { voiceprintUnusedDays: 1095 } }))).toEqual([
      'The current consent notice v1 does not state how long the record of each verification is kept (VP_HISTORY_RETENTION_DAYS is 400 days): customers agreeing to it are not told (GDPR Art. 13(2)(a)).',
      'The current consent notice v1 does not state how long the record of a consent after it ended is kept (VP_CONSENT_RECORD_RETENTION_DAYS is 1826 days): customers agreeing to it are not told (GDPR Art. 13(2)(a)).',
    ]);
    expect(noticeRetentionWarnings(settings, noticesStating({ v2: { voiceprintUnusedDays: 365, verificationHistoryDays: 90, consentRecordDays: 700 } }))).toEqual([
      'The current consent notice v2 tells customers 365 days for an unused voiceprint, shorter than VP_RETENTION_DAYS (1095): those who agree to it are kept 365 days, as told.',
      'The current consent notice v2 tells customers 90 days for the record of each verification, shorter than VP_HISTORY_RETENTION_DAYS (400): those who agree to it are kept 90 days, as told.',
      'The current consent notice v2 tells customers 700 days for the record of a consent after it ended, shorter than VP_CONSENT_RECORD_RETENTION_DAYS (1826): those who agree to it are kept 700 days, as told.',
    ]);
    expect(noticeRetentionWarnings(settings, noticesStating({ v1: configuredPeriods }))).toEqual([]);
  });

  it("purges a subject's records and voiceprint after their notice's shorter periods, others' after the configuration's; the subject view says which", async () => {
    // v2 tells its subjects 30 days unused and 10 days of records; the configuration keeps 1095 and 400.
    const stating = { v1: { voiceprintUnusedDays: 1095 }, v2: { voiceprintUnusedDays: 30, verificationHistoryDays: 10 } };
    h = createHarness({ notices: noticesStating(stating, 'v1') });
    await consentAndEnrol(h, 'told-long', 200, 'v1');
    // The bank publishes v2; consent is given to it from now on.
    h.reopen({ notices: noticesStating(stating, 'v2') });
    await consentAndEnrol(h, 'told-short', 400, 'v2');
    expect((await getSubject(h, 'told-long')).body.retention).toEqual({ voiceprintUnusedDays: 1095, voiceprintErasedAfter: '2029-02-28T09:00:00.000Z', verificationHistoryDays: 400, consentRecordDays: 1826 });
    expect((await getSubject(h, 'told-short')).body.retention).toEqual({ voiceprintUnusedDays: 30, voiceprintErasedAfter: '2026-03-31T09:00:00.000Z', verificationHistoryDays: 10, consentRecordDays: 1826 });
    h.clock.advance(day);
    expect((await verifyCall(h, 'told-long', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('accept');
    expect((await verifyCall(h, 'told-short', toneWav({ freq: 400, seconds: 4 }))).body.decision).toBe('accept');
    // An accepted verification is a use: the 30 days count from it.
    expect((await getSubject(h, 'told-short')).body.retention.voiceprintErasedAfter).toBe('2026-04-01T09:00:00.000Z');

    // Day 12: the v2 subject's record is 11 days old, past its 10; the v1 subject's stays.
    h.clock.advance(11 * day);
    expect(countExpiredHistory(h.store, { historyRetentionDays: 400, now: h.clock(), noticeLimits: h.ctx.retention.noticeLimits })).toMatchObject({ wouldErase: 1 });
    expect(countExpiredHistory(h.store, { historyRetentionDays: 400, now: h.clock() })).toMatchObject({ wouldErase: 0 });
    const first = runThrough(purgeAllExpired(h.store, h.ctx.retention, { now: h.clock() }));
    expect([first.voiceprints.purged, first.history.erased]).toEqual([0, 1]);
    expect((await exportSubject(h, 'told-short')).body.verifications).toEqual([]);
    expect((await exportSubject(h, 'told-long')).body.verifications).toHaveLength(1);

    // Day 32: the v2 subject's voiceprint went unused for 31 days, past its 30; the v1 subject's stays.
    h.clock.advance(20 * day);
    expect(findExpiredVoiceprints(h.store, { retentionDays: 1095, now: h.clock(), noticeLimits: h.ctx.retention.noticeLimits }).subjectPseudonyms).toEqual([h.store.pseudonymise('told-short')]);
    const second = runThrough(purgeAllExpired(h.store, h.ctx.retention, { now: h.clock() }));
    expect(second.voiceprints.receipts.map((r) => [r.subjectPseudonym, r.reason, r.voiceprintErased])).toEqual([[h.store.pseudonymise('told-short'), 'retention-expired', true]]);
    expect(second.history.erased).toBe(0);
    const short = (await getSubject(h, 'told-short')).body;
    // Withdrawn now, still under the periods of the notice last agreed to.
    expect([short.enrolment.state, short.consent.active, short.retention]).toEqual(['none', false, { voiceprintUnusedDays: 30, voiceprintErasedAfter: null, verificationHistoryDays: 10, consentRecordDays: 1826 }]);
    expect((await verifyCall(h, 'told-short', toneWav({ freq: 400, seconds: 4 }))).body.decision).toBe('not-enrolled');
    const long = (await getSubject(h, 'told-long')).body;
    expect([long.enrolment.state, long.counts.verifications]).toEqual(['enrolled', 1]);
    // Nothing more is due.
    const third = runThrough(purgeAllExpired(h.store, h.ctx.retention, { now: h.clock() }));
    expect([third.voiceprints.purged, third.history.erased]).toEqual([0, 0]);
  });

  it('an abandoned enrolment under a shorter notice goes after its period too', async () => {
    const stating = { v1: { voiceprintUnusedDays: 1095 }, v2: { voiceprintUnusedDays: 30 } };
    h = createHarness({ notices: noticesStating(stating, 'v1') });
    for (const [id, version] of [['long', 'v1'], ['short', 'v2']] as const) {
      if (version === 'v2') h.reopen({ notices: noticesStating(stating, 'v2') });
      expect((await request(h.app).put(`/v1/subjects/${id}/consent`).set(h.auth('enrolment')).send({ noticeVersion: version, channel: 'app' })).status).toBe(200);
      expect((await request(h.app).post(`/v1/subjects/${id}/enrolments`).set(h.auth('enrolment')).set('Content-Type', 'audio/wav').send(Buffer.from(toneWav({ freq: 200, seconds: 5 })))).body.status).toBe('enrolling');
    }
    h.clock.advance(31 * day);
    const r = runThrough(purgeAllExpired(h.store, h.ctx.retention, { now: h.clock() }));
    expect(r.voiceprints.receipts.map((x) => [x.subjectPseudonym, x.enrolmentSamplesErased])).toEqual([[h.store.pseudonymise('short'), 1]]);
    expect((await getSubject(h, 'long')).body.enrolment.inProgress.samples).toBe(1);
  });

  it("erases the record of a consent its period after the consent ended, its notice's shorter one first, and only once nothing else of the subject is held", async () => {
    const stating = { v1: { voiceprintUnusedDays: 1095 }, v2: { consentRecordDays: 100 } };
    h = createHarness({ notices: noticesStating(stating, 'v1') });
    const give = (id: string, noticeVersion: string) => request(h.app).put(`/v1/subjects/${id}/consent`).set(h.auth('enrolment')).send({ noticeVersion, channel: 'app' });
    const withdraw = (id: string) => request(h.app).delete(`/v1/subjects/${id}/consent`).set(h.auth('enrolment'));
    await consentAndEnrol(h, 'active', 200, 'v1');
    for (const [id, version] of [['withdrew-v1', 'v1'], ['still-calling', 'v1'], ['withdrew-v2', 'v2']] as const) {
      if (version === 'v2') h.reopen({ notices: noticesStating(stating, 'v2') });
      expect((await give(id, version)).status).toBe(200);
      expect((await withdraw(id)).body.withdrawn).toBe(true);
    }
    const purge = () => runThrough(purgeAllExpired(h.store, h.ctx.retention, { now: h.clock() }));
    const held = (id: string) => h.store.subjects.find(h.store.pseudonymise(id)) !== undefined;

    // Day 101: v2 told its subjects 100 days.
    h.clock.advance(101 * day);
    expect(countExpiredConsentRecords(h.store, { consentRecordDays: 1826, now: h.clock(), noticeLimits: h.ctx.retention.noticeLimits })).toMatchObject({ wouldErase: 1 });
    const first = purge();
    expect(first.consentRecords).toMatchObject({ erased: 1, auditSeqs: [expect.any(Number)] });
    expect([held('withdrew-v2'), held('withdrew-v1'), held('still-calling'), held('active')]).toEqual([false, true, true, true]);
    expect((await getSubject(h, 'withdrew-v2')).status).toBe(404);
    expect((await auditEntries(h)).filter((e) => e.action === 'consent-records.purged').map((e) => [e.subjectPseudonym, e.outcome, e.details])).toEqual([
      [null, 'erased', { cutoff: '2021-06-10T09:00:00.000Z', subjects: 1, retentionDays: 1826 }],
    ]);

    // Day 1700: the customer who withdrew still calls; the call is recorded as no-consent, under their pseudonym.
    h.clock.advance(1599 * day);
    expect((await verifyCall(h, 'still-calling', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('no-consent');
    // Day 1827: the v1 consent ended 1827 days ago; the caller's record from day 1700 still holds theirs.
    h.clock.advance(127 * day);
    const second = purge();
    expect([second.voiceprints.purged, second.history.erased, second.consentRecords.erased]).toEqual([1, 0, 1]);
    expect([held('withdrew-v1'), held('still-calling'), held('active')]).toEqual([false, true, true]);
    // The active subject's voiceprint went unused past 1095 days: erased now, so its consent ended now.
    expect((await getSubject(h, 'active')).body.consent).toEqual({ active: false, withdrawnAt: h.clock().toISOString() });

    // Day 2101: the call's record passes the history's 400 days; the same run then frees the consent record.
    h.clock.advance(274 * day);
    const third = purge();
    expect([third.history.erased, third.consentRecords.erased]).toEqual([1, 1]);
    expect(held('still-calling')).toBe(false);
    expect(held('active')).toBe(true);
  });

  it('keeps the consent record of a customer who consented again between two steps of the purge', async () => {
    h = createHarness();
    const give = (id: string) => request(h.app).put(`/v1/subjects/${id}/consent`).set(h.auth('enrolment')).send({ noticeVersion: h.ctx.notices.current, channel: 'app' });
    for (const id of ['a', 'b']) {
      expect((await give(id)).status).toBe(200);
      expect((await request(h.app).delete(`/v1/subjects/${id}/consent`).set(h.auth('enrolment'))).body.withdrawn).toBe(true);
    }
    h.clock.advance(1827 * day);
    const steps = purgeExpiredConsentRecords(h.store, { consentRecordDays: 1826, now: h.clock(), batchSize: 1 });
    // A step finds both, the next erases the first.
    expect(steps.next().done).toBe(false);
    expect(steps.next().done).toBe(false);
    const gone = ['a', 'b'].filter((id) => h.store.subjects.find(h.store.pseudonymise(id)) === undefined);
    expect(gone).toHaveLength(1);
    const back = gone[0] === 'a' ? 'b' : 'a';
    expect((await give(back)).status).toBe(200);
    expect(runThrough(steps)).toMatchObject({ erased: 1, auditSeqs: [expect.any(Number)] });
    expect((await getSubject(h, back)).body.consent).toMatchObject({ active: true });
  });
});
