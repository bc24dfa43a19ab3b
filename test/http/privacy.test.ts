/**
 * Data minimisation end to end (GDPR Art. 5(1)(c), 9): no audio in the data directory or the logs
 * after enrolment and verification; no customer id in logs, audit or metrics.
 */
import net from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { toneWav } from '../passport/fakes.js';
import { filesContaining } from '../store/helpers.js';
import { consent, createHarness, enrolSample, verifyCall, type Harness } from './harness.js';

let h: Harness;
afterEach(() => h?.close());

describe('privacy', () => {
  it('no audio bytes in the data directory or the logs after enrol and verify', async () => {
    h = createHarness();
    await consent(h, 'cust-privacy-1');
    const samples = [toneWav({ freq: 203, seconds: 5 }), toneWav({ freq: 207, seconds: 5 }), toneWav({ freq: 205, seconds: 4 })];
    await enrolSample(h, 'cust-privacy-1', samples[0]!);
    await enrolSample(h, 'cust-privacy-1', samples[1]!);
    expect((await verifyCall(h, 'cust-privacy-1', samples[2]!)).body.decision).toBe('accept');
    h.reopen();
    for (const audio of samples) {
      // 256 bytes from the middle of each body: long enough to be unique, wherever it might land.
      const chunk = audio.subarray(audio.length / 2, audio.length / 2 + 256);
      expect(filesContaining(h.dataDir, chunk)).toEqual([]);
      const logs = Buffer.from(h.logLines.join(''));
      expect(logs.indexOf(Buffer.from(chunk))).toBe(-1);
      expect(h.logLines.join('')).not.toContain(Buffer.from(chunk).toString('base64').slice(0, 40));
    }
  });

  it("request logs carry route shapes, never customer ids, their calls' ids, keys or query strings", async () => {
    h = createHarness();
    await consent(h, 'cust-log-4711');
    const call = (await verifyCall(h, 'cust-log-4711', toneWav({ freq: 200, seconds: 4 }), '?policy=standard')).body.verificationId as string;
    await request(h.app).put(`/v1/verifications/${call}/outcome`).set(h.auth('operator')).send({ truth: 'genuine', source: 'agent' });
    await request(h.app).post('/v1/operator/subjects/cust-log-4711/reset-lockout').set(h.auth('operator'));
    await request(h.app).get('/v1/subjects/cust-log-4711/export').set(h.auth('enrolment'));
    await request(h.app).get('/v1/subjects/cust-log-4711?secret=1').set('Authorization', `Bearer ${h.keys.admin}`);
    const logs = h.logLines.join('');
    expect(logs).toContain('/v1/subjects/:id/verifications');
    expect(logs).toContain('/v1/operator/subjects/:id/reset-lockout');
    expect(logs).toContain('/v1/verifications/:verificationId/outcome');
    expect(logs).not.toContain('cust-log-4711');
    expect(logs).not.toContain(call);
    expect(logs).not.toContain('secret=1');
    for (const key of Object.values(h.keys)) expect(logs).not.toContain(key);
    const metrics = await request(h.app).get('/metrics').set(h.auth('operator'));
    expect(metrics.text).not.toContain('cust-log-4711');
  });

  it('request logs carry no customer id however the path is spelt: absolute form, doubled slashes, dot segments, encoded slashes', async () => {
    h = createHarness();
    await consent(h, 'cust-log-4712');
    const address = await h.listen();
    const [host, port] = address.split(':') as [string, string];
    const rawGet = (target: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), host, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.keys.enrolment}\r\nConnection: close\r\n\r\n`));
        let got = '';
        socket.on('data', (d) => (got += d));
        socket.on('close', () => resolve(got.split('\r\n')[0]!));
      });
    // The absolute form is routed (RFC 9112 §3.2.2) and answered; the others are 404s.
    expect(await rawGet(`http://${address}/v1/subjects/cust-log-4712`)).toBe('HTTP/1.1 200 OK');
    for (const target of ['//v1/subjects/cust-log-4712', '/v1//subjects/cust-log-4712', '/v1/./subjects/cust-log-4712', '/v1/subjects%2Fcust-log-4712', '/V1/SUBJECTS/cust-log-4712/nope']) {
      expect(await rawGet(target)).toBe('HTTP/1.1 404 Not Found');
    }
    const paths = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.req?.path !== undefined).map((l) => l.req.path);
    expect(paths).toEqual(['/v1/subjects/:id/consent', '/v1/subjects/:id', '//v1/subjects/:…', '/v1//subjects/:…', '/v1/:…/subjects/:…', '/v1/:…', '/V1/SUBJECTS/:…/:…']);
    expect(h.logLines.join('')).not.toContain('4712');
  });
});
