/**
 * The downloader against a real local HTTP server (node:http on 127.0.0.1:0): bytes and sha256,
 * redirects, and every refusal as a typed error with nothing left on disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import { checkDownloadUrl, downloadToFile, type DownloadOptions } from '../../src/model/download.js';
import { caught } from './assertions.js';

const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 251));
const bodySha = createHash('sha256').update(body).digest('hex');
/** Incompressible: gzipped it is longer than itself. */
const noise = randomBytes(20_000);
const noiseSha = createHash('sha256').update(noise).digest('hex');
const acceptEncodings: (string | undefined)[] = [];

let server: Server;
let base: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/file') {
      res.writeHead(200, { 'content-length': String(body.length) });
      // Two writes, so the client sees more than one chunk.
      res.write(body.subarray(0, 30_000));
      res.end(body.subarray(30_000));
    } else if (url === '/chunked') {
      res.writeHead(200); // no content-length: the cap is enforced while streaming
      res.write(body.subarray(0, 40_000));
      res.end(body.subarray(40_000));
    } else if (url.startsWith('/redirect/')) {
      const n = Number(url.slice('/redirect/'.length));
      res.writeHead(302, { location: n <= 1 ? '/file' : `/redirect/${n - 1}` }).end();
    } else if (url === '/to-remote-http') {
      res.writeHead(301, { location: 'http://example.com/model.onnx' }).end();
    } else if (url === '/stall') {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 1000)); // then nothing
    } else if (url === '/short') {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 1000), () => res.socket?.destroy()); // claims more than it sends, then hangs up
    } else if (url === '/gzip-if-asked') {
      // Like a CDN: compresses when the client accepts it; Content-Length is then the compressed size.
      acceptEncodings.push(req.headers['accept-encoding']);
      const gzip = /gzip/.test(req.headers['accept-encoding'] ?? '');
      const sent = gzip ? gzipSync(body) : body;
      res.writeHead(200, { 'content-length': String(sent.length), ...(gzip ? { 'content-encoding': 'gzip' } : {}) }).end(sent);
    } else if (url === '/gzip-always') {
      const sent = gzipSync(noise);
      res.writeHead(200, { 'content-length': String(sent.length), 'content-encoding': 'gzip' }).end(sent);
    } else if (url === '/boom') {
      res.writeHead(500).end('internal');
    } else {
      res.writeHead(404).end('no');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(path.join(os.tmpdir(), 'vp-download-'));
});

const opts: DownloadOptions = { maxBytes: 1_000_000, timeoutMs: 5_000, idleTimeoutMs: 2_000, maxRedirects: 3 };

async function expectNothingLeft(): Promise<void> {
  expect(await readdir(dir)).toEqual([]);
}

describe('downloadToFile', () => {
  it('writes the exact bytes and returns their size and sha256', async () => {
    const target = path.join(dir, 'x.part');
    const progress: number[] = [];
    const r = await downloadToFile(`${base}/file`, target, { ...opts, onProgress: (n) => progress.push(n) });
    expect(r).toEqual({ finalUrl: `${base}/file`, bytes: body.length, sha256: bodySha });
    expect(Buffer.compare(await readFile(target), body)).toBe(0);
    expect(progress.at(-1)).toBe(body.length);
  });

  it('asks for the bytes as they are (accept-encoding: identity), so Content-Length counts what arrives', async () => {
    acceptEncodings.length = 0;
    const r = await downloadToFile(`${base}/gzip-if-asked`, path.join(dir, 'x.part'), opts);
    expect([r, acceptEncodings]).toEqual([{ finalUrl: `${base}/gzip-if-asked`, bytes: body.length, sha256: bodySha }, ['identity']]);
  });

  it('takes a body the server encodes anyway, decoded, without comparing it to the encoded Content-Length', async () => {
    // The cap is the decoded size exactly (as a catalogue's published size would be); gzipped noise is longer.
    expect(gzipSync(noise).length).toBeGreaterThan(noise.length);
    const progress: (number | null)[] = [];
    const target = path.join(dir, 'x.part');
    const r = await downloadToFile(`${base}/gzip-always`, target, { ...opts, maxBytes: noise.length, onProgress: (_, total) => progress.push(total) });
    expect(r).toEqual({ finalUrl: `${base}/gzip-always`, bytes: noise.length, sha256: noiseSha });
    expect(Buffer.compare(await readFile(target), noise)).toBe(0);
    expect(new Set(progress)).toEqual(new Set([null]));
  });

  it('follows up to maxRedirects redirects and reports the final address', async () => {
    const r = await downloadToFile(`${base}/redirect/3`, path.join(dir, 'x.part'), opts);
    expect([r.finalUrl, r.sha256]).toEqual([`${base}/file`, bodySha]);
  });

  it('refuses a redirect chain longer than maxRedirects', async () => {
    const e = await caught(downloadToFile(`${base}/redirect/4`, path.join(dir, 'x.part'), opts));
    expect([e.code, e.details?.reason]).toEqual(['model-invalid', 'redirects']);
    expect(e.message).toContain('more than 3 redirects');
    await expectNothingLeft();
  });

  it('refuses a redirect to a plain-http remote host as the server\'s fault (model-invalid), not the URL given', async () => {
    const e = await caught(downloadToFile(`${base}/to-remote-http`, path.join(dir, 'x.part'), opts));
    expect([e.code, e.details]).toEqual(['model-invalid', { reason: 'insecure-redirect', url: 'http://example.com/model.onnx', from: `${base}/to-remote-http` }]);
    expect(e.message).toBe(
      `${base}/to-remote-http redirected to http://example.com/model.onnx: only https:// URLs are allowed (plain http only to localhost), because a model file fetched over an unauthenticated channel could be swapped on the way`,
    );
    await expectNothingLeft();
  });

  it.each([
    ['/missing', 404],
    ['/boom', 500],
  ])('turns HTTP %s into an http-status error with the status', async (p, status) => {
    const e = await caught(downloadToFile(`${base}${p}`, path.join(dir, 'x.part'), opts));
    expect([e.code, e.details?.reason, e.details?.status]).toEqual(['model-invalid', 'http-status', status]);
    expect(e.message).toContain(`answered HTTP ${status}`);
    await expectNothingLeft();
  });

  it('refuses an oversize body from its Content-Length, before reading it', async () => {
    const e = await caught(downloadToFile(`${base}/file`, path.join(dir, 'x.part'), { ...opts, maxBytes: body.length - 1 }));
    expect([e.details?.reason, e.details?.bytes, e.details?.maxBytes]).toEqual(['too-large', body.length, body.length - 1]);
    await expectNothingLeft();
  });

  it('refuses an oversize body without Content-Length while streaming', async () => {
    const e = await caught(downloadToFile(`${base}/chunked`, path.join(dir, 'x.part'), { ...opts, maxBytes: 50_000 }));
    expect([e.details?.reason, e.details?.maxBytes]).toEqual(['too-large', 50_000]);
    await expectNothingLeft();
  });

  it('gives up on a stalled transfer after the idle timeout', async () => {
    const started = Date.now();
    const e = await caught(downloadToFile(`${base}/stall`, path.join(dir, 'x.part'), { ...opts, idleTimeoutMs: 300 }));
    expect([e.code, e.details?.reason, e.details?.timeoutMs]).toEqual(['model-invalid', 'timeout', 300]);
    expect(e.message).toContain('no data for 0.3 s');
    expect(Date.now() - started).toBeLessThan(3_000);
    await expectNothingLeft();
  });

  it('gives up when the whole transfer exceeds the overall deadline', async () => {
    const e = await caught(downloadToFile(`${base}/stall`, path.join(dir, 'x.part'), { ...opts, timeoutMs: 300, idleTimeoutMs: 5_000 }));
    expect([e.details?.reason, e.details?.timeoutMs]).toEqual(['timeout', 300]);
    await expectNothingLeft();
  });

  it('stops when the caller aborts (Ctrl-C in the CLI), with nothing left', async () => {
    const interruption = new AbortController();
    const target = path.join(dir, 'x.part');
    const progress: number[] = [];
    const download = downloadToFile(`${base}/stall`, target, {
      ...opts,
      signal: interruption.signal,
      onProgress: (n) => {
        progress.push(n);
        interruption.abort(); // mid-transfer: the first chunk is written, the rest never comes
      },
    });
    const e = await caught(download);
    expect([e.code, e.details, e.message, progress]).toEqual([
      'model-invalid',
      { reason: 'interrupted', url: `${base}/stall`, received: 1000 },
      `download from ${base}/stall was interrupted after 1000 bytes; the partial file was removed`,
      [1000],
    ]);
    await expectNothingLeft();
  });

  it('does not start when the caller has already aborted', async () => {
    const e = await caught(downloadToFile(`${base}/file`, path.join(dir, 'x.part'), { ...opts, signal: AbortSignal.abort() }));
    expect([e.code, e.details]).toEqual(['model-invalid', { reason: 'interrupted', url: `${base}/file`, received: 0 }]);
    await expectNothingLeft();
  });

  it('refuses a body shorter than its Content-Length', async () => {
    const e = await caught(downloadToFile(`${base}/short`, path.join(dir, 'x.part'), opts));
    expect(e.details?.reason).toBe('network');
    await expectNothingLeft();
  });

  it('reports an unreachable server as a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const e = await caught(downloadToFile(`http://127.0.0.1:${port}/file`, path.join(dir, 'x.part'), opts));
    expect([e.details?.reason, e.message]).toEqual(['network', expect.stringContaining('ECONNREFUSED')]);
    await expectNothingLeft();
  });

  it('never overwrites an existing file at the temporary path', async () => {
    const target = path.join(dir, 'x.part');
    await downloadToFile(`${base}/file`, target, opts);
    await expect(downloadToFile(`${base}/file`, target, opts)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(existsSync(target)).toBe(true);
  });
});

describe('checkDownloadUrl', () => {
  it('accepts https anywhere and http only on loopback', () => {
    expect(checkDownloadUrl('https://huggingface.co/x.onnx').href).toBe('https://huggingface.co/x.onnx');
    for (const ok of ['http://127.0.0.1:8/x', 'http://localhost/x', 'http://[::1]:9/x']) expect(checkDownloadUrl(ok).protocol).toBe('http:');
  });

  it.each(['http://example.com/model.onnx', 'http://10.0.0.1/x.onnx', 'ftp://example.com/x', 'file:///etc/passwd', 'not a url', 'https://user:secret@example.com/x'])(
    'refuses %s as insecure-url',
    (raw) => {
      try {
        checkDownloadUrl(raw);
        expect.unreachable();
      } catch (e) {
        expect([(e as VoicePassportError).code, (e as VoicePassportError).details?.reason]).toEqual(['validation-failed', 'insecure-url']);
        expect((e as Error).message).not.toContain('secret');
      }
    },
  );

  it('never accepts a plain-http URL whose host is not loopback (property)', () => {
    fc.assert(
      fc.property(fc.webUrl({ validSchemes: ['http'] }), (raw) => {
        const host = new URL(raw).hostname;
        fc.pre(!['localhost', '127.0.0.1', '[::1]'].includes(host));
        expect(() => checkDownloadUrl(raw)).toThrow(VoicePassportError);
      }),
      { numRuns: 200 },
    );
  });
});
