/** Idempotency-Key on POST …/verifications and …/enrolments: a retry gets the first answer, not a second attempt. */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createKey } from '../../src/passport/api-keys.js';
import { purgeAllExpired } from '../../src/passport/retention.js';
import { runThrough } from '../../src/passport/steps.js';
import { auditEntries, consent, consentAndEnrol, createHarness, exportSubject, getSubject, type Harness } from './harness.js';
import { toneWav } from '../passport/fakes.js';

let h: Harness;
afterEach(() => h?.close());

const hour = 3_600_000;
const voice = Buffer.from(toneWav({ freq: 200, seconds: 4 }));
const otherVoice = Buffer.from(toneWav({ freq: 400, seconds: 4 }));

function verifyWithKey(id: string, key: string, audio: Buffer = voice, options: { query?: string; authorization?: string; contentType?: string } = {}) {
  return request(h.app)
    .post(`/v1/subjects/${id}/verifications${options.query ?? ''}`)
    .set(options.authorization === undefined ? h.auth('telephony') : { Authorization: options.authorization })
    .set('Content-Type', options.contentType ?? 'audio/wav')
    .set('Idempotency-Key', key)
    .send(audio);
}

const idempotentRows = () => h.store.db.get<{ n: number }>('SELECT count(*) AS n FROM idempotent_requests')!.n;

describe('Idempotency-Key on a verification', () => {
  it('answers a retry with the first answer: one decision recorded, audited and counted', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const first = await verifyWithKey('cust-1', '"call-7781-attempt-1"');
    expect(first.status).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(first.body).toMatchObject({ decision: 'accept', verificationId: expect.any(String) });

    const retry = await verifyWithKey('cust-1', '"call-7781-attempt-1"');
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);

    // Re-read: one verification, one audit entry, one decision counted.
    expect((await exportSubject(h, 'cust-1')).body.verifications.map((v: { id: string }) => v.id)).toEqual([first.body.verificationId]);
    expect((await auditEntries(h)).filter((e) => e.action === 'verification')).toHaveLength(1);
    expect(await h.metrics.registry.metrics()).toMatch(/voice_passport_verification_decisions_total\{[^}]*decision="accept"[^}]*\} 1\n/);

    // A new key is a new attempt.
    const next = await verifyWithKey('cust-1', 'call-7781-attempt-2');
    expect(next.headers['idempotent-replayed']).toBeUndefined();
    expect(next.body.verificationId).not.toBe(first.body.verificationId);
  });

  it('refuses the key for another request (audio, subject or policy) with 422, leaving the first answer in place', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    await consentAndEnrol(h, 'cust-2');
    const first = await verifyWithKey('cust-1', 'k1');
    for (const other of [verifyWithKey('cust-1', 'k1', otherVoice), verifyWithKey('cust-2', 'k1'), verifyWithKey('cust-1', 'k1', voice, { query: '?policy=standard' })]) {
      const r = await other;
      expect(r.status).toBe(422);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ code: 'idempotency-key-reused', status: 422, detail: expect.stringContaining('another request') });
    }
    expect((await verifyWithKey('cust-1', 'k1')).body).toEqual(first.body);
    expect((await exportSubject(h, 'cust-2')).body.verifications).toEqual([]);
  });

  it('keeps each API key\'s keys apart: the same key from another platform is its own request', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const other = createKey(h.store, null, { role: 'telephony' });
    const a = await verifyWithKey('cust-1', 'shared');
    const b = await verifyWithKey('cust-1', 'shared', voice, { authorization: `Bearer ${other.key}` });
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(b.body.verificationId).not.toBe(a.body.verificationId);
    expect(idempotentRows()).toBe(2);
  });

  it('frees the key of a request that failed, so the retry runs', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const failed = await verifyWithKey('cust-1', 'k1', voice, { contentType: 'text/plain' });
    expect(failed.status).toBe(415);
    expect(idempotentRows()).toBe(0);
    const retry = await verifyWithKey('cust-1', 'k1');
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
  });

  it('replays a locked answer with the wait that is left in Retry-After, the body as first answered', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    for (let i = 0; i < 5; i++) expect((await verifyWithKey('cust-1', `reject-${i}`, otherVoice)).body.decision).toBe('reject');
    const locked = await verifyWithKey('cust-1', 'locked-1');
    expect(locked.body).toMatchObject({ decision: 'locked', retryAfterSeconds: 30 });
    expect(locked.headers['retry-after']).toBe('30');

    h.clock.advance(12_500);
    const retry = await verifyWithKey('cust-1', 'locked-1');
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(locked.body);
    expect(retry.headers['retry-after']).toBe('18');

    h.clock.advance(60_000);
    expect((await verifyWithKey('cust-1', 'locked-1')).headers['retry-after']).toBe('0');
  });

  it('answers a caller without consent without reading the audio, and replays that answer whatever audio the retry carries', async () => {
    h = createHarness();
    const first = await verifyWithKey('stranger', 'k1');
    expect(first.body.decision).toBe('no-consent');
    const retry = await verifyWithKey('stranger', 'k1', otherVoice);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(h.embedder.calls).toBe(0);
  });

  it('keeps an answer a day: after that the key is free again', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const first = await verifyWithKey('cust-1', 'k1');
    h.clock.advance(23 * hour);
    expect((await verifyWithKey('cust-1', 'k1')).body).toEqual(first.body);
    h.clock.advance(1 * hour + 1000);
    const later = await verifyWithKey('cust-1', 'k1');
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.body.verificationId).not.toBe(first.body.verificationId);
    // The expired row was taken over by the new request.
    expect(idempotentRows()).toBe(1);
  });

  it('leaves the removal of answers past their day to the retention purge', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    await verifyWithKey('cust-1', 'k1');
    h.clock.advance(24 * hour);
    expect(runThrough(purgeAllExpired(h.store, h.ctx.retention, { now: h.clock() })).idempotentAnswers).toBe(0);
    expect(idempotentRows()).toBe(1);
    h.clock.advance(1000);
    expect(runThrough(purgeAllExpired(h.store, h.ctx.retention, { now: h.clock() })).idempotentAnswers).toBe(1);
    expect(idempotentRows()).toBe(0);
  });

  it('erases the kept answers with the subject, also those of a caller who never consented', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    await verifyWithKey('cust-1', 'k1');
    await verifyWithKey('stranger', 'k2');
    expect(idempotentRows()).toBe(2);
    expect((await request(h.app).delete('/v1/subjects/cust-1').set(h.auth('enrolment'))).status).toBe(200);
    expect(idempotentRows()).toBe(1);
    const stranger = await request(h.app).delete('/v1/subjects/stranger').set(h.auth('enrolment'));
    // The stranger's call itself is recorded under their pseudonym, and goes too.
    expect([stranger.status, stranger.body.receipt.subjectKnown, stranger.body.receipt.verificationsErased]).toEqual([200, true, 1]);
    expect(idempotentRows()).toBe(0);
  });

  it('refuses a malformed key with 400 and processes nothing', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    for (const bad of ['"unterminated', 'two words', '"x"; a=1', `"${'x'.repeat(256)}"`, '""']) {
      const r = await verifyWithKey('cust-1', bad);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'validation-failed', detail: expect.stringContaining('Idempotency-Key') });
    }
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
  });
});

describe('Idempotency-Key on an enrolment sample', () => {
  it('counts a retried sample once', async () => {
    h = createHarness();
    expect((await consent(h, 'cust-1', { noticeVersion: 'v2', channel: 'web', locale: 'en' })).status).toBe(200);
    const post = (key: string, sample = Buffer.from(toneWav({ freq: 200, seconds: 5 }))) =>
      request(h.app).post('/v1/subjects/cust-1/enrolments').set(h.auth('enrolment')).set('Content-Type', 'audio/wav').set('Idempotency-Key', key).send(sample);
    const first = await post('sample-1');
    expect(first.body.status).toBe('enrolling');
    const retry = await post('sample-1');
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect((await getSubject(h, 'cust-1')).body.enrolment.inProgress.samples).toBe(1);
    // The second recording, under its own key, completes the voiceprint.
    expect((await post('sample-2', Buffer.from(toneWav({ freq: 200, seconds: 5, amplitude: 0.29 })))).body.status).toBe('enrolled');
  });
});
