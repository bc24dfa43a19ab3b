/**
 * Who may call what: every API route, every role. No key / a wrong key / a revoked key → 401 with
 * WWW-Authenticate; a role outside the route's list → 403; the open routes need no key.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../src/http/api.js';
import { apiKeyRoles, type ApiKeyRole } from '../../src/store/index.js';
import { createHarness, type Harness } from './harness.js';

/** The roles table of README "API": the test fails if a route's roles change without it. */
const expectedRoles: Record<string, ApiKeyRole[]> = {
  'PUT /v1/subjects/:id/consent': ['telephony', 'enrolment'],
  'DELETE /v1/subjects/:id/consent': ['telephony', 'enrolment'],
  'PUT /v1/verifications/:verificationId/outcome': ['telephony', 'operator'],
  'GET /v1/consent-notices': ['telephony', 'enrolment', 'operator'],
  'GET /v1/consent-notices/:version': ['telephony', 'enrolment', 'operator'],
  'POST /v1/subjects/:id/enrolments': ['enrolment'],
  'POST /v1/subjects/:id/verifications': ['telephony'],
  'GET /v1/subjects/:id/verifications/stream': ['telephony'],
  'GET /v1/subjects/:id': ['enrolment'],
  'GET /v1/subjects/:id/export': ['enrolment'],
  'DELETE /v1/subjects/:id': ['enrolment'],
  'GET /v1/operator/policies': ['operator'],
  'PUT /v1/operator/policies': ['operator'],
  'GET /v1/operator/stats': ['operator'],
  'GET /v1/audit': ['operator'],
  'POST /v1/operator/subjects/:id/reset-lockout': ['operator'],
  'GET /metrics': ['operator'],
  'GET /v1/admin/keys': ['admin'],
  'POST /v1/admin/keys': ['admin'],
  'DELETE /v1/admin/keys/:keyId': ['admin'],
};

const concrete = (path: string) => path.replace(':id', 'cust-1').replace(':version', 'v1').replace(':keyId', 'key_0000000000000000');

function call(h: Harness, method: string, path: string) {
  const agent = request(h.app);
  return method === 'GET' ? agent.get(path) : method === 'PUT' ? agent.put(path) : method === 'POST' ? agent.post(path) : agent.delete(path);
}

let h: Harness;
beforeAll(() => {
  h = createHarness();
});
afterAll(() => h.close());

describe('roles', () => {
  it('the route table is exactly the documented roles table', () => {
    const actual = Object.fromEntries(apiRoutes({ passport: h.ctx, rateLimitPerMinute: 1, maxAudioSeconds: 1, metrics: h.metrics, streams: h.streams }).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r.roles]));
    expect(actual).toEqual(expectedRoles);
  });

  it.each(Object.entries(expectedRoles))('%s: 401 without a key, with a wrong key and with a revoked key', async (route) => {
    const [method, path] = route.split(' ') as [string, string];
    const none = await call(h, method, concrete(path));
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="voice-passport"');
    expect(none.body).toEqual({
      type: 'https://voice-passport.dev/problems/unauthorized',
      title: 'A valid API key is required',
      status: 401,
      code: 'unauthorized',
      detail: 'Send an API key as "Authorization: Bearer <key>".',
      instance: concrete(path),
      requestId: none.headers['x-request-id'],
    });
    for (const header of ['Bearer vp_admin_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'Basic dXNlcjpwYXNz', `Bearer ${h.keys.admin}x`, 'Bearer']) {
      const wrong = await call(h, method, concrete(path)).set('Authorization', header);
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toBe('Bearer realm="voice-passport", error="invalid_token"');
      expect(wrong.body.code).toBe('unauthorized');
      expect(wrong.body.detail).toBe('The API key is not valid.');
    }
  });

  it.each(Object.entries(expectedRoles))('%s: 403 for every role outside %j, and never unauthorized/forbidden for those inside', async (route, allowed) => {
    const [method, path] = route.split(' ') as [string, string];
    for (const role of apiKeyRoles) {
      const res = await call(h, method, concrete(path)).set(h.auth(role));
      if (allowed.includes(role)) {
        // (403 consent-required is a privacy rule, not a role refusal.)
        expect(['unauthorized', 'forbidden'], `${role} on ${route}`).not.toContain(res.body.code);
      } else {
        expect(res.status, `${role} on ${route}`).toBe(403);
        expect(res.body).toEqual({
          type: 'https://voice-passport.dev/problems/forbidden',
          title: 'This API key may not do that',
          status: 403,
          code: 'forbidden',
          detail: `A ${role} key may not call this endpoint; it needs a ${allowed.join(' or ')} key.`,
          requiredRoles: allowed,
          instance: concrete(path),
          requestId: res.headers['x-request-id'],
        });
      }
    }
    // Nothing biometric was computed for a refused call.
    expect(h.embedder.calls).toBe(0);
  });

  it('a revoked key is refused like an unknown one', async () => {
    const created = await request(h.app).post('/v1/admin/keys').set(h.auth('admin')).send({ role: 'operator', name: 'temp' });
    expect(created.status).toBe(201);
    expect((await request(h.app).get('/v1/operator/policies').set('Authorization', `Bearer ${created.body.key}`)).status).toBe(200);
    expect((await request(h.app).delete(`/v1/admin/keys/${created.body.id}`).set(h.auth('admin'))).status).toBe(200);
    const res = await request(h.app).get('/v1/operator/policies').set('Authorization', `Bearer ${created.body.key}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="voice-passport", error="invalid_token"');
  });

  it('the scheme is case-insensitive (RFC 9110 §11.1)', async () => {
    const res = await request(h.app).get('/v1/operator/policies').set('Authorization', `bearer ${h.keys.operator}`);
    expect(res.status).toBe(200);
  });

  it.each(['/healthz', '/readyz', '/openapi.json'])('%s is open', async (path) => {
    const res = await request(h.app).get(path);
    expect(res.status).toBe(200);
  });
});
