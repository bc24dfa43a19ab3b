/**
 * The OpenAPI document is kept in sync with the code: every Express route is documented with the
 * roles it enforces, every error code is documented, every $ref resolves, and real responses of a
 * whole flow match the documented schemas.
 */
import request from 'supertest';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { errorCatalogue, errorCodes } from '../../src/errors.js';
import { apiRoutes } from '../../src/http/api.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { openApiPath } from '../../src/http/route-table.js';
import { toneWav } from '../passport/fakes.js';
import { consentAndEnrol, createHarness, verifyCall, type Harness } from './harness.js';
import { checkSchema } from './schema-check.js';

type Operation = { 'x-roles': string[]; security: unknown[]; responses: Record<string, { 'x-problem-codes'?: string[]; headers?: Record<string, unknown>; content?: Record<string, { schema: unknown }> }> };
const doc = JSON.parse(JSON.stringify(openApiDocument)) as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
  'x-general-problem-codes': { codes: string[] };
};

/** Every (METHOD, path) Express will answer, read from the router stack (nested routers included). */
function expressRoutes(stack: unknown[]): string[] {
  const out: string[] = [];
  for (const layer of stack as Array<{ route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown[] } }>) {
    if (layer.route) for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${openApiPath(layer.route.path)}`);
    else if (layer.handle?.stack) out.push(...expressRoutes(layer.handle.stack));
  }
  return out;
}

const documented = () => Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));

let h: Harness;
beforeAll(() => {
  h = createHarness();
});
afterAll(() => h.close());

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and is what GET /openapi.json serves', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const res = await request(h.app).get('/openapi.json');
    expect(res.body).toEqual(doc);
  });

  it('documents exactly the routes Express serves', () => {
    const routes = expressRoutes((h.app as unknown as { router: { stack: unknown[] } }).router.stack);
    expect(routes.length).toBe(26);
    expect([...routes].sort()).toEqual([...documented()].sort());
  });

  it('documents the roles each route enforces, and security only where a key is needed', () => {
    const specs = apiRoutes({ passport: h.ctx, rateLimitPerMinute: 1, maxAudioSeconds: 1, metrics: h.metrics, streams: h.streams });
    for (const spec of specs) {
      const op = doc.paths[openApiPath(spec.path)]![spec.method]!;
      expect(op['x-roles'], `${spec.method} ${spec.path}`).toEqual(spec.roles);
      expect(op.security).toEqual([{ apiKey: [] }]);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
    }
    for (const open of ['/healthz', '/readyz', '/openapi.json', '/console', '/console/console.js', '/console/console.css']) {
      expect(doc.paths[open]!.get!['x-roles']).toEqual([]);
      expect(doc.paths[open]!.get!.security).toEqual([]);
    }
  });

  it('documents every error code, each under its own status', () => {
    const schema = doc.components.schemas.ProblemCode as { enum: string[] };
    expect(schema.enum).toEqual(errorCodes);
    const seen = new Set<string>(doc['x-general-problem-codes'].codes);
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          for (const code of response['x-problem-codes'] ?? []) {
            expect(errorCatalogue[code as keyof typeof errorCatalogue]?.status, `${m} ${p} ${status} ${code}`).toBe(Number(status));
            seen.add(code);
          }
        }
      }
    }
    expect([...seen].sort()).toEqual([...errorCodes].sort());
  });

  it('every $ref resolves', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(30);
    for (const r of refs) {
      const name = r.slice(8, -1).replace('#/components/schemas/', '');
      expect(doc.components.schemas[name], r).toBeDefined();
    }
  });

  it('the schema checker itself catches undocumented, missing and mistyped fields', () => {
    const ref = { $ref: '#/components/schemas/ConsentResponse' };
    const good = { consent: { active: true, givenAt: '2026-03-01T09:00:00.000Z', noticeVersion: 'v2', channel: 'web', locale: null } };
    expect(checkSchema(doc, ref, good)).toEqual([]);
    expect(checkSchema(doc, ref, { ...good, extra: 1 })).toEqual(['$.extra: not documented']);
    expect(checkSchema(doc, { $ref: '#/components/schemas/Attempts' }, { consecutiveRejects: 1.5, locked: false, disabled: 'no' })).toEqual([
      '$.retryAfterSeconds: required but missing',
      '$.consecutiveRejects: expected integer, got 1.5',
      '$.disabled: expected boolean',
    ]);
  });

  it('real responses of a whole flow match the documented schemas', async () => {
    const check = async (method: string, path: string, res: request.Response) => {
      const op = doc.paths[path]![method]!;
      const response = op.responses[String(res.status)];
      expect(response, `${method} ${path} answered ${res.status}, which is not documented`).toBeDefined();
      const content = response!.content ?? {};
      const schema = (content['application/json'] ?? content['application/problem+json'])?.schema;
      if (schema) expect(checkSchema(doc, schema, res.body), `${method} ${path} ${res.status}`).toEqual([]);
      // A problem's code is one the operation lists under that status.
      if (res.status >= 400 && content['application/problem+json']) {
        expect(response!['x-problem-codes'], `${method} ${path} ${res.status} ${res.body.code}`).toContain(res.body.code);
      }
      // The headers the API documents are documented where they are sent.
      const headers = Object.keys(response!.headers ?? {}).map((name) => name.toLowerCase());
      for (const name of ['retry-after', 'etag', 'idempotent-replayed', 'www-authenticate', 'location', 'content-language', 'upgrade']) {
        if (res.headers[name] !== undefined) expect(headers, `${method} ${path} ${res.status} sends ${name}`).toContain(name);
      }
    };
    const e = h.auth('enrolment');
    await check('put', '/v1/subjects/{id}/consent', await request(h.app).put('/v1/subjects/s-1/consent').set(e).send({ noticeVersion: 'v2', channel: 'app', locale: 'nl', evidence: 'x' }));
    await check('put', '/v1/subjects/{id}/consent', await request(h.app).put('/v1/subjects/s-1/consent').set(e).send({ noticeVersion: 'v2', channel: 'app', extra: 1 }));
    await check('get', '/v1/consent-notices/{version}', await request(h.app).get('/v1/consent-notices/v1').set(e));
    await check('get', '/v1/consent-notices', await request(h.app).get('/v1/consent-notices').set(e));
    const post = (id: string, freq: number, seconds: number) => request(h.app).post(`/v1/subjects/${id}/enrolments`).set(e).set('Content-Type', 'audio/wav').send(Buffer.from(toneWav({ freq, seconds })));
    await check('post', '/v1/subjects/{id}/enrolments', await post('s-1', 200, 5));
    await check('post', '/v1/subjects/{id}/enrolments', await post('s-1', 200, 1));
    await check('post', '/v1/subjects/{id}/enrolments', await post('s-1', 200, 5));
    await check('post', '/v1/subjects/{id}/enrolments', await post('s-2', 200, 5));
    await consentAndEnrol(h, 's-3');
    for (const [freq, seconds] of [[200, 4], [400, 4], [200, 1]] as const) {
      await check('post', '/v1/subjects/{id}/verifications', await verifyCall(h, 's-3', toneWav({ freq, seconds })));
    }
    for (let i = 0; i < 5; i++) await verifyCall(h, 's-3', toneWav({ freq: 400, seconds: 4 }));
    await check('post', '/v1/subjects/{id}/verifications', await verifyCall(h, 's-3', toneWav({ freq: 400, seconds: 4 })));
    // A compressed audio body is refused before it is read (415 unsupported-media-type, not audio-unsupported).
    const gzipped = gzipSync(Buffer.from(toneWav({ freq: 200, seconds: 4 })));
    await consentAndEnrol(h, 's-4');
    await check('post', '/v1/subjects/{id}/verifications', await request(h.app).post('/v1/subjects/s-4/verifications').set(h.auth('telephony')).set('Content-Type', 'audio/wav').set('Content-Encoding', 'gzip').send(gzipped));
    await check('post', '/v1/subjects/{id}/enrolments', await request(h.app).post('/v1/subjects/s-1/enrolments').set(e).set('Content-Type', 'audio/wav').set('Content-Encoding', 'gzip').send(gzipped));
    // A retry while the first request with its Idempotency-Key still runs: 409 with Retry-After.
    const analyse = h.embedder.analyse.bind(h.embedder);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    h.embedder.analyse = async (input) => {
      await gate;
      return analyse(input);
    };
    const keyed = () => request(h.app).post('/v1/subjects/s-4/verifications').set(h.auth('telephony')).set('Idempotency-Key', '"k-1"').set('Content-Type', 'audio/wav').send(Buffer.from(toneWav({ freq: 200, seconds: 4 })));
    const running = keyed().then((r) => r);
    await vi.waitFor(() => expect(h.store.db.get<{ n: number }>('SELECT count(*) AS n FROM idempotent_requests')!.n).toBe(1));
    const inUse = await keyed();
    expect(inUse.status).toBe(409);
    await check('post', '/v1/subjects/{id}/verifications', inUse);
    release();
    h.embedder.analyse = analyse;
    await check('post', '/v1/subjects/{id}/verifications', await running);
    await check('post', '/v1/subjects/{id}/verifications', await keyed());
    await check('post', '/v1/subjects/{id}/verifications', await request(h.app).post('/v1/subjects/s-3/verifications').set('Content-Type', 'audio/wav').send(Buffer.from(toneWav({ freq: 200, seconds: 4 }))));
    // The stream's handshake without an upgrade: 426 naming the protocol.
    await check('get', '/v1/subjects/{id}/verifications/stream', await request(h.app).get('/v1/subjects/s-4/verifications/stream').set(h.auth('telephony')));
    const unscored = await verifyCall(h, 's-9', toneWav({ freq: 400, seconds: 4 }));
    await check('post', '/v1/subjects/{id}/verifications', unscored);
    const o = h.auth('operator');
    const first = (await request(h.app).get('/v1/subjects/s-3/export').set(e)).body.verifications[0].id as string;
    const outcome = (id: string) => request(h.app).put(`/v1/verifications/${id}/outcome`).set(o).send({ truth: 'impostor', source: 'fraud-case' });
    await check('put', '/v1/verifications/{verificationId}/outcome', await outcome(first));
    await check('put', '/v1/verifications/{verificationId}/outcome', await outcome(unscored.body.verificationId));
    await check('get', '/v1/subjects/{id}', await request(h.app).get('/v1/subjects/s-3').set(e));
    await check('get', '/v1/subjects/{id}', await request(h.app).get('/v1/subjects/s-404').set(e));
    await check('get', '/v1/subjects/{id}/export', await request(h.app).get('/v1/subjects/s-3/export').set(e));
    await check('get', '/v1/operator/policies', await request(h.app).get('/v1/operator/policies').set(o));
    await check('put', '/v1/operator/policies', await request(h.app).put('/v1/operator/policies').set(o).send({ policies: [{ name: 'standard', threshold: 0.5, minNetSpeechSeconds: 3 }] }));
    await check('get', '/v1/operator/stats', await request(h.app).get('/v1/operator/stats').set(o));
    await check('get', '/v1/audit', await request(h.app).get('/v1/audit?limit=5').set(o));
    await check('post', '/v1/operator/subjects/{id}/reset-lockout', await request(h.app).post('/v1/operator/subjects/s-3/reset-lockout').set(o));
    await check('delete', '/v1/subjects/{id}/consent', await request(h.app).delete('/v1/subjects/s-1/consent').set(e));
    await check('delete', '/v1/subjects/{id}', await request(h.app).delete('/v1/subjects/s-3').set(e));
    const a = h.auth('admin');
    await check('get', '/v1/admin/keys', await request(h.app).get('/v1/admin/keys').set(a));
    const created = await request(h.app).post('/v1/admin/keys').set(a).send({ role: 'operator' });
    await check('post', '/v1/admin/keys', created);
    await check('delete', '/v1/admin/keys/{keyId}', await request(h.app).delete(`/v1/admin/keys/${created.body.id}`).set(a));
    await check('get', '/healthz', await request(h.app).get('/healthz'));
    await check('get', '/readyz', await request(h.app).get('/readyz'));
    await check('get', '/console', await request(h.app).get('/console'));
  });
});
