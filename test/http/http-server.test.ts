/** The HTTP server around the app (src/http/http-server.ts): requests Node's parser refuses are answered in problem+json too. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clientErrorProblem, drainServer, serveApp } from '../../src/http/http-server.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
afterEach(() => h?.close());

/** Writes `text` as is; answers the status line, headers (lower-case) and the parsed body once the server closes. */
async function exchange(address: string, text: string): Promise<{ status: string; head: string; body: any }> {
  const [host, port] = address.split(':') as [string, string];
  const got = await new Promise<string>((resolve) => {
    const socket = net.connect(Number(port), host, () => socket.write(text));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
  });
  const [head, body] = got.split('\r\n\r\n') as [string, string | undefined];
  return { status: head.split('\r\n')[0]!, head: head.toLowerCase(), body: body ? JSON.parse(body) : null };
}

describe('requests the HTTP parser refuses', () => {
  it('headers over 16 KiB: 431 in problem+json', async () => {
    h = createHarness();
    const r = await exchange(await h.listen(), `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(r.status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(r.head).toContain('content-type: application/problem+json');
    const requestId = /x-request-id: ([0-9a-f-]{36})/.exec(r.head)?.[1];
    expect(r.body).toEqual({
      type: 'https://voice-passport.dev/problems/request-headers-too-large',
      title: 'The request headers are too large',
      status: 431,
      code: 'request-headers-too-large',
      detail: 'The request headers are larger than the 16 KiB this service reads; send fewer or shorter headers.',
      requestId,
    });
    // The headers every answer of the service carries, although no request reached the app.
    for (const header of ['cache-control: no-store', 'x-content-type-options: nosniff', "content-security-policy: default-src 'none'; frame-ancestors 'none'"]) expect(r.head).toContain(header);
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('bytes that are not HTTP/1.1: 400 in problem+json', async () => {
    h = createHarness();
    const r = await exchange(await h.listen(), 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n');
    expect(r.status).toBe('HTTP/1.1 400 Bad Request');
    expect(r.body).toMatchObject({ code: 'validation-failed', status: 400, detail: 'The request is not valid HTTP/1.1 and could not be read.' });
  });

  it('maps each parser error to its problem, and a client that went away to none', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(clientErrorProblem(err('ERR_HTTP_REQUEST_TIMEOUT'))).toMatchObject({ code: 'request-timeout', status: 408 });
    expect(clientErrorProblem(err('HPE_HEADER_OVERFLOW'))).toMatchObject({ code: 'request-headers-too-large', status: 431 });
    expect(clientErrorProblem(err('HPE_INVALID_METHOD'))).toMatchObject({ code: 'validation-failed', status: 400 });
    expect(clientErrorProblem(err('ECONNRESET'))).toBeUndefined();
  });
});

describe('sockets handed to the upgrade listener', () => {
  it('are closed once answered, not left half open for a client that keeps its side (no HTTP timeout covers them)', async () => {
    h = createHarness();
    const server = serveApp(createServer(h.app), h.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const requests = [
        // Another protocol asked for (curl --http2 on plain HTTP): answered in HTTP/1.1 as usual.
        'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n',
        // An upgrade with a body: refused at once.
        'PUT /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\n{}',
      ];
      for (const text of requests) {
        const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => client.write(text));
        client.on('error', () => undefined);
        let answer = '';
        client.on('data', (d) => (answer += d));
        await new Promise((resolve) => client.once('end', resolve));
        expect(answer).toMatch(/^HTTP\/1\.1 (200|400) /);
        // The client never ends its side; the server must still let the connection go.
        await expect.poll(() => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n))), { timeout: 2000 }).toBe(0);
        client.destroy();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('drainServer', () => {
  /**
   * A server whose `/slow` requests wait for release() and whose POSTs answer once their whole body
   * has come; `entered` resolves as each request reaches the handler.
   */
  async function slowServer() {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const entered: Array<() => void> = [];
    const server = serveApp(
      createServer((req, res) => {
        entered.shift()?.();
        if (req.method === 'POST') {
          req.resume();
          req.on('end', () => res.end('whole body'));
        } else if (req.url === '/slow') void released.then(() => res.end('slow'));
        else if (req.url === '/chunked') {
          res.write('first part');
          void released.then(() => res.end('last part'));
        }
        else res.end('fast');
      }),
      () => undefined,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    /** A raw connection: what it has received, and whether the server has closed it. */
    const connect = async () => {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const c = { socket, got: '', closed: false };
      socket.on('data', (d) => (c.got += d));
      socket.on('close', () => (c.closed = true));
      socket.on('error', () => undefined);
      return c;
    };
    const nextRequest = () => new Promise<void>((resolve) => entered.push(resolve));
    return { server, port, connect, release, nextRequest };
  }

  it('closes idle kept-alive connections at once, lets a request in flight finish with Connection: close, and then closes', async () => {
    const { server, port, connect, release, nextRequest } = await slowServer();
    const idle = await connect();
    idle.socket.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(() => idle.got).toMatch(/fast$/);
    expect(idle.got).not.toMatch(/connection: close/i);
    const busy = await connect();
    const entered = nextRequest();
    busy.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await entered;

    const drained = drainServer(server, 10_000);
    await expect.poll(() => idle.closed).toBe(true);
    expect(busy.closed).toBe(false);
    // No new connection is taken.
    const refused = net.connect(port, '127.0.0.1');
    await expect(new Promise((resolve, reject) => refused.once('connect', resolve).once('error', reject))).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    release();
    expect(await drained).toEqual({ cutRequests: 0 });
    await expect.poll(() => busy.closed).toBe(true);
    expect(busy.got).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(busy.got).toMatch(/\r\nConnection: close\r\n/);
    expect(busy.got).toMatch(/slow$/);
  });

  it('closes the connection of a response already under way as soon as it ends, not keepAliveTimeout later', async () => {
    const { server, connect, release, nextRequest } = await slowServer();
    const busy = await connect();
    const entered = nextRequest();
    busy.socket.write('GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n');
    await entered;
    await expect.poll(() => busy.got).toMatch(/first part/);
    const drained = drainServer(server, 10_000);
    release();
    const started = Date.now();
    expect(await drained).toEqual({ cutRequests: 0 });
    // keepAliveTimeout is 5 s: closed well before it.
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => busy.closed).toBe(true);
    expect(busy.got).not.toMatch(/connection: close/i);
    expect(busy.got).toMatch(/last part\r\n0\r\n\r\n$/);
  });

  it('cuts what is still unfinished at the deadline (half a request body) and says how many', async () => {
    const { server, connect, nextRequest } = await slowServer();
    const half = await connect();
    const entered = nextRequest();
    half.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it');
    await entered;
    const started = Date.now();
    expect(await drainServer(server, 300)).toEqual({ cutRequests: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await expect.poll(() => half.closed).toBe(true);
    expect(half.got).toBe('');
  });
});
