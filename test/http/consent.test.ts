/** PUT/DELETE /v1/subjects/{id}/consent, GET /v1/consent-notices and GET /v1/consent-notices/{version}. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noticesInUseWarnings } from '../../src/passport/consent.js';
import { ConsentNotices, defaultConsentNoticesDir } from '../../src/passport/consent-notices.js';
import { toneWav } from '../passport/fakes.js';
import { auditEntries, consent, consentAndEnrol, createHarness, exportSubject, getSubject, verifyCall, type Harness } from './harness.js';

const T0 = '2026-03-01T09:00:00.000Z';
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
/** The SHA-256 of a shipped notice file, read here rather than from the service. */
const fileSha256 = (name: string) => sha256(fs.readFileSync(path.join(defaultConsentNoticesDir(), name), 'utf8'));

let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(() => h.close());

describe('PUT /v1/subjects/{id}/consent', () => {
  it('records explicit consent with notice version, channel, locale, time and actor', async () => {
    const res = await consent(h, 'cust-1', { noticeVersion: 'v2', channel: 'web', locale: 'nl-NL', evidence: 'form 2026-0042' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ consent: { active: true, givenAt: T0, noticeVersion: 'v2', channel: 'web', locale: 'nl-NL' } });

    const view = await getSubject(h, 'cust-1');
    expect(view.body.consent).toEqual({ active: true, givenAt: T0, noticeVersion: 'v2', channel: 'web', locale: 'nl-NL' });
    const exported = await exportSubject(h, 'cust-1');
    expect(exported.body.consentHistory).toEqual([
      {
        id: 1,
        kind: 'given',
        noticeVersion: 'v2',
        channel: 'web',
        locale: 'nl-NL',
        evidence: 'form 2026-0042',
        evidenceSha256: sha256('form 2026-0042'),
        // The Dutch text was shown (nl-NL): the record holds the hash of those very words.
        noticeSha256: fileSha256('v2.nl.md'),
        reason: null,
        actorKeyId: h.keyIds.enrolment,
        occurredAt: T0,
      },
    ]);
    const given = (await auditEntries(h)).filter((e) => e.action === 'consent.given');
    expect(given).toHaveLength(1);
    expect(given[0]).toMatchObject({
      actorKeyId: h.keyIds.enrolment,
      subjectPseudonym: exported.body.pseudonym,
      outcome: 'given',
      // The evidence text itself stays out of the audit log.
      details: { noticeVersion: 'v2', channel: 'web', locale: 'nl-NL', noticeSha256: fileSha256('v2.nl.md'), evidence: true },
    });
    // The audit log never holds the customer id.
    expect(JSON.stringify(await auditEntries(h))).not.toContain('cust-1');
  });

  it('a telephony key records consent captured in the IVR, and only there', async () => {
    const ivr = await consent(h, 'cust-2', { noticeVersion: 'v2', channel: 'ivr' }, 'telephony');
    expect(ivr.status).toBe(200);
    expect(ivr.body).toEqual({ consent: { active: true, givenAt: T0, noticeVersion: 'v2', channel: 'ivr', locale: null } });
    const web = await consent(h, 'cust-3', { noticeVersion: 'v2', channel: 'web' }, 'telephony');
    expect(web.status).toBe(403);
    expect(web.body).toMatchObject({ code: 'forbidden', detail: 'A telephony key records consent captured in the IVR only (channel "ivr").' });
    expect((await getSubject(h, 'cust-3')).status).toBe(404);
  });

  it('takes a locale by its primary language subtag: en-GB is English, nld is no text of the notice', async () => {
    expect((await consent(h, 'cust-1', { noticeVersion: 'v2', channel: 'web', locale: 'en-GB' })).status).toBe(200);
    const nld = await consent(h, 'cust-2', { noticeVersion: 'v2', channel: 'web', locale: 'nld' });
    expect([nld.status, nld.body.code, nld.body.availableLocales]).toEqual([400, 'validation-failed', ['en', 'nl']]);
    expect((await getSubject(h, 'cust-2')).status).toBe(404);
  });

  it('refuses unknown fields, bad values and unknown notice versions with 400 and the reasons', async () => {
    const extra = await consent(h, 'cust-1', { noticeVersion: 'v2', channel: 'web', marketing: true });
    expect(extra.status).toBe(400);
    expect(extra.body).toEqual({
      type: 'https://voice-passport.dev/problems/validation-failed',
      title: 'The request is not valid',
      status: 400,
      code: 'validation-failed',
      detail: 'The request body is not valid: body: Unrecognized key: "marketing".',
      issues: [{ path: 'body', message: 'Unrecognized key: "marketing"' }],
      instance: '/v1/subjects/cust-1/consent',
      requestId: extra.headers['x-request-id'],
    });

    const channel = await consent(h, 'cust-1', { noticeVersion: 'v2', channel: 'email' });
    expect(channel.status).toBe(400);
    expect(channel.body.issues).toEqual([{ path: 'body.channel', message: 'Invalid option: expected one of "ivr"|"web"|"app"|"agent"' }]);

    const version = await consent(h, 'cust-1', { noticeVersion: 'v9', channel: 'web' });
    expect(version.status).toBe(400);
    expect(version.body).toMatchObject({ code: 'validation-failed', detail: 'There is no consent notice "v9"; consent must name the notice shown.', availableVersions: ['v1', 'v2'] });

    const locale = await consent(h, 'cust-1', { noticeVersion: 'v2', channel: 'web', locale: 'de' });
    expect(locale.status).toBe(400);
    expect(locale.body).toMatchObject({ code: 'validation-failed', availableLocales: ['en', 'nl'] });

    const missing = await consent(h, 'cust-1', {});
    expect(missing.status).toBe(400);
    expect(missing.body.issues.map((i: { path: string }) => i.path)).toEqual(['body.noticeVersion', 'body.channel']);

    // Nothing was stored by any of these.
    expect((await getSubject(h, 'cust-1')).status).toBe(404);
  });

  it('409 notice-superseded for consent to a notice that is no longer current; consents given to it before stay valid', async () => {
    // Given while v1 was offered; then the bank publishes v2.
    const shipped = h.ctx.notices;
    const retention = new Map(shipped.versions().map((v) => [v, shipped.retention(v)!] as const));
    h.reopen({ notices: ConsentNotices.fromList(shipped.versions().flatMap((v) => shipped.get(v)!), { current: 'v1', retention }) });
    expect((await consent(h, 'cust-old', { noticeVersion: 'v1', channel: 'web', locale: 'en' })).status).toBe(200);
    h.reopen({ notices: shipped });

    const res = await consent(h, 'cust-1', { noticeVersion: 'v1', channel: 'ivr', locale: 'nl' });
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toEqual({
      type: 'https://voice-passport.dev/problems/notice-superseded',
      title: 'Consent must be given to the current consent notice',
      status: 409,
      code: 'notice-superseded',
      detail: 'Notice v1 has been superseded by v2: show the customer v2 (GET /v1/consent-notices/v2) and record consent to it.',
      currentVersion: 'v2',
      instance: '/v1/subjects/cust-1/consent',
      requestId: res.headers['x-request-id'],
    });
    // Nothing was recorded for the refused one, not even in the audit log.
    expect((await getSubject(h, 'cust-1')).status).toBe(404);
    expect((await auditEntries(h)).filter((e) => e.action === 'consent.given').map((e) => e.details)).toEqual([
      { noticeVersion: 'v1', channel: 'web', locale: 'en', noticeSha256: fileSha256('v1.en.md'), evidence: false },
    ]);
    // The consent given to v1 while it was current is still active, and may be renewed under v2.
    expect((await getSubject(h, 'cust-old')).body.consent).toEqual({ active: true, givenAt: T0, noticeVersion: 'v1', channel: 'web', locale: 'en' });
    expect((await consent(h, 'cust-old', { noticeVersion: 'v1', channel: 'web', locale: 'en' })).status).toBe(409);
    expect((await consent(h, 'cust-old', { noticeVersion: 'v2', channel: 'web', locale: 'en' })).body.consent).toEqual({ active: true, givenAt: T0, noticeVersion: 'v2', channel: 'web', locale: 'en' });
  });

  it('415 for a body that is not JSON, 400 for broken JSON and for a bad subject id', async () => {
    const text = await request(h.app).put('/v1/subjects/cust-1/consent').set(h.auth('enrolment')).set('Content-Type', 'text/plain').send('noticeVersion=v1');
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ code: 'unsupported-media-type', detail: 'Send the body as JSON with "Content-Type: application/json".' });
    const broken = await request(h.app).put('/v1/subjects/cust-1/consent').set(h.auth('enrolment')).set('Content-Type', 'application/json').send('{"noticeVersion":');
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: 'validation-failed', detail: 'The request body is not valid JSON.' });
    for (const id of ['bad%20id', 'a'.repeat(129), '%C3%A9t%C3%A9']) {
      const res = await consent(h, id);
      expect(res.status, id).toBe(400);
      expect(res.body.detail).toBe('A subject id is 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-".');
    }
  });
});

describe('DELETE /v1/subjects/{id}/consent', () => {
  it('withdraws consent and erases the voiceprint in the same transaction; proof of consent remains', async () => {
    await consentAndEnrol(h, 'cust-1');
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }))).body.decision).toBe('accept');

    h.clock.advance(60_000);
    const res = await request(h.app).delete('/v1/subjects/cust-1/consent').set(h.auth('telephony'));
    expect(res.status).toBe(200);
    const T1 = '2026-03-01T09:01:00.000Z';
    const audit = await auditEntries(h);
    const withdrawal = audit.find((e) => e.action === 'consent.withdrawn')!;
    expect(res.body).toEqual({
      consent: { active: false, withdrawnAt: T1 },
      erased: { voiceprint: true, dataKey: true, enrolmentSamples: 0, verifications: 1 },
      withdrawn: true,
      auditSeq: withdrawal.seq,
    });
    expect(withdrawal).toMatchObject({
      actorKeyId: h.keyIds.telephony,
      outcome: 'erased',
      details: { reason: 'consent-withdrawn', voiceprintErased: true, enrolmentSamplesErased: 0, verificationsErased: 1, consentWithdrawn: true },
    });

    const view = await getSubject(h, 'cust-1');
    expect(view.body.consent).toEqual({ active: false, withdrawnAt: T1 });
    expect(view.body.enrolment).toEqual({
      state: 'none',
      model: null,
      modelCurrent: null,
      enrolledAt: null,
      voiceprint: null,
      inProgress: { samples: 0, netSpeechSeconds: 0, requiredSeconds: 8, requiredSamples: 2 },
    });
    const exported = await exportSubject(h, 'cust-1');
    expect(exported.body.consentHistory.map((e: { kind: string; reason: string | null }) => [e.kind, e.reason])).toEqual([
      ['given', null],
      ['withdrawn', 'subject-request'],
    ]);
    expect(exported.body.voiceprint).toBeNull();
    expect(exported.body.verifications).toEqual([]);

    // Withdrawn: verification says so, and the audio is not even analysed.
    const calls = h.embedder.calls;
    const verify = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    expect(verify.body).toMatchObject({ decision: 'no-consent', reasons: ['consent-not-active'], score: null });
    expect(h.embedder.calls).toBe(calls);
  });

  it('is idempotent: withdrawing again (or for an unknown subject) withdraws nothing and stores nothing', async () => {
    await consent(h, 'cust-1');
    expect((await request(h.app).delete('/v1/subjects/cust-1/consent').set(h.auth('enrolment'))).body.withdrawn).toBe(true);
    const again = await request(h.app).delete('/v1/subjects/cust-1/consent').set(h.auth('enrolment'));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      consent: { active: false, withdrawnAt: T0 },
      erased: { voiceprint: false, dataKey: false, enrolmentSamples: 0, verifications: 0 },
      withdrawn: false,
      auditSeq: again.body.auditSeq,
    });
    // Audited as what it was: nothing removed.
    const entries = h.store.audit.list({ limit: 1000 }).filter((e) => e.action === 'consent.withdrawn');
    expect(entries.map((e) => e.outcome)).toEqual(['erased', 'nothing-held']);
    const unknown = await request(h.app).delete('/v1/subjects/stranger/consent').set(h.auth('enrolment'));
    expect(unknown.body).toMatchObject({ consent: { active: false, withdrawnAt: null }, withdrawn: false });
    expect((await getSubject(h, 'stranger')).status).toBe(404);
  });
});

describe('GET /v1/consent-notices', () => {
  it('lists every version, the current one, the periods each states and those kept to for its subjects', async () => {
    const res = await request(h.app).get('/v1/consent-notices').set(h.auth('telephony'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      current: 'v2',
      versions: [
        {
          version: 'v1',
          current: false,
          availableLocales: ['en', 'nl'],
          retention: { voiceprintUnusedDays: 1095, verificationHistoryDays: null, consentRecordDays: null },
          appliedRetention: { voiceprintUnusedDays: 1095, verificationHistoryDays: 400, consentRecordDays: 1826 },
        },
        {
          version: 'v2',
          current: true,
          availableLocales: ['en', 'nl'],
          retention: { voiceprintUnusedDays: 1095, verificationHistoryDays: 400, consentRecordDays: 1826 },
          appliedRetention: { voiceprintUnusedDays: 1095, verificationHistoryDays: 400, consentRecordDays: 1826 },
        },
      ],
      // The shipped current notice states the shipped default periods.
      warnings: [],
    });
    expect((await request(h.app).get('/v1/consent-notices?all=1').set(h.auth('enrolment'))).status).toBe(400);
    expect((await request(h.app).get('/v1/consent-notices')).status).toBe(401);
  });

  it('a configuration shorter than a notice applies to its subjects too: the shorter period always wins', async () => {
    await h.close();
    h = createHarness({ retention: { retentionDays: 365, historyRetentionDays: 500, consentRecordRetentionDays: 3650 } });
    const res = await request(h.app).get('/v1/consent-notices').set(h.auth('operator'));
    expect(res.body.versions.map((v: { version: string; appliedRetention: unknown }) => [v.version, v.appliedRetention])).toEqual([
      ['v1', { voiceprintUnusedDays: 365, verificationHistoryDays: 500, consentRecordDays: 3650 }],
      ['v2', { voiceprintUnusedDays: 365, verificationHistoryDays: 400, consentRecordDays: 1826 }],
    ]);
    // What the service logs at start, the operator sees here too.
    expect(res.body.warnings).toEqual([
      'The current consent notice v2 tells customers 1095 days for an unused voiceprint, but VP_RETENTION_DAYS is 365: it is erased sooner than they were told.',
      'The current consent notice v2 tells customers 400 days for the record of each verification, shorter than VP_HISTORY_RETENTION_DAYS (500): those who agree to it are kept 400 days, as told.',
      'The current consent notice v2 tells customers 1826 days for the record of a consent after it ended, shorter than VP_CONSENT_RECORD_RETENTION_DAYS (3650): those who agree to it are kept 1826 days, as told.',
    ]);
  });
});

describe('GET /v1/consent-notices/{version}', () => {
  const text = (version: string, locale: string) => fs.readFileSync(path.join(defaultConsentNoticesDir(), `${version}.${locale}.md`), 'utf8');
  const notice = (locale: string, version = 'v1') => ({ version, locale, text: text(version, locale), sha256: sha256(text(version, locale)) });
  const v1 = { version: 'v1', current: false, retention: { voiceprintUnusedDays: 1095, verificationHistoryDays: null, consentRecordDays: null }, availableLocales: ['en', 'nl'] };

  it('serves both languages without a preference', async () => {
    const res = await request(h.app).get('/v1/consent-notices/v1').set(h.auth('enrolment'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...v1, notices: [notice('en'), notice('nl')] });
    expect(res.headers['content-language']).toBeUndefined();
    const v2 = await request(h.app).get('/v1/consent-notices/v2').set(h.auth('enrolment'));
    expect(v2.body).toEqual({
      version: 'v2',
      current: true,
      retention: { voiceprintUnusedDays: 1095, verificationHistoryDays: 400, consentRecordDays: 1826 },
      availableLocales: ['en', 'nl'],
      notices: [notice('en', 'v2'), notice('nl', 'v2')],
    });
  });

  it('picks one by ?locale or Accept-Language', async () => {
    const nl = await request(h.app).get('/v1/consent-notices/v1?locale=nl-NL').set(h.auth('telephony'));
    expect(nl.body).toEqual({ ...v1, notices: [notice('nl')] });
    expect(nl.headers['content-language']).toBe('nl');
    const accept = await request(h.app).get('/v1/consent-notices/v1').set(h.auth('operator')).set('Accept-Language', 'de-DE, en;q=0.5, nl;q=0.8');
    expect(accept.body.notices).toEqual([notice('nl')]);
    expect(accept.headers.vary).toContain('Accept-Language');
    // Matched on the whole primary language subtag: "nld" and "english" are neither "nl" nor "en".
    expect((await request(h.app).get('/v1/consent-notices/v1?locale=nld').set(h.auth('telephony'))).status).toBe(404);
    expect((await request(h.app).get('/v1/consent-notices/v1').set(h.auth('operator')).set('Accept-Language', 'english, nld')).body.notices).toEqual([notice('en'), notice('nl')]);
    // No match in Accept-Language: every language, rather than nothing.
    const none = await request(h.app).get('/v1/consent-notices/v1').set(h.auth('enrolment')).set('Accept-Language', 'fr');
    expect(none.body.notices).toEqual([notice('en'), notice('nl')]);
  });

  it('404 for an unknown version or an explicit locale that does not exist', async () => {
    const v9 = await request(h.app).get('/v1/consent-notices/v9').set(h.auth('enrolment'));
    expect(v9.status).toBe(404);
    expect(v9.body).toMatchObject({ code: 'not-found', detail: 'There is no consent notice "v9".', availableVersions: ['v1', 'v2'] });
    const fr = await request(h.app).get('/v1/consent-notices/v1?locale=fr').set(h.auth('enrolment'));
    expect(fr.status).toBe(404);
    expect(fr.body).toMatchObject({ code: 'not-found', detail: 'Notice v1 has no text in fr.', availableLocales: ['en', 'nl'] });
  });
});

describe('noticesInUseWarnings', () => {
  it('names the notice versions consents were given under whose text is gone, and nothing while every one is there', async () => {
    expect((await consent(h, 'cust-1')).status).toBe(200);
    expect(noticesInUseWarnings(h.store, h.ctx.notices)).toEqual([]);
    // A consent recorded under a version whose file was since removed from the notices directory.
    h.store.consents.give(h.store.pseudonymise('cust-2'), { noticeVersion: 'v7', channel: 'web', actorKeyId: null });
    expect(noticesInUseWarnings(h.store, h.ctx.notices)).toEqual([
      'Consents were given under notice v7, whose text is not among the consent notices: put it back (a notice in use must stay servable), or those consents cannot be shown and are kept to the configured periods.',
    ]);
  });

  it('names a text that no longer has the bytes a consent was recorded against, or whose language was removed', async () => {
    const shipped = h.ctx.notices;
    const en = shipped.get('v2')!.find((n) => n.locale === 'en')!;
    const nl = shipped.get('v2')!.find((n) => n.locale === 'nl')!;
    expect((await consent(h, 'cust-en', { noticeVersion: 'v2', channel: 'web', locale: 'en-GB' })).status).toBe(200);
    expect((await consent(h, 'cust-nl', { noticeVersion: 'v2', channel: 'app', locale: 'nl' })).status).toBe(200);
    // No language named: no text to hold the consent to.
    expect((await consent(h, 'cust-none', { noticeVersion: 'v2', channel: 'app' })).status).toBe(200);
    expect(noticesInUseWarnings(h.store, shipped)).toEqual([]);

    // The English v2 edited in place, the Dutch one removed.
    const retention = new Map(shipped.versions().map((v) => [v, shipped.retention(v)!] as const));
    const edited = { ...en, text: `${en.text}\nOne more sentence.`, sha256: sha256(`${en.text}\nOne more sentence.`) };
    const republished = ConsentNotices.fromList([...shipped.get('v1')!, edited], { current: 'v2', retention });
    expect(noticesInUseWarnings(h.store, republished)).toEqual([
      `Consents were given to notice v2 (en) as the text with SHA-256 ${en.sha256}, which that notice no longer serves: put the agreed text back (a text in use never changes; a new wording is a new version).`,
      `Consents were given to notice v2 (nl) as the text with SHA-256 ${nl.sha256}, which that notice no longer serves: put the agreed text back (a text in use never changes; a new wording is a new version).`,
    ]);
  });
});
