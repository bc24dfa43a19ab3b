import { Writable } from 'node:stream';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createLogger } from '../src/observability/logger.js';

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}

describe('buildApp', () => {
  it('GET /healthz answers 200 without touching dependencies', async () => {
    const app = buildApp({ logger: capturingLogger().logger, readiness: [{ name: 'model', ready: () => false }] });
    const res = await request(app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GET /readyz is 503 until every check passes, and names the failing one', async () => {
    let modelReady = false;
    const app = buildApp({
      logger: capturingLogger().logger,
      readiness: [
        { name: 'model', ready: () => modelReady },
        { name: 'database', ready: () => true },
      ],
    });
    const before = await request(app).get('/readyz');
    expect(before.status).toBe(503);
    expect(before.body).toEqual({ status: 'not-ready', checks: { model: false, database: true } });
    modelReady = true;
    const after = await request(app).get('/readyz');
    expect(after.status).toBe(200);
    expect(after.body).toEqual({ status: 'ready', checks: { model: true, database: true } });
  });

  it('a check that throws counts as not ready instead of failing the probe', async () => {
    const app = buildApp({
      logger: capturingLogger().logger,
      readiness: [{ name: 'database', ready: () => { throw new Error('closed'); } }],
    });
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.checks).toEqual({ database: false });
  });

  it('unknown routes get an RFC 9457 problem with a stable code and the request id', async () => {
    const app = buildApp({ logger: capturingLogger().logger, readiness: [] });
    const res = await request(app).get('/nope?x=1').set('X-Request-Id', 'req-12345678');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('req-12345678');
    expect(res.body).toEqual({
      type: 'https://voice-passport.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      code: 'not-found',
      detail: 'No route for GET /nope.',
      instance: '/nope',
      requestId: 'req-12345678',
    });
  });

  it('ignores a request id that could inject into logs', async () => {
    const app = buildApp({ logger: capturingLogger().logger, readiness: [] });
    const res = await request(app).get('/healthz').set('X-Request-Id', 'bad id "quoted" {json}');
    // Replaced by a fresh UUID. (Asserting only "does not contain 'bad'" failed about one run in 160:
    // 'bad' is also three hex digits, and a UUID has some 26 places for them, 1/4096 each.)
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('logs carry the request id, and of a path no route matches only the segments that are some route\'s literals', async () => {
    const { logger, lines } = capturingLogger();
    // Without API routes, nothing under /v1 is a route: its segments are all hidden.
    const app = buildApp({ logger, readiness: [] });
    await request(app).get('/v1/subjects/customer-4711/anything?token=secret').set('X-Request-Id', 'req-abcdefgh');
    await request(app).post('/v1/operator/subjects/customer-4711/reset-lockout');
    await request(app).get('/healthz/customer-4711');
    const logged = lines.map((l) => JSON.parse(l)).map((l) => ({ id: l.req.id, path: l.req.path }));
    expect(logged).toEqual([
      { id: 'req-abcdefgh', path: '/:…/:…/:…/:…' },
      { id: expect.any(String), path: '/:…/:…/:…/:…/:…' },
      { id: expect.any(String), path: '/healthz/:…' },
    ]);
    expect(lines.join('')).not.toContain('customer-4711');
    expect(lines.join('')).not.toContain('secret');
  });

  it('GET /openapi.json is served without a key', async () => {
    const app = buildApp({ logger: capturingLogger().logger, readiness: [] });
    const res = await request(app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('a known path with another method is 405 with Allow', async () => {
    const app = buildApp({ logger: capturingLogger().logger, readiness: [] });
    const res = await request(app).post('/healthz');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body).toMatchObject({ code: 'method-not-allowed', detail: 'POST is not allowed here; use GET, HEAD.', allowed: ['GET', 'HEAD'] });
  });

});
