/** The operator console's files over HTTP: what is served, with which headers, and nothing else. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { defaultConsoleDir } from '../../src/http/console.js';
import { createLogger } from '../../src/observability/logger.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(() => {
  h = createHarness();
});
afterAll(() => h.close());

const dir = defaultConsoleDir();

describe('operator console files', () => {
  it('redirects /console to /console/, where the page\'s relative links resolve', async () => {
    for (const url of ['/console', '/console?from=bookmark']) {
      const res = await request(h.app).get(url);
      expect([url, res.status, res.headers.location]).toEqual([url, 301, '/console/']);
    }
    // A trailing slash after a file is the file, as everywhere in the API (not a 405).
    const js = await request(h.app).get('/console/console.js/');
    expect([js.status, js.headers['content-type']]).toEqual([200, expect.stringMatching(/javascript/)]);
  });

  it.each([
    ['/console/', 'index.html', /^text\/html; charset=utf-8$/i],
    ['/console/console.js', 'console.js', /^(text|application)\/javascript; charset=utf-8$/i],
    ['/console/console.css', 'console.css', /^text\/css; charset=utf-8$/i],
  ])('serves %s (%s) without a key, uncached, under a CSP without inline script', async (url, file, type) => {
    const res = await request(h.app).get(url).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(type);
    expect((res.body as Buffer).equals(fs.readFileSync(path.join(dir, file)))).toBe(true);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    // Its own policy: nothing inline, no forms, no framing, and no upgrade-insecure-requests, which
    // broke the page on plain-HTTP addresses other than localhost (its script went to https://).
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('has no inline script or handler in the page (the CSP would block it)', () => {
    const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => [m[0].includes('src="console.js"'), m[1]])).toEqual([[true, '']]);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    // The key field has no name, so even a form submitted without the script never carries it.
    expect(html).toMatch(/<input id="key" type="password"[^>]*>/);
    expect(html).not.toMatch(/<input[^>]*\bname=/);
  });

  it('has a script that parses as a module (checked here too, where no browser runs it)', () => {
    const check = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: fs.readFileSync(path.join(dir, 'console.js')) });
    expect([check.status, check.stderr.toString()]).toEqual([0, '']);
  });

  it('answers anything else under /console/ with a 404 problem, and other methods with 405', async () => {
    for (const url of ['/console/other.js', '/console/index.html', '/console/%2e%2e/package.json', '/console/..%2fpackage.json', '/console//', '/console/%', '/console/./console.js']) {
      const res = await request(h.app).get(url);
      expect([url, res.status, res.headers['content-type'], res.body.code]).toEqual([url, 404, expect.stringMatching(/^application\/problem\+json/), 'not-found']);
    }
    const post = await request(h.app).post('/console/').send('x');
    expect([post.status, post.headers.allow, post.body.code]).toEqual([405, 'GET, HEAD', 'method-not-allowed']);
  });

  it('is not served by an app built without the console folder (VP_CONSOLE=false)', async () => {
    const app = buildApp({ logger: createLogger('silent'), readiness: [] });
    for (const url of ['/console', '/console/', '/console/console.js']) expect((await request(app).get(url)).status).toBe(404);
  });
});
