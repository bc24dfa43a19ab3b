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
        .map((role) => ({ id: h.keyIds[role], role, name: role, createdAt: T0, lastUsedAt: role === 'admin' ? T0 : null, revokedAt: null }))
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
      key: expect.stringMatching(/^vp_telephony_[A-Za-z0-9_-]{43}$/),
    });
    const verify = await request(h.app).post('/v1/subjects/x/verifications').set('Authorization', `Bearer ${res.body.key}`).set('Content-Type', 'audio/wav').send(Buffer.alloc(10));
    expect(verify.body.decision).toBe('no-consent');
    const listed = (await request(h.app).get('/v1/admin/keys').set(h.auth('admin'))).body.keys;
    expect(listed.find((k: { id: string }) => k.id === res.body.id)).toEqual({ id: res.body.id, role: 'telephony', name: 'IVR cluster B', createdAt: T0, lastUsedAt: T0, revokedAt: null });
    expect(filesContaining(h.dataDir, Buffer.from(res.body.key))).toEqual([]);
    expect((await auditEntries(h)).filter((e) => e.action === 'key.created').at(-1)).toMatchObject({ actorKeyId: h.keyIds.admin, details: { keyId: res.body.id, role: 'telephony', name: 'IVR cluster B' } });
  });

  it('POST refuses unknown roles and fields', async () => {
    const res = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'root' });
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual(['body.role']);
    const extra = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'admin', key: 'mine' });
    expect(extra.body.issues).toEqual([{ path: 'body', message: 'Unrecognized key: "key"' }]);
  });

  it('DELETE revokes (idempotent), 404 for an unknown id, never the last admin key', async () => {
    const res = await request(h.app).delete(`/v1/admin/keys/${h.keyIds.operator}`).set(h.auth('admin'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: h.keyIds.operator, role: 'operator', name: 'operator', createdAt: T0, lastUsedAt: null, revokedAt: T0 });
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
