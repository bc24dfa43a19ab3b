/** Erasure and retention: no template or key bytes left in any file (GDPR Art. 17, 5(1)(e)); consent proof kept (Art. 7(1)). */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { embedding, filesContaining, movableClock, openTestStore, removeDir, tempDataDir, type MovableClock } from './helpers.js';

const model = 'wespeaker-resnet34-v1';
let dir: string;
let clock: MovableClock;
let store: Store;

beforeEach(() => {
  dir = tempDataDir();
  clock = movableClock();
  store = openTestStore(dir, { clock });
});
afterEach(() => {
  store.close();
  removeDir(dir);
});

function enrol(customerId: string, seed: number, options: { evidence?: string } = {}): string {
  const p = store.pseudonymise(customerId);
  store.consents.give(p, { noticeVersion: 'nl-1', channel: 'ivr', evidence: options.evidence ?? null, actorKeyId: 'key_e' });
  store.voiceprints.addEnrolmentSample(p, { embedding: embedding(seed * 10 + 1), modelId: model, netSpeechSeconds: 10 });
  store.voiceprints.addEnrolmentSample(p, { embedding: embedding(seed * 10 + 2), modelId: model, netSpeechSeconds: 11 });
  store.voiceprints.completeEnrolment(p, { embedding: embedding(seed), modelId: model, sampleCount: 2, netSpeechSeconds: 21 });
  return p;
}

function storedSecrets(p: string): { ciphertext: Buffer; wrappedKey: Buffer; iv: Buffer } {
  const row = store.db.get<{ ciphertext: Uint8Array; iv: Uint8Array; wrapped_key: Uint8Array }>(
    `SELECT t.ciphertext, t.iv, k.wrapped_key FROM templates t JOIN subject_keys k ON k.subject_id = t.subject_id
     JOIN subjects s ON s.id = t.subject_id WHERE s.pseudonym = ?`,
    [p],
  )!;
  return { ciphertext: Buffer.from(row.ciphertext), wrappedKey: Buffer.from(row.wrapped_key), iv: Buffer.from(row.iv) };
}

const plaintext = (seed: number): Buffer => Buffer.from(embedding(seed).buffer).subarray(0, 24);

describe('SubjectErasure.erase', () => {
  for (const checkpointFirst of [true, false]) {
    it(`leaves no template or wrapped-key bytes in any file of the data dir (${checkpointFirst ? 'template in .db' : 'template still in -wal'})`, () => {
      const other = enrol('cust-other', 7);
      const p = enrol('cust-1', 1);
      for (let i = 0; i < 3; i++) {
        store.verifications.record(p, { policy: 'standard', decision: 'accept', reasons: [], score: 0.8, rawScore: null, normalisedScore: null, threshold: 0.5, rawThreshold: 0.5, netSpeechSeconds: 4, channel: 'wideband', modelId: model, actorKeyId: 'key_t', transport: 'request' });
      }
      const secret = storedSecrets(p);
      const otherSecret = storedSecrets(other);
      if (checkpointFirst) store.db.checkpoint();
      // The scan can see them before the erasure (so the check below can fail).
      expect(filesContaining(dir, secret.ciphertext).length).toBeGreaterThan(0);
      expect(filesContaining(dir, secret.wrappedKey).length).toBeGreaterThan(0);
      // The embedding itself was never written in plaintext, nor were the samples.
      for (const seed of [1, 11, 12, 7]) expect(filesContaining(dir, plaintext(seed))).toEqual([]);

      const receipt = store.erasure.erase(p, { reason: 'subject-request', actorKeyId: 'key_e' });
      expect(receipt).toEqual({
        subjectPseudonym: p,
        reason: 'subject-request',
        erasedAt: '2026-01-01T00:00:00.000Z',
        subjectKnown: true,
        voiceprintErased: true,
        dataKeyDestroyed: true,
        enrolmentSamplesErased: 0,
        verificationsErased: 3,
        consentWithdrawn: true,
        consentEvidenceRedacted: 0,
        auditSeq: 1,
        checkpoint: { complete: true, walFrames: 0, checkpointedFrames: 0 },
      });
      expect(fs.statSync(path.join(dir, 'voice-passport.db-wal')).size).toBe(0);
      for (const needle of [secret.ciphertext, secret.wrappedKey, secret.ciphertext.subarray(0, 32), secret.wrappedKey.subarray(13, 45)]) {
        expect(filesContaining(dir, needle)).toEqual([]);
      }
      // The other subject is untouched and still decrypts.
      expect(filesContaining(dir, otherSecret.ciphertext)).toEqual(['voice-passport.db']);
      expect(store.voiceprints.voiceprint(other)?.embedding).toEqual(embedding(7));
      expect(store.db.integrityCheck()).toEqual([]);
      store.close();
      for (const needle of [secret.ciphertext, secret.wrappedKey]) expect(filesContaining(dir, needle)).toEqual([]);
    });
  }

  it('erases an enrolment in progress too', () => {
    const p = store.pseudonymise('cust-half');
    store.consents.give(p, { noticeVersion: 'nl-1', channel: 'app', actorKeyId: null });
    store.voiceprints.addEnrolmentSample(p, { embedding: embedding(3), modelId: model, netSpeechSeconds: 9 });
    const sample = Buffer.from(store.db.get<{ ciphertext: Uint8Array }>('SELECT ciphertext FROM enrolment_samples')!.ciphertext);
    const r = store.erasure.erase(p, { reason: 'consent-withdrawn', actorKeyId: null });
    expect(r).toMatchObject({ voiceprintErased: false, dataKeyDestroyed: true, enrolmentSamplesErased: 1, consentWithdrawn: true });
    expect(filesContaining(dir, sample)).toEqual([]);
    expect(store.subjects.find(p)).toMatchObject({ enrolmentState: 'none', modelId: null });
  });

  it('keeps a minimal consent proof: given and withdrawn events, evidence reduced to its hash on a full erasure', () => {
    const p = enrol('cust-proof', 2, { evidence: 'IVR call 991, pressed 1 after notice nl-1' });
    const given = store.consents.history(p)[0]!;
    clock.advance(60_000);
    store.subjects.saveAttemptState(p, { consecutiveRejects: 9, lastRejectAt: clock().getTime(), disabled: false });
    const r = store.erasure.erase(p, { reason: 'subject-request', actorKeyId: 'key_x' });
    expect(r.consentEvidenceRedacted).toBe(1);
    expect(store.consents.history(p)).toEqual([
      { ...given, evidence: null },
      { id: 2, kind: 'withdrawn', noticeVersion: null, channel: null, locale: null, evidence: null, evidenceSha256: null, noticeSha256: null, reason: 'erasure-request', actorKeyId: 'key_x', occurredAt: '2026-01-01T00:01:00.000Z' },
    ]);
    expect(given.evidenceSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(store.consents.current(p)).toEqual({ active: false, withdrawnAt: '2026-01-01T00:01:00.000Z' });
    expect(store.subjects.find(p)).toEqual({
      pseudonym: p,
      createdAt: '2026-01-01T00:00:00.000Z',
      lastUsedAt: null,
      enrolmentState: 'none',
      modelId: null,
      enrolledAt: null,
      attempts: { consecutiveRejects: 0, lastRejectAt: null, disabled: false },
      noticeVersion: 'nl-1',
    });
    expect(store.voiceprints.voiceprint(p)).toBeUndefined();
    expect(store.verifications.listForSubject(p)).toEqual([]);
    expect(store.audit.list()).toEqual([
      expect.objectContaining({ action: 'subject.erased', outcome: 'erased', actorKeyId: 'key_x', subjectPseudonym: p, details: expect.objectContaining({ reason: 'subject-request', voiceprintErased: true }) }),
    ]);
    expect(store.audit.verify().ok).toBe(true);
  });

  it('on consent withdrawal keeps the evidence and audits it as consent.withdrawn', () => {
    const p = enrol('cust-w', 3, { evidence: 'web form 12' });
    const r = store.erasure.erase(p, { reason: 'consent-withdrawn', actorKeyId: 'key_e' });
    expect(r.consentEvidenceRedacted).toBe(0);
    expect(store.consents.history(p).map((e) => [e.kind, e.evidence, e.reason])).toEqual([
      ['given', 'web form 12', null],
      ['withdrawn', null, 'subject-request'],
    ]);
    expect(store.audit.list()[0]).toMatchObject({ action: 'consent.withdrawn', outcome: 'erased' });
  });

  it('says nothing was held for an unknown subject, and audits the request', () => {
    const p = store.pseudonymise('cust-unknown');
    const r = store.erasure.erase(p, { reason: 'subject-request', actorKeyId: 'key_e' });
    expect(r).toMatchObject({ subjectKnown: false, voiceprintErased: false, dataKeyDestroyed: false, consentWithdrawn: false, auditSeq: 1 });
    expect(store.audit.list()[0]).toMatchObject({ action: 'subject.erased', outcome: 'nothing-held' });
    expect(store.subjects.find(p)).toBeUndefined();
  });

  it('is all or nothing: a failure inside the transaction leaves the voiceprint in place', () => {
    const p = enrol('cust-atomic', 4);
    expect(() =>
      store.db.transaction(() => {
        store.erasure.eraseWithinTransaction(p, { reason: 'subject-request', actorKeyId: null });
        throw new Error('crash before commit');
      }),
    ).toThrow('crash before commit');
    expect(store.voiceprints.voiceprint(p)?.embedding).toEqual(embedding(4));
    expect(store.consents.current(p).active).toBe(true);
    expect(store.audit.head()).toBeNull();
  });

  it('the schema refuses a withdrawal recorded while the voiceprint still exists', () => {
    const p = enrol('cust-order', 5);
    expect(() => store.consents.recordWithdrawal(p, { reason: 'subject-request', actorKeyId: null })).toThrow(/voiceprint-present-on-withdrawal/);
    expect(store.consents.current(p).active).toBe(true);
  });
});

describe('re-enrolment', () => {
  it('leaves none of the replaced template or key bytes in the data dir after a checkpoint', () => {
    const p = enrol('cust-re', 1);
    const old = storedSecrets(p);
    store.voiceprints.completeEnrolment(p, { embedding: embedding(99), modelId: model, sampleCount: 3, netSpeechSeconds: 25 });
    store.db.checkpoint();
    expect(filesContaining(dir, old.ciphertext)).toEqual([]);
    expect(filesContaining(dir, old.wrappedKey)).toEqual([]);
    expect(filesContaining(dir, storedSecrets(p).ciphertext)).toEqual(['voice-passport.db']);
  });
});

describe('retention purge (GDPR Art. 5(1)(e))', () => {
  it('erases voiceprints unused since the cutoff and abandoned enrolments, and nothing else', () => {
    const used = enrol('cust-used', 1);
    const neverUsed = enrol('cust-never-used', 2);
    const abandoned = store.pseudonymise('cust-abandoned');
    store.consents.give(abandoned, { noticeVersion: 'nl-1', channel: 'web', actorKeyId: null });
    store.voiceprints.addEnrolmentSample(abandoned, { embedding: embedding(3), modelId: model, netSpeechSeconds: 5 });
    const consentOnly = store.pseudonymise('cust-consent-only');
    store.consents.give(consentOnly, { noticeVersion: 'nl-1', channel: 'web', actorKeyId: null });

    clock.set('2028-01-01T00:00:00.000Z');
    store.subjects.touch(used);
    clock.set('2028-07-01T00:00:00.000Z');
    const recent = enrol('cust-recent', 4);

    clock.set('2029-01-02T00:00:00.000Z');
    const cutoff = new Date('2026-01-02T00:00:00.000Z'); // 3 years
    expect(store.erasure.findExpired(cutoff).sort()).toEqual([neverUsed, abandoned].sort());
    // Checked again as each is erased: the one used since it was found stays.
    expect(store.erasure.eraseIfExpired(used, cutoff, [], null)).toBeUndefined();
    const receipts = store.erasure.findExpired(cutoff).map((p) => store.erasure.eraseIfExpired(p, cutoff, [], null)!);
    expect(store.db.checkpoint().complete).toBe(true);
    expect(receipts.map((r) => [r.subjectPseudonym, r.reason, r.consentWithdrawn]).sort()).toEqual(
      [
        [neverUsed, 'retention-expired', true],
        [abandoned, 'retention-expired', true],
      ].sort(),
    );
    expect(store.voiceprints.voiceprint(neverUsed)).toBeUndefined();
    expect(store.voiceprints.enrolmentProgress(abandoned)).toEqual({ sampleCount: 0, netSpeechSeconds: 0 });
    expect(store.consents.history(neverUsed).at(-1)).toMatchObject({ kind: 'withdrawn', reason: 'retention-expired' });
    expect(store.voiceprints.voiceprint(used)?.embedding).toEqual(embedding(1));
    expect(store.voiceprints.voiceprint(recent)?.embedding).toEqual(embedding(4));
    expect(store.consents.current(consentOnly).active).toBe(true);
    expect(store.audit.list().map((e) => e.action)).toEqual(['retention.purged', 'retention.purged']);
    expect(store.erasure.findExpired(cutoff)).toEqual([]);
  });
});
