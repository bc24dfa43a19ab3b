/** The HTTP server around the app (src/http/http-server.ts): requests Node's parser refuses are answered in problem+json too. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { clientErrorProblem } from '../../src/http/http-server.js';
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
    expect(r.body).toEqual({
      type: 'https://voice-passport.dev/problems/request-headers-too-large',
      title: 'The request headers are too large',
      status: 431,
      code: 'request-headers-too-large',
      detail: 'The request headers are larger than the 16 KiB this service reads; send fewer or shorter headers.',
    });
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
