/** Admin key endpoints: the secret is shown once; only hashes are stored; every change is audited. */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filesContaining } from '../store/helpers.js';
import { auditEntries, createHarness, type Harness } from './harness.js';

const T0 = '2026-03-01T09:00:00.000Z';
let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(() => h.close());

describe('API keys', () => {
  it('GET lists keys without secrets', async () => {
    const res = await request(h.app).get('/v1/admin/keys').set(h.auth('admin'));
    expect(res.status).toBe(200);
    // Every key was used at most once by now; last_used_at is refreshed on authentication.
    expect(res.body).toEqual({
      keys: (['telephony', 'enrolment', 'operator', 'admin'] as const)
        .map((role) => ({ id: h.keyIds[role], role, name: role, createdAt: T0, lastUsedAt: role === 'admin' ? T0 : null, revokedAt: null, expiresAt: null }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    });
    expect(JSON.stringify(res.body)).not.toContain('vp_');
  });

  it('POST creates a key shown once (201); it works for its role; only its hash is stored', async () => {
    const res = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'telephony', name: 'IVR cluster B' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^key_[0-9a-f]{16}$/),
      role: 'telephony',
      name: 'IVR cluster B',
      createdAt: T0,
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: null,
      key: expect.stringMatching(/^vp_telephony_[A-Za-z0-9_-]{43}$/),
    });
    const verify = await request(h.app).post('/v1/subjects/x/verifications').set('Authorization', `Bearer ${res.body.key}`).set('Content-Type', 'audio/wav').send(Buffer.alloc(10));
    expect(verify.body.decision).toBe('no-consent');
    const listed = (await request(h.app).get('/v1/admin/keys').set(h.auth('admin'))).body.keys;
    expect(listed.find((k: { id: string }) => k.id === res.body.id)).toEqual({ id: res.body.id, role: 'telephony', name: 'IVR cluster B', createdAt: T0, lastUsedAt: T0, revokedAt: null, expiresAt: null });
    expect(filesContaining(h.dataDir, Buffer.from(res.body.key))).toEqual([]);
    expect((await auditEntries(h)).filter((e) => e.action === 'key.created').at(-1)).toMatchObject({ actorKeyId: h.keyIds.admin, details: { keyId: res.body.id, role: 'telephony', name: 'IVR cluster B' } });
  });

  it('POST with expiresAt makes a key that works until then and answers 401 from then on; the expiry is audited', async () => {
    const res = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'operator', name: 'contractor', expiresAt: '2026-03-31T00:00:00Z' });
    expect([res.status, res.body.expiresAt]).toEqual([201, '2026-03-31T00:00:00.000Z']);
    const withKey = () => request(h.app).get('/v1/operator/policies').set('Authorization', `Bearer ${res.body.key}`);
    const expiryMetric = async () => (await request(h.app).get('/metrics').set(h.auth('operator'))).text.split('\n').filter((l) => l.startsWith('voice_passport_api_key_expiry'));
    // The metric an alert watches: each key in force that has a lifetime (the harness's keys have none).
    expect(await expiryMetric()).toEqual([`voice_passport_api_key_expiry_timestamp_seconds{key_id="${res.body.id}",role="operator"} ${Date.parse('2026-03-31T00:00:00Z') / 1000}`]);
    h.clock.set('2026-03-30T23:59:59.000Z');
    expect((await withKey()).status).toBe(200);
    h.clock.set('2026-03-31T00:00:00.000Z');
    expect(await expiryMetric()).toEqual([]);
    const expired = await withKey();
    expect([expired.status, expired.body.code, expired.headers['www-authenticate']]).toEqual([401, 'unauthorized', expect.stringMatching(/^Bearer/)]);
    expect(h.store.audit.list({ action: 'key.created' }).at(-1)?.details).toEqual({ keyId: res.body.id, role: 'operator', name: 'contractor', expiresAt: '2026-03-31T00:00:00.000Z' });

    for (const expiresAt of ['2026-03-01T08:00:00Z', 'soon', '2026-03-31']) {
      const bad = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'operator', expiresAt });
      expect([expiresAt, bad.status, bad.body.code]).toEqual([expiresAt, 400, 'validation-failed']);
    }
  });

  it('POST refuses unknown roles and fields', async () => {
    const res = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'root' });
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual(['body.role']);
    const extra = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'admin', key: 'mine' });
    expect(extra.body.issues).toEqual([{ path: 'body', message: 'Unrecognized key: "key"' }]);
    // A name that would rewrite a terminal (an escape sequence) or read backwards (a bidi override).
    for (const name of ['ops\u001b[2J', 'admin\u202eyek', 'a\u2066b']) {
      const bad = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'operator', name });
      expect([bad.status, bad.body.issues]).toEqual([400, [{ path: 'body.name', message: 'a key name may not hold control characters or bidirectional overrides' }]]);
    }
    expect((await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'operator', name: 'Équipe fraude — Zürich' })).status).toBe(201);
  });

  it('DELETE revokes (idempotent), 404 for an unknown id, never the last admin key', async () => {
    const res = await request(h.app).delete(`/v1/admin/keys/${h.keyIds.operator}`).set(h.auth('admin'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: h.keyIds.operator, role: 'operator', name: 'operator', createdAt: T0, lastUsedAt: null, revokedAt: T0, expiresAt: null });
    expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).status).toBe(401);
    expect((await request(h.app).delete(`/v1/admin/keys/${h.keyIds.operator}`).set(h.auth('admin'))).body).toEqual(res.body);
    // (The operator key is revoked now: read the audit log from the store.)
    expect(h.store.audit.list({ action: 'key.revoked' }).map((e) => [e.actorKeyId, e.details])).toEqual([[h.keyIds.admin, { keyId: h.keyIds.operator, role: 'operator' }]]);

    const unknown = await request(h.app).delete('/v1/admin/keys/key_0123456789abcdef').set(h.auth('admin'));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'not-found', detail: 'There is no API key "key_0123456789abcdef".' });

    const last = await request(h.app).delete(`/v1/admin/keys/${h.keyIds.admin}`).set(h.auth('admin'));
    expect(last.status).toBe(400);
    expect(last.body.detail).toBe('This is the last active admin key; create another admin key before revoking it (or use `voice-passport keys revoke`).');
    expect((await request(h.app).get('/v1/admin/keys').set(h.auth('admin'))).status).toBe(200);
  });
});
