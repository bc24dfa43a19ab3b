/**
 * Repository round trips: API keys (hash only), subjects and attempt limiting across restart (NIST SP
 * 800-63B §3.2.3), consent (GDPR Art. 7, 9(2)(a)), encrypted voiceprints, verifications, policies.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultAttemptLimits, recordOutcome } from '../../src/scoring/attempts.js';
import { defaultPolicies } from '../../src/scoring/policy.js';
import { hashApiKey } from '../../src/store/crypto.js';
import { emptyHistogram, type Store } from '../../src/store/index.js';
import { embedding, movableClock, openTestStore, removeDir, tempDataDir, type MovableClock } from './helpers.js';

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

describe('ApiKeyRepository', () => {
  it('creates a key shown once, stores only its hash, and lists it', () => {
    const { record, key } = store.apiKeys.create({ role: 'operator', name: 'ops laptop' });
    expect(key).toMatch(/^vp_operator_[A-Za-z0-9_-]{43}$/);
    expect(record).toEqual({ id: expect.stringMatching(/^key_[0-9a-f]{16}$/), role: 'operator', name: 'ops laptop', createdAt: '2026-01-01T00:00:00.000Z', lastUsedAt: null, revokedAt: null, expiresAt: null });
    expect(store.apiKeys.list()).toEqual([record]);
    const row = store.db.get<{ key_hash: Uint8Array }>('SELECT key_hash FROM api_keys');
    expect(Buffer.from(row!.key_hash)).toEqual(hashApiKey(key));
    expect(store.db.get('SELECT 1 AS x FROM api_keys WHERE name = ? OR key_hash = ?', ['x', key])).toBeUndefined();
  });

  it('authenticates the secret, refreshes last use at most once a minute, and refuses wrong or revoked keys', () => {
    const { record, key } = store.apiKeys.create({ role: 'telephony' });
    expect(record.name).toBe('telephony');
    clock.advance(1000);
    expect(store.apiKeys.authenticate(key)).toMatchObject({ id: record.id, role: 'telephony', lastUsedAt: '2026-01-01T00:00:01.000Z' });
    clock.advance(30_000);
    expect(store.apiKeys.authenticate(key)?.lastUsedAt).toBe('2026-01-01T00:00:01.000Z');
    clock.advance(30_000);
    expect(store.apiKeys.authenticate(key)?.lastUsedAt).toBe('2026-01-01T00:01:01.000Z');
    expect(store.apiKeys.authenticate(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(store.apiKeys.authenticate('Bearer nonsense')).toBeUndefined();
    expect(store.apiKeys.findByHash(hashApiKey(key))?.id).toBe(record.id);

    clock.advance(5000);
    expect(store.apiKeys.revoke(record.id)?.revokedAt).toBe('2026-01-01T00:01:06.000Z');
    clock.advance(5000);
    expect(store.apiKeys.revoke(record.id)?.revokedAt).toBe('2026-01-01T00:01:06.000Z');
    expect(store.apiKeys.authenticate(key)).toBeUndefined();
    expect(store.apiKeys.revoke('key_0000000000000000')).toBeUndefined();
  });

  it('stops authenticating a key at its expiry, and counts it inactive from then on', () => {
    const { record, key } = store.apiKeys.create({ role: 'admin', expiresAt: '2026-01-02T00:00:00+01:00' });
    expect(record.expiresAt).toBe('2026-01-01T23:00:00.000Z');
    expect(store.apiKeys.countActive('admin')).toBe(1);
    clock.set('2026-01-01T22:59:59.999Z');
    expect(store.apiKeys.authenticate(key)?.id).toBe(record.id);
    clock.set('2026-01-01T23:00:00.000Z');
    expect(store.apiKeys.authenticate(key)).toBeUndefined();
    expect(store.apiKeys.countActive('admin')).toBe(0);
    expect(store.apiKeys.countActive()).toBe(0);
    // Listed still, with its expiry: an operator sees what stopped working and when.
    expect(store.apiKeys.list()).toEqual([{ ...record, lastUsedAt: '2026-01-01T22:59:59.999Z' }]);
  });

  it('refuses an expiry that is not after now, more than 3650 days ahead, or not a time', () => {
    for (const expiresAt of ['2026-01-01T00:00:00.000Z', '2025-12-31T23:59:59Z', '2036-01-01T00:00:00.001Z', 'next tuesday']) {
      expect(() => store.apiKeys.create({ role: 'operator', expiresAt }), expiresAt).toThrow(expect.objectContaining({ code: 'validation-failed', message: expect.stringMatching(/after now and at most 3650 days ahead/) }));
    }
    expect(store.apiKeys.create({ role: 'operator', expiresAt: '2035-12-30T00:00:00.000Z' }).record.expiresAt).toBe('2035-12-30T00:00:00.000Z');
    expect(store.apiKeys.list()).toHaveLength(1);
  });

  it('counts active keys by role and validates input', () => {
    store.apiKeys.create({ role: 'admin' });
    const t = store.apiKeys.create({ role: 'telephony' });
    store.apiKeys.create({ role: 'telephony' });
    store.apiKeys.revoke(t.record.id);
    expect(store.apiKeys.countActive()).toBe(2);
    expect(store.apiKeys.countActive('telephony')).toBe(1);
    expect(() => store.apiKeys.create({ role: 'root' as 'admin' })).toThrow(expect.objectContaining({ code: 'validation-failed' }));
    expect(() => store.apiKeys.create({ role: 'admin', name: ' ' })).toThrow(expect.objectContaining({ code: 'validation-failed' }));
  });
});

describe('SubjectRepository', () => {
  it('creates a subject once and reads it back by pseudonym', () => {
    const p = store.pseudonymise('cust-1');
    expect(store.subjects.find(p)).toBeUndefined();
    const s = store.subjects.ensure(p);
    expect(s).toEqual({
      pseudonym: p,
      createdAt: '2026-01-01T00:00:00.000Z',
      lastUsedAt: null,
      enrolmentState: 'none',
      modelId: null,
      enrolledAt: null,
      attempts: { consecutiveRejects: 0, lastRejectAt: null, disabled: false },
      noticeVersion: null,
    });
    clock.advance(1000);
    expect(store.subjects.ensure(p).createdAt).toBe('2026-01-01T00:00:00.000Z');
    store.subjects.touch(p);
    expect(store.subjects.find(p)?.lastUsedAt).toBe('2026-01-01T00:00:01.000Z');
    expect(() => store.subjects.ensure('cust-1')).toThrow(TypeError);
  });

  it('stores the attempt state of scoring/attempts.ts exactly', () => {
    const p = store.pseudonymise('cust-2');
    store.subjects.ensure(p);
    let state = store.subjects.attemptState(p);
    for (let i = 0; i < 5; i++) state = recordOutcome(state, 'reject', clock().getTime() + i, defaultAttemptLimits);
    expect(store.subjects.saveAttemptState(p, state)).toBe(true);
    expect(store.subjects.attemptState(p)).toEqual({ consecutiveRejects: 5, lastRejectAt: Date.parse('2026-01-01T00:00:00.004Z'), disabled: false });
    expect(store.subjects.saveAttemptState(p, { consecutiveRejects: 50, lastRejectAt: 0, disabled: true })).toBe(true);
    expect(store.subjects.find(p)?.attempts).toEqual({ consecutiveRejects: 50, lastRejectAt: 0, disabled: true });
    expect(store.subjects.counts()).toEqual({ subjects: 1, enrolling: 0, enrolled: 0, verificationDisabled: 1 });
    expect(store.subjects.resetAttempts(p)).toBe(true);
    expect(store.subjects.attemptState(p)).toEqual({ consecutiveRejects: 0, lastRejectAt: null, disabled: false });
    expect(store.subjects.saveAttemptState(store.pseudonymise('unknown'), state)).toBe(false);
    expect(() => store.subjects.saveAttemptState(p, { ...state, consecutiveRejects: -1 })).toThrow(RangeError);
  });

  it('keeps attempt-limiting state across a restart (NIST SP 800-63B §3.2.3)', () => {
    const p = store.pseudonymise('cust-3');
    store.subjects.ensure(p);
    store.subjects.saveAttemptState(p, { consecutiveRejects: 7, lastRejectAt: Date.parse('2026-01-01T00:00:00.000Z'), disabled: false });
    store.close();
    store = openTestStore(dir, { clock });
    expect(store.subjects.attemptState(p)).toEqual({ consecutiveRejects: 7, lastRejectAt: Date.parse('2026-01-01T00:00:00.000Z'), disabled: false });
  });
});

describe('ConsentRepository', () => {
  it('records consent, reports it current, then withdrawal ends it; history keeps both', () => {
    const p = store.pseudonymise('cust-c');
    expect(store.consents.current(p)).toEqual({ active: false, withdrawnAt: null });
    const noticeSha256 = 'a1'.repeat(32);
    const given = store.consents.give(p, { noticeVersion: 'nl-2026-01', channel: 'ivr', locale: 'nl-NL', evidence: 'call 42 pressed 1', noticeSha256, actorKeyId: 'key_a' });
    expect(given).toEqual({
      id: 1,
      kind: 'given',
      noticeVersion: 'nl-2026-01',
      channel: 'ivr',
      locale: 'nl-NL',
      evidence: 'call 42 pressed 1',
      evidenceSha256: '71af08907dec77b41555cae3b45c58d22581262d8b1dd9a10d448b8186c35cc9', // sha256sum of the evidence text
      noticeSha256,
      reason: null,
      actorKeyId: 'key_a',
      occurredAt: '2026-01-01T00:00:00.000Z',
    });
    expect(store.subjects.find(p)?.enrolmentState).toBe('none');
    expect(store.consents.current(p)).toEqual({ active: true, givenAt: '2026-01-01T00:00:00.000Z', noticeVersion: 'nl-2026-01', channel: 'ivr', locale: 'nl-NL', actorKeyId: 'key_a' });
    clock.advance(60_000);
    const w = store.consents.recordWithdrawal(p, { reason: 'subject-request', actorKeyId: 'key_b' });
    expect(w).toMatchObject({ id: 2, kind: 'withdrawn', reason: 'subject-request', noticeVersion: null, channel: null, actorKeyId: 'key_b', occurredAt: '2026-01-01T00:01:00.000Z' });
    expect(store.consents.current(p)).toEqual({ active: false, withdrawnAt: '2026-01-01T00:01:00.000Z' });
    expect(store.consents.recordWithdrawal(p, { reason: 'subject-request', actorKeyId: 'key_b' })).toBeUndefined();
    expect(store.consents.history(p).map((e) => e.kind)).toEqual(['given', 'withdrawn']);
    expect(store.consents.noticeTextsInUse()).toEqual([{ noticeVersion: 'nl-2026-01', locale: 'nl-NL', sha256: noticeSha256 }]);
  });

  it('a notice text hash is 64 hex characters, on a given event only (migration 014)', () => {
    const p = store.pseudonymise('cust-n');
    expect(() => store.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', noticeSha256: 'abc', actorKeyId: null })).toThrow(/CHECK constraint/);
    store.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', actorKeyId: null });
    const subjectId = store.db.get<{ id: number }>('SELECT id FROM subjects WHERE pseudonym = ?', [p])!.id;
    expect(() =>
      store.db.run("INSERT INTO consent_events (subject_id, kind, reason, notice_sha256, occurred_at) VALUES (?, 'withdrawn', 'subject-request', ?, '2026-01-01T00:00:00.000Z')", [subjectId, 'a1'.repeat(32)]),
    ).toThrow(/CHECK constraint/);
    expect(store.consents.noticeTextsInUse()).toEqual([]);
  });

  it('keeps the evidence hash when the evidence is redacted', () => {
    const p = store.pseudonymise('cust-e');
    const given = store.consents.give(p, { noticeVersion: 'en-1', channel: 'web', evidence: 'form 7', actorKeyId: null });
    expect(store.consents.redactEvidence(p)).toBe(1);
    expect(store.consents.history(p)[0]).toEqual({ ...given, evidence: null });
    expect(given.evidenceSha256).toBe('4a8e2c4864fea4024da48e39620e25e2a3e9a0ec6ddad8df1b8a74eda1971655'); // sha256sum of "form 7"
  });

  it('validates channel, notice version and evidence length', () => {
    const p = store.pseudonymise('cust-v');
    const invalid = expect.objectContaining({ code: 'validation-failed' });
    expect(() => store.consents.give(p, { noticeVersion: 'v1', channel: 'fax' as 'ivr', actorKeyId: null })).toThrow(invalid);
    expect(() => store.consents.give(p, { noticeVersion: '', channel: 'ivr', actorKeyId: null })).toThrow(invalid);
    expect(() => store.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', evidence: 'x'.repeat(4097), actorKeyId: null })).toThrow(invalid);
    expect(store.subjects.find(p)).toBeUndefined();
  });
});

describe('VoiceprintRepository', () => {
  const model = 'wespeaker-resnet34-v1';

  function consented(id: string): string {
    const p = store.pseudonymise(id);
    store.consents.give(p, { noticeVersion: 'v1', channel: 'app', actorKeyId: null });
    return p;
  }

  it('refuses to store anything biometric without consent, even bypassing the use case (Art. 9(2)(a))', () => {
    const never = store.pseudonymise('never-consented');
    expect(() => store.voiceprints.addEnrolmentSample(never, { embedding: embedding(1), modelId: model, netSpeechSeconds: 5 })).toThrow(
      expect.objectContaining({ code: 'consent-required' }),
    );
    // A subject row without a consent event: the schema trigger refuses the data key.
    store.subjects.ensure(never);
    expect(() => store.voiceprints.addEnrolmentSample(never, { embedding: embedding(1), modelId: model, netSpeechSeconds: 5 })).toThrow(
      expect.objectContaining({ code: 'consent-required' }),
    );
    expect(() => store.voiceprints.completeEnrolment(never, { embedding: embedding(1), modelId: model, sampleCount: 1, netSpeechSeconds: 5 })).toThrow(
      expect.objectContaining({ code: 'consent-required' }),
    );
    expect(store.db.get<{ n: number }>('SELECT (SELECT count(*) FROM subject_keys) + (SELECT count(*) FROM enrolment_samples) + (SELECT count(*) FROM templates) AS n')).toEqual({ n: 0 });
  });

  it('accumulates encrypted samples, then completes the enrolment: samples gone, template decrypts', () => {
    const p = consented('cust-v1');
    expect(store.voiceprints.addEnrolmentSample(p, { embedding: embedding(1), modelId: model, netSpeechSeconds: 8.5 })).toEqual({ sampleCount: 1, netSpeechSeconds: 8.5 });
    clock.advance(1000);
    expect(store.voiceprints.addEnrolmentSample(p, { embedding: embedding(2), modelId: model, netSpeechSeconds: 12 })).toEqual({ sampleCount: 2, netSpeechSeconds: 20.5 });
    expect(store.subjects.find(p)).toMatchObject({ enrolmentState: 'enrolling', modelId: model });
    const samples = store.voiceprints.enrolmentSamples(p);
    expect(samples.map((s) => [s.id, s.modelId, s.netSpeechSeconds, s.createdAt])).toEqual([
      [1, model, 8.5, '2026-01-01T00:00:00.000Z'],
      [2, model, 12, '2026-01-01T00:00:01.000Z'],
    ]);
    expect(samples[0]!.embedding).toEqual(embedding(1));
    expect(samples[1]!.embedding).toEqual(embedding(2));
    // Stored encrypted: the plaintext floats are not in the row.
    const row = store.db.get<{ ciphertext: Uint8Array }>('SELECT ciphertext FROM enrolment_samples WHERE id = 1')!;
    expect(Buffer.from(row.ciphertext).indexOf(Buffer.from(embedding(1).buffer).subarray(0, 32))).toBe(-1);

    clock.advance(1000);
    const meta = store.voiceprints.completeEnrolment(p, { embedding: embedding(3), modelId: model, sampleCount: 2, netSpeechSeconds: 20.5 });
    expect(meta).toEqual({ modelId: model, sampleCount: 2, netSpeechSeconds: 20.5, formatVersion: 1, createdAt: '2026-01-01T00:00:02.000Z' });
    expect(store.voiceprints.enrolmentProgress(p)).toEqual({ sampleCount: 0, netSpeechSeconds: 0 });
    expect(store.voiceprints.enrolmentSamples(p)).toEqual([]);
    expect(store.voiceprints.voiceprint(p)).toEqual({ ...meta, embedding: embedding(3) });
    expect(store.voiceprints.voiceprintMetadata(p)).toEqual(meta);
    expect(store.subjects.find(p)).toMatchObject({ enrolmentState: 'enrolled', modelId: model, enrolledAt: '2026-01-01T00:00:02.000Z' });
  });

  it('re-enrolment replaces the template under a fresh data key; the subject stays enrolled meanwhile', () => {
    const p = consented('cust-v2');
    store.voiceprints.completeEnrolment(p, { embedding: embedding(1), modelId: model, sampleCount: 1, netSpeechSeconds: 20 });
    const oldKey = Buffer.from(store.db.get<{ wrapped_key: Uint8Array }>('SELECT wrapped_key FROM subject_keys')!.wrapped_key);
    store.voiceprints.addEnrolmentSample(p, { embedding: embedding(5), modelId: 'ecapa-v2', netSpeechSeconds: 10 });
    expect(store.subjects.find(p)?.enrolmentState).toBe('enrolled');
    expect(store.voiceprints.voiceprint(p)?.embedding).toEqual(embedding(1));
    store.voiceprints.completeEnrolment(p, { embedding: embedding(6), modelId: 'ecapa-v2', sampleCount: 2, netSpeechSeconds: 21 });
    const newKey = Buffer.from(store.db.get<{ wrapped_key: Uint8Array }>('SELECT wrapped_key FROM subject_keys')!.wrapped_key);
    expect(newKey.equals(oldKey)).toBe(false);
    expect(store.voiceprints.voiceprint(p)).toMatchObject({ modelId: 'ecapa-v2', sampleCount: 2, embedding: embedding(6) });
    expect(store.db.get('SELECT count(*) AS n FROM templates')).toEqual({ n: 1 });
  });

  it('discards an unfinished enrolment', () => {
    const p = consented('cust-v3');
    store.voiceprints.addEnrolmentSample(p, { embedding: embedding(1), modelId: model, netSpeechSeconds: 4 });
    expect(store.voiceprints.discardEnrolmentSamples(p)).toBe(1);
    expect(store.subjects.find(p)).toMatchObject({ enrolmentState: 'none', modelId: null });
    expect(store.voiceprints.voiceprint(p)).toBeUndefined();
    expect(store.voiceprints.discardEnrolmentSamples(store.pseudonymise('nobody'))).toBe(0);
  });

  it('fails loudly when a stored template was altered or moved to another subject', () => {
    const a = consented('cust-a');
    const b = consented('cust-b');
    store.voiceprints.completeEnrolment(a, { embedding: embedding(1), modelId: model, sampleCount: 1, netSpeechSeconds: 20 });
    store.voiceprints.completeEnrolment(b, { embedding: embedding(2), modelId: model, sampleCount: 1, netSpeechSeconds: 20 });
    // Copy A's template row over B's (keeping B's key): AAD and key both differ.
    store.db.run(
      `UPDATE templates SET ciphertext = (SELECT ciphertext FROM templates t WHERE t.subject_id = 1), iv = (SELECT iv FROM templates t WHERE t.subject_id = 1),
         tag = (SELECT tag FROM templates t WHERE t.subject_id = 1) WHERE subject_id = 2`,
    );
    expect(() => store.voiceprints.voiceprint(b)).toThrow(expect.objectContaining({ code: 'internal', message: expect.stringMatching(/integrity check/) }));
    store.db.run("UPDATE templates SET model_id = 'other' WHERE subject_id = 1");
    expect(() => store.voiceprints.voiceprint(a)).toThrow(/integrity check/);
  });
});

describe('VerificationRepository', () => {
  it('records verifications without biometric data, lists them per subject, and aggregates', () => {
    const p = store.pseudonymise('cust-ver');
    store.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', actorKeyId: null });
    const base = { policy: 'standard', reasons: ['score-above-threshold'], rawScore: null, normalisedScore: null, threshold: 0.5, rawThreshold: 2.5, netSpeechSeconds: 4.2, channel: 'wideband' as const, modelId: 'm', actorKeyId: 'key_t', transport: 'request' as const };
    const r1 = store.verifications.record(p, { ...base, decision: 'accept', score: 0.83, normalisedScore: 3.1 });
    expect(r1).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), occurredAt: '2026-01-01T00:00:00.000Z', ...base, decision: 'accept', score: 0.83, normalisedScore: 3.1 });
    clock.advance(1000);
    store.verifications.record(p, { ...base, decision: 'reject', score: 0.12, normalisedScore: 0.4, reasons: ['score-below-threshold'] });
    clock.advance(1000);
    store.verifications.record(p, { ...base, policy: 'high', decision: 'reject', score: -1.5, rawThreshold: null, reasons: [] });
    store.verifications.record(store.pseudonymise('stranger'), { ...base, decision: 'no-consent', score: null, threshold: null, rawThreshold: null, netSpeechSeconds: null, channel: null, modelId: null });

    expect(store.verifications.listForSubject(p).map((v) => [v.decision, v.score])).toEqual([
      ['accept', 0.83],
      ['reject', 0.12],
      ['reject', -1.5],
    ]);
    expect(store.verifications.listForSubject(p)[0]).toEqual(r1);
    expect(store.verifications.countForSubject(p)).toBe(3);
    expect(store.db.get('SELECT subject_id FROM verifications WHERE decision = ?', ['no-consent'])).toEqual({ subject_id: null });
    expect(store.verifications.decisionCounts()).toEqual([
      { channel: 'wideband', transport: 'request', policy: 'high', decision: 'reject', count: 1 },
      { channel: 'wideband', transport: 'request', policy: 'standard', decision: 'accept', count: 1 },
      { channel: null, transport: 'request', policy: 'standard', decision: 'no-consent', count: 1 },
      { channel: 'wideband', transport: 'request', policy: 'standard', decision: 'reject', count: 1 },
    ]);
    expect(store.verifications.decisionCounts({ from: '2026-01-01T00:00:01.000Z', to: '2026-01-01T00:00:02.000Z' })).toEqual([
      { channel: 'wideband', transport: 'request', policy: 'standard', decision: 'reject', count: 1 },
    ]);
    expect(store.verifications.scoreHistograms({}, { min: -1, max: 1, bins: 4 })).toEqual([
      {
        channel: 'wideband',
        policy: 'high',
        bins: [
          { lower: -1, upper: -0.5, accept: 0, reject: 1 }, // -1.5 clamps into the first bin
          { lower: -0.5, upper: 0, accept: 0, reject: 0 },
          { lower: 0, upper: 0.5, accept: 0, reject: 0 },
          { lower: 0.5, upper: 1, accept: 0, reject: 0 },
        ],
      },
      {
        channel: 'wideband',
        policy: 'standard',
        bins: [
          { lower: -1, upper: -0.5, accept: 0, reject: 0 },
          { lower: -0.5, upper: 0, accept: 0, reject: 0 },
          { lower: 0, upper: 0.5, accept: 0, reject: 1 },
          { lower: 0.5, upper: 1, accept: 1, reject: 0 },
        ],
      },
    ]);
    // Within the range only; a range with no scored rows has no groups.
    expect(store.verifications.scoreHistograms({ from: '2026-01-01T00:00:02.000Z' }, { bins: 2 }).map((g) => [g.policy, g.bins.map((b) => b.reject)])).toEqual([['high', [1, 0]]]);
    expect(store.verifications.scoreHistograms({ to: '2026-01-01T00:00:00.000Z' })).toEqual([]);
    // Rows without a normalised score (the 'high' one) are left out of that scale's histogram.
    expect(store.verifications.scoreHistograms({}, { of: 'normalisedScore', min: -4, max: 12, bins: 4 })).toEqual([
      {
        channel: 'wideband',
        policy: 'standard',
        bins: [
          { lower: -4, upper: 0, accept: 0, reject: 0 },
          { lower: 0, upper: 4, accept: 1, reject: 1 },
          { lower: 4, upper: 8, accept: 0, reject: 0 },
          { lower: 8, upper: 12, accept: 0, reject: 0 },
        ],
      },
    ]);
    expect(() => emptyHistogram({ min: 1, max: 1 })).toThrow(RangeError);
    expect(() => emptyHistogram({ bins: 0 })).toThrow(RangeError);
    expect(store.verifications.listForSubject(p).map((v) => [v.normalisedScore, v.rawThreshold])).toEqual([
      [3.1, 2.5],
      [0.4, 2.5],
      [null, null],
    ]);
  });

  it('keeps the scoring channel and transport, and groups counts, histograms and inconclusive reasons by them', () => {
    const p = store.pseudonymise('cust-ch');
    store.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', actorKeyId: null });
    const base = { policy: 'standard', rawScore: 0.5, normalisedScore: null, threshold: 0.5, rawThreshold: 0.5, netSpeechSeconds: 4, modelId: 'm', actorKeyId: 'key_t', transport: 'stream' as const };
    const wide = { ...base, channel: 'wideband' as const };
    const phone = { ...base, channel: 'telephone' as const };
    store.verifications.record(p, { ...wide, decision: 'accept', reasons: ['score-above-threshold'], score: 0.9, rawScore: 0.9 });
    store.verifications.record(p, { ...phone, decision: 'reject', reasons: ['score-below-threshold'], score: 0.2, rawScore: 0.2 });
    store.verifications.record(p, { ...phone, decision: 'inconclusive', reasons: ['insufficient-speech'], score: null, rawScore: null });
    // A recording, the rest streams.
    store.verifications.record(p, { ...phone, transport: 'request', decision: 'inconclusive', reasons: ['insufficient-speech', 'low-snr'], score: null, rawScore: null });
    store.verifications.record(p, { ...wide, decision: 'inconclusive', reasons: ['clipped-audio'], score: null, rawScore: null });
    store.verifications.record(p, { ...base, channel: null, decision: 'locked', reasons: ['too-many-rejects'], score: null, rawScore: null });

    expect(store.verifications.listForSubject(p).map((v) => [v.channel, v.transport])).toEqual([
      ['wideband', 'stream'],
      ['telephone', 'stream'],
      ['telephone', 'stream'],
      ['telephone', 'request'],
      ['wideband', 'stream'],
      [null, 'stream'],
    ]);
    // One pass: every row with its channel, the locked one (no audio analysed) under null.
    expect(store.verifications.decisionCounts()).toEqual([
      { channel: 'wideband', transport: 'stream', policy: 'standard', decision: 'accept', count: 1 },
      { channel: 'telephone', transport: 'request', policy: 'standard', decision: 'inconclusive', count: 1 },
      { channel: 'telephone', transport: 'stream', policy: 'standard', decision: 'inconclusive', count: 1 },
      { channel: 'wideband', transport: 'stream', policy: 'standard', decision: 'inconclusive', count: 1 },
      { channel: null, transport: 'stream', policy: 'standard', decision: 'locked', count: 1 },
      { channel: 'telephone', transport: 'stream', policy: 'standard', decision: 'reject', count: 1 },
    ]);
    expect(store.verifications.scoreHistograms({}, { of: 'rawScore', bins: 2 })).toEqual([
      { channel: 'telephone', policy: 'standard', bins: [{ lower: -1, upper: 0, accept: 0, reject: 0 }, { lower: 0, upper: 1, accept: 0, reject: 1 }] },
      { channel: 'wideband', policy: 'standard', bins: [{ lower: -1, upper: 0, accept: 0, reject: 0 }, { lower: 0, upper: 1, accept: 1, reject: 0 }] },
    ]);
    // Each reason of an inconclusive decision counts once, per channel and transport, most frequent first.
    expect(store.verifications.inconclusiveReasons()).toEqual([
      { channel: 'wideband', transport: 'stream', reason: 'clipped-audio', count: 1 },
      { channel: 'telephone', transport: 'request', reason: 'insufficient-speech', count: 1 },
      { channel: 'telephone', transport: 'stream', reason: 'insufficient-speech', count: 1 },
      { channel: 'telephone', transport: 'request', reason: 'low-snr', count: 1 },
    ]);
    expect(store.verifications.inconclusiveReasons({ from: '2030-01-01T00:00:00.000Z' })).toEqual([]);
    expect(() => store.db.run(`UPDATE verifications SET channel = 'satellite'`)).toThrow(/CHECK constraint/);
  });

  it('finds the records older than a cutoff and erases them by row number, never one younger than the cutoff', () => {
    const p = store.pseudonymise('cust-old');
    store.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', actorKeyId: null });
    const input = { policy: 'standard', decision: 'accept' as const, reasons: [], score: 1, rawScore: 0.6, normalisedScore: null, threshold: 0, rawThreshold: 0.5, netSpeechSeconds: 4, channel: 'wideband' as const, modelId: 'm', actorKeyId: null, transport: 'request' as const };
    const ids = [0, 1, 2].map(() => {
      clock.advance(86_400_000);
      return store.verifications.record(p, input).id;
    });
    const cutoff = new Date(clock().getTime() - 1000); // the first two are older
    const due = store.verifications.findOlderThan(cutoff);
    expect(due).toHaveLength(2);
    expect(store.verifications.countOlderThan(cutoff)).toBe(2);
    // The youngest's row number, as if reused by a record made after the purge found its list: kept.
    const youngest = store.db.get<{ rowid: number }>('SELECT rowid FROM verifications WHERE id = ?', [ids[2]!])!.rowid;
    expect(store.verifications.erase([...due, youngest, 999_999], cutoff)).toBe(2);
    expect(store.verifications.listForSubject(p).map((v) => v.id)).toEqual([ids[2]]);
    expect(store.verifications.erase(due, cutoff)).toBe(0);
  });
});

describe('PolicyRepository', () => {
  it('seeds defaults once, updates with attribution, and never overwrites an operator change', () => {
    expect(store.policies.seedDefaults(defaultPolicies, 'standard')).toBe(2);
    expect(store.policies.get('standard')).toEqual({ ...defaultPolicies[0], targetFmr: null, targetFmrBound: null, updatedBy: null, updatedAt: '2026-01-01T00:00:00.000Z' });
    clock.advance(1000);
    const high = store.policies.put({ name: 'high', threshold: 0.7, minNetSpeechSeconds: 6, description: 'payments', targetFmr: 0.0001 }, 'key_op');
    // A target without a bound bounds the estimate.
    expect(high).toEqual({ name: 'high', threshold: 0.7, minNetSpeechSeconds: 6, description: 'payments', targetFmr: 0.0001, targetFmrBound: 'estimate', updatedBy: 'key_op', updatedAt: '2026-01-01T00:00:01.000Z' });
    expect(store.policies.put({ ...high, targetFmrBound: 'upper-95' }, 'key_op').targetFmrBound).toBe('upper-95');
    // An explicit threshold bounds nothing, whatever it is given.
    expect(store.policies.put({ ...high, targetFmr: null, targetFmrBound: 'upper-95' }, 'key_op').targetFmrBound).toBeNull();
    store.policies.put(high, 'key_op');
    expect(store.policies.seedDefaults(defaultPolicies, 'standard')).toBe(0);
    expect(store.policies.get('high')?.threshold).toBe(0.7);
    expect(store.policies.list().map((p) => p.name)).toEqual(['high', 'standard']);
    expect(store.policies.delete('high')).toBe(true);
    expect(store.policies.get('high')).toBeUndefined();
    // A deleted tier stays deleted at the next start; only the required default comes back.
    expect(store.policies.seedDefaults(defaultPolicies, 'standard')).toBe(0);
    expect(store.policies.list().map((p) => p.name)).toEqual(['standard']);
    store.policies.put({ name: 'payments', threshold: 0.8, minNetSpeechSeconds: 6, description: '' }, 'key_op');
    expect(store.policies.delete('standard')).toBe(true);
    expect(store.policies.seedDefaults(defaultPolicies, 'standard')).toBe(1);
    expect(store.policies.list().map((p) => [p.name, p.threshold, p.updatedBy])).toEqual([
      ['payments', 0.8, 'key_op'],
      ['standard', defaultPolicies[0]!.threshold, null],
    ]);
    expect(() => store.policies.put({ name: 'x', threshold: 0.5, minNetSpeechSeconds: 0, description: '' }, null)).toThrow(/CHECK constraint/);
    expect(() => store.policies.put({ name: 'x', threshold: 0.5, minNetSpeechSeconds: 3, description: '', targetFmr: 0.01, targetFmrBound: 'upper' as never }, null)).toThrow(/CHECK constraint/);
  });
});
