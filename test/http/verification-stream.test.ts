/** GET /v1/subjects/{id}/verifications/stream: streaming verification over WebSocket. */
import net from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeAlaw } from '../../src/audio/g711.js';
import { createKey } from '../../src/passport/api-keys.js';
import { VoicePassportError } from '../../src/errors.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { maxStreamMessageBytes } from '../../src/http/verification-stream.js';
import { fakeModelId, mulawTone, toneWav } from '../passport/fakes.js';
import { auditEntries, consent, consentAndEnrol, createHarness, exportSubject, verifyCall, type Harness } from './harness.js';
import { checkSchema } from './schema-check.js';

const T0 = '2026-03-01T09:00:00.000Z';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const doc = JSON.parse(JSON.stringify(openApiDocument));
let h: Harness;
afterEach(async () => {
  await h?.close();
});

/** 16-bit big-endian PCM (RFC 3551 L16) tone at `rate`. */
function l16Tone(freq: number, seconds: number, rate: number): Buffer {
  const n = Math.round(seconds * rate);
  const buf = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) buf.writeInt16BE(Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * freq * i) / rate)), 2 * i);
  return buf;
}

/** Sends `audio` in 20 ms frames, as a telephony platform does. */
function sendFrames(ws: WebSocket, audio: Buffer, bytesPerSecond = 8000): void {
  const frame = bytesPerSecond / 50;
  for (let i = 0; i < audio.length; i += frame) ws.send(audio.subarray(i, i + frame));
}

interface Client {
  ws: WebSocket;
  /** The next server message (JSON), in order. */
  next(): Promise<Record<string, any>>;
  closed: Promise<{ code: number; reason: string }>;
}

async function open(address: string, id: string, query = '', key?: string): Promise<Client> {
  const ws = new WebSocket(`ws://${address}/v1/subjects/${id}/verifications/stream${query}`, { headers: { Authorization: `Bearer ${key ?? h.keys.telephony}` } });
  const queue: Record<string, any>[] = [];
  const waiting: ((m: Record<string, any>) => void)[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    // Every server message is what the OpenAPI document says it is.
    expect(checkSchema(doc, { $ref: '#/components/schemas/StreamMessage' }, m)).toEqual([]);
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed, next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve))) };
}

/** A harness with `cust-1` enrolled (tone 200 Hz) and a stream open for it, past its `listening` message. */
async function enrolledStream(options: Parameters<typeof createHarness>[0] = {}, query = ''): Promise<Client> {
  h = createHarness(options);
  await consentAndEnrol(h, 'cust-1', 200);
  const c = await open(await h.listen(), 'cust-1', query);
  expect((await c.next()).type).toBe('listening');
  return c;
}

/** Writes `text` to the server as is and answers all it got back, once the server has closed the socket. */
function rawExchange(address: string, text: string): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise<string>((resolve) => {
    const socket = net.connect(Number(port), host, () => socket.write(text));
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('close', () => resolve(got));
  });
}

const handshake = (path: string, headers: Record<string, string>) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries({ Connection: 'Upgrade', Upgrade: 'websocket', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
const nonce = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The HTTP answer to a handshake the server refuses. */
function refused(address: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${address}${path}`, { headers });
    ws.on('open', () => reject(new Error('the handshake was accepted')));
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? null : JSON.parse(text) }));
    });
    ws.on('error', () => undefined);
  });
}

describe('a stream decides as soon as it holds the policy\'s speech', () => {
  it('accepts the enrolled speaker on 3 s of speech, without waiting for the end, recorded and audited like a request body', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    const address = await h.listen();
    const c = await open(address, 'cust-1');
    // The cosine default policy `standard` asks for 3 s of net speech.
    expect(await c.next()).toEqual({ type: 'listening', requiredSpeechSeconds: 3, maxAudioSeconds: 30 });
    sendFrames(c.ws, mulawTone(200, 3));
    const result = await c.next();
    expect(result).toEqual({
      type: 'result',
      analysedSeconds: 3,
      verification: {
        verificationId: expect.stringMatching(uuid),
        occurredAt: T0,
        decision: 'accept',
        reasons: ['score-above-threshold'],
        score: result.verification.rawScore,
        rawScore: expect.closeTo(1, 3),
        scoreScale: 'cosine',
        threshold: 0.5,
        rawThreshold: 0.5,
        channel: 'telephone',
        policy: 'standard',
        netSpeechSeconds: 3,
        model: fakeModelId,
      },
    });
    expect(await c.closed).toEqual({ code: 1000, reason: 'decided' });

    const exported = await exportSubject(h, 'cust-1');
    expect(exported.body.verifications).toEqual([
      { id: result.verification.verificationId, occurredAt: T0, policy: 'standard', decision: 'accept', reasons: ['score-above-threshold'], score: result.verification.score, rawScore: result.verification.rawScore, normalisedScore: null, threshold: 0.5, rawThreshold: 0.5, netSpeechSeconds: 3, channel: 'telephone', transport: 'stream', model: fakeModelId, outcome: null },
    ]);
    const audit = (await auditEntries(h)).filter((e) => e.action === 'verification');
    expect(audit).toEqual([expect.objectContaining({ actorKeyId: h.keyIds.telephony, outcome: 'accept', details: expect.objectContaining({ verificationId: result.verification.verificationId, channel: 'telephone', policy: 'standard', transport: 'stream' }) })]);
    const metrics = await h.metrics.registry.getSingleMetricAsString('voice_passport_verification_decisions_total');
    expect(metrics).toContain('voice_passport_verification_decisions_total{policy="standard",decision="accept",channel="telephone"} 1');
    expect(await h.metrics.registry.getSingleMetricAsString('voice_passport_verification_streams_open')).toContain('voice_passport_verification_streams_open 0');
    // One line each way, with the request id; never the customer id (GDPR Art. 5(1)(c)).
    const lines = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.stream === true);
    expect(lines.map((l) => l.msg)).toEqual(['verification stream opened', 'verification stream closed']);
    expect(lines[1]).toMatchObject({ req: { id: lines[0].req.id, path: '/v1/subjects/:id/verifications/stream' }, code: 1000, decided: true, receivedSeconds: 3 });
    expect(h.logLines.join('')).not.toContain('cust-1');
  });

  it("the 101 carries the X-Request-Id of the stream's log lines, as every other answer does", async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    const address = await h.listen();
    const upgradeId = async (headers: Record<string, string>) => {
      const ws = new WebSocket(`ws://${address}/v1/subjects/cust-1/verifications/stream`, { headers: { Authorization: `Bearer ${h.keys.telephony}`, ...headers } });
      const id = await new Promise<string | undefined>((resolve, reject) => {
        ws.once('upgrade', (res) => resolve(res.headers['x-request-id'] as string | undefined));
        ws.once('error', reject);
      });
      await new Promise<void>((resolve) => (ws.readyState === ws.OPEN ? resolve() : ws.once('open', () => resolve())));
      ws.close();
      await new Promise((resolve) => ws.once('close', resolve));
      return id;
    };
    const generated = await upgradeId({});
    expect(generated).toMatch(uuid);
    // A caller's own id (short and plain) is kept, as for any call.
    expect(await upgradeId({ 'X-Request-Id': 'pbx-call-20260301-0001' })).toBe('pbx-call-20260301-0001');
    const opened = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'verification stream opened');
    expect(opened.map((l) => l.req.id)).toEqual([generated, 'pbx-call-20260301-0001']);
  });

  it('an accepted handshake is counted in voice_passport_http_requests_total (status 101), as a refused one is', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    const address = await h.listen();
    const c = await open(address, 'cust-1');
    expect((await c.next()).type).toBe('listening');
    sendFrames(c.ws, mulawTone(200, 3));
    let m = await c.next();
    while (m.type === 'progress') m = await c.next();
    expect(m.type).toBe('result');
    await c.closed;
    await expect(open(address, 'cust-1', '?codec=GSM')).rejects.toThrow(/400/);
    const route = 'route="/v1/subjects/:id/verifications/stream"';
    expect(await h.metrics.registry.getSingleMetricAsString('voice_passport_http_requests_total')).toContain(`voice_passport_http_requests_total{method="GET",${route},status="101"} 1`);
    const durations = await h.metrics.registry.getSingleMetricAsString('voice_passport_http_request_duration_seconds');
    expect(durations).toContain(`voice_passport_http_request_duration_seconds_count{method="GET",${route},status="101"} 1`);
    expect(durations).toContain(`voice_passport_http_request_duration_seconds_count{method="GET",${route},status="400"} 1`);
  });

  it('rejects another speaker, and reports progress while the audio holds too little speech', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    const c = await open(await h.listen(), 'cust-1', '?policy=high');
    expect(await c.next()).toEqual({ type: 'listening', requiredSpeechSeconds: 5, maxAudioSeconds: 30 });
    // 5 s of audio, 2 of them silent: analysed once it could hold 5 s, found short.
    sendFrames(c.ws, Buffer.concat([mulawTone(0, 2), mulawTone(400, 3)]));
    expect(await c.next()).toEqual({ type: 'progress', receivedSeconds: 5, netSpeechSeconds: 3, requiredSpeechSeconds: 5 });
    // Each further second of audio is analysed again.
    sendFrames(c.ws, mulawTone(400, 1));
    expect(await c.next()).toEqual({ type: 'progress', receivedSeconds: 6, netSpeechSeconds: 4, requiredSpeechSeconds: 5 });
    sendFrames(c.ws, mulawTone(400, 1));
    const result = await c.next();
    expect(result.analysedSeconds).toBe(7);
    expect(result.verification).toMatchObject({ decision: 'reject', reasons: ['score-below-threshold'], policy: 'high', netSpeechSeconds: 5, channel: 'telephone', rawScore: expect.closeTo(0, 3) });
    expect((await c.closed).code).toBe(1000);
    expect((await exportSubject(h, 'cust-1')).body.verifications.map((v: { decision: string }) => v.decision)).toEqual(['reject']);
  });

  it('decides on what it holds when the client ends the audio early: inconclusive, with the speech still needed', async () => {
    const c = await enrolledStream();
    sendFrames(c.ws, mulawTone(200, 1));
    c.ws.send(JSON.stringify({ type: 'end' }));
    const result = await c.next();
    expect(result.verification).toMatchObject({ decision: 'inconclusive', reasons: ['insufficient-speech'], additionalSpeechSecondsNeeded: 2, netSpeechSeconds: 1, rawScore: expect.closeTo(1, 3) });
    expect((await c.closed).code).toBe(1000);
    expect((await exportSubject(h, 'cust-1')).body.verifications).toHaveLength(1);
  });

  it('counts apart in the operator statistics: streams and recordings, each with its inconclusive reasons', async () => {
    const early = await enrolledStream();
    sendFrames(early.ws, mulawTone(200, 1));
    early.ws.send(JSON.stringify({ type: 'end' }));
    expect((await early.next()).verification.decision).toBe('inconclusive');
    await early.closed;
    const full = await open(await h.listen(), 'cust-1');
    await full.next();
    sendFrames(full.ws, mulawTone(200, 3));
    expect((await full.next()).verification.decision).toBe('accept');
    await full.closed;
    expect((await verifyCall(h, 'cust-1', toneWav({ freq: 400, seconds: 4 }))).body.decision).toBe('reject');

    const stats = await request(h.app).get('/v1/operator/stats').set(h.auth('operator'));
    const zero = { accept: 0, reject: 0, inconclusive: 0, 'not-enrolled': 0, 'no-consent': 0, locked: 0 };
    expect(stats.body.byTransport).toEqual({
      request: { verifications: { total: 1, byDecision: { ...zero, reject: 1 }, byPolicy: { standard: { ...zero, reject: 1 } } }, inconclusiveReasons: {} },
      stream: { verifications: { total: 2, byDecision: { ...zero, accept: 1, inconclusive: 1 }, byPolicy: { standard: { ...zero, accept: 1, inconclusive: 1 } } }, inconclusiveReasons: { 'insufficient-speech': 1 } },
    });
    expect(stats.body.verifications.total).toBe(3);
  });

  it('decides on what it holds when the client falls silent for VP_STREAM_IDLE_SECONDS', async () => {
    const c = await enrolledStream({ streamIdleSeconds: 1 });
    sendFrames(c.ws, mulawTone(200, 2));
    const result = await c.next();
    expect(result.verification).toMatchObject({ decision: 'inconclusive', reasons: ['insufficient-speech'], additionalSpeechSecondsNeeded: 1, netSpeechSeconds: 2 });
  });

  it('decides on what it holds when it has run VP_MAX_AUDIO_SECONDS plus the slack, however steadily the client sends', async () => {
    // 2 s of audio at most and 0.5 s of slack: decided 2.5 s after the handshake. The client sends
    // 100 ms of audio every 200 ms, so neither the idle timer (30 s) nor the audio limit ends it first.
    const c = await enrolledStream({ maxAudioSeconds: 2, streamLifetimeSlackSeconds: 0.5 });
    const opened = Date.now();
    const frame = mulawTone(200, 0.1);
    const sender = setInterval(() => c.ws.readyState === c.ws.OPEN && c.ws.send(frame), 200);
    try {
      let m = await c.next();
      while (m.type === 'progress') m = await c.next();
      const elapsed = (Date.now() - opened) / 1000;
      expect(m.type).toBe('result');
      expect(elapsed).toBeGreaterThanOrEqual(2.4);
      expect(elapsed).toBeLessThan(4);
      // About 1.2 s of audio had arrived: under the policy's 3 s, so too little speech, not an error.
      expect(m.analysedSeconds).toBeGreaterThan(1);
      expect(m.analysedSeconds).toBeLessThan(1.6);
      expect(m.verification).toMatchObject({ decision: 'inconclusive', reasons: ['insufficient-speech'] });
      expect(await c.closed).toEqual({ code: 1000, reason: 'decided' });
    } finally {
      clearInterval(sender);
    }
  });

  it('takes 16-bit PCM (L16) at a wideband rate, scored as wideband', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    const c = await open(await h.listen(), 'cust-1', '?codec=L16&rate=16000&speechSeconds=4');
    expect(await c.next()).toEqual({ type: 'listening', requiredSpeechSeconds: 4, maxAudioSeconds: 30 });
    // An odd split: frames cut mid-sample join up again.
    const audio = l16Tone(200, 4, 16000);
    c.ws.send(audio.subarray(0, 12_345));
    c.ws.send(audio.subarray(12_345));
    const result = await c.next();
    expect(result.verification).toMatchObject({ decision: 'accept', channel: 'wideband', netSpeechSeconds: 4 });
  });
});

describe('codecs and message sizes', () => {
  it('takes G.711 A-law (PCMA), the European networks\' law, as telephone audio', async () => {
    const c = await enrolledStream({}, '?codec=PCMA');
    const n = 3 * 8000;
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 200 * i) / 8000);
    sendFrames(c.ws, Buffer.from(encodeAlaw(samples)));
    expect((await c.next()).verification).toMatchObject({ decision: 'accept', channel: 'telephone', netSpeechSeconds: 3 });
  });

  it('a message over 1 MiB closes the stream with 1009 (too big), nothing recorded', async () => {
    const c = await enrolledStream();
    c.ws.send(Buffer.alloc(maxStreamMessageBytes + 1));
    expect((await c.closed).code).toBe(1009);
    await expect.poll(() => h.streams.open).toBe(0);
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
  });
});

describe('robustness', () => {
  it('property: any sequence of messages ends in a result or a 4xx problem, never a server error, and the stream is let go', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    const address = await h.listen();
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)),
      fc.integer({ min: 1, max: 20 }).map((tenths) => mulawTone(200, tenths / 10)),
      fc.constant('{"type":"end"}'),
      fc.string({ maxLength: 40 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('', '?codec=PCMA', '?codec=L16', '?codec=L16&rate=16000'), fc.array(message, { maxLength: 12 }), async (query, messages) => {
        const c = await open(address, 'cust-1', query);
        for (const m of messages) if (c.ws.readyState === c.ws.OPEN) c.ws.send(m);
        if (c.ws.readyState === c.ws.OPEN) c.ws.send('{"type":"end"}');
        const { code } = await c.closed;
        const seen: Record<string, any>[] = [];
        for (let m = await Promise.race([c.next(), Promise.resolve(null)]); m !== null; m = await Promise.race([c.next(), Promise.resolve(null)])) seen.push(m);
        const last = seen.at(-1)!;
        if (code === 1000) expect(last).toMatchObject({ type: 'result', verification: { decision: expect.stringMatching(/^(accept|reject|inconclusive|locked)$/) } });
        else {
          expect(code).toBe(1008);
          expect(last.type).toBe('error');
          expect(last.problem.status).toBeGreaterThanOrEqual(400);
          expect(last.problem.status).toBeLessThan(500);
        }
        await expect.poll(() => h.streams.open).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});

describe('the checks come before any audio is looked at', () => {
  it('no consent: the result at once, the streamed audio never analysed', async () => {
    h = createHarness();
    const address = await h.listen();
    const c = await open(address, 'cust-9');
    const result = await c.next();
    expect(result).toEqual({ type: 'result', analysedSeconds: null, verification: expect.objectContaining({ decision: 'no-consent', reasons: ['consent-not-active'], score: null, channel: null, netSpeechSeconds: null }) });
    expect((await c.closed).code).toBe(1000);
    expect(h.embedder.calls).toBe(0);
  });

  it('consent withdrawn while the stream runs: nothing more analysed, decided no-consent without figures', async () => {
    const c = await enrolledStream({}, '?speechSeconds=20');
    sendFrames(c.ws, mulawTone(200, 20).subarray(0, 8000 * 3));
    // Not analysed before the audio could hold the 20 s asked for: nothing analysed yet.
    expect((await request(h.app).delete('/v1/subjects/cust-1/consent').set(h.auth('enrolment'))).status).toBe(200);
    const calls = h.embedder.calls;
    sendFrames(c.ws, mulawTone(200, 20));
    const result = await c.next();
    expect(result).toEqual({
      type: 'result',
      analysedSeconds: null,
      verification: expect.objectContaining({ decision: 'no-consent', reasons: ['consent-not-active'], score: null, rawScore: null, channel: null, netSpeechSeconds: null }),
    });
    expect((await c.closed).code).toBe(1000);
    expect(h.embedder.calls).toBe(calls);
    const entry = (await auditEntries(h)).filter((e) => e.action === 'verification').at(-1)!;
    expect(entry).toMatchObject({ outcome: 'no-consent', details: { verificationId: result.verification.verificationId, analysisDiscarded: true, transport: 'stream' } });
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([expect.objectContaining({ id: result.verification.verificationId, decision: 'no-consent', netSpeechSeconds: null })]);
  });

  it('erased while the stream runs, after a first look at its audio: no further look, decided not-enrolled without figures', async () => {
    const c = await enrolledStream({}, '?speechSeconds=5');
    // 5 s, 2 of them silent: one look, found short (progress).
    sendFrames(c.ws, Buffer.concat([mulawTone(0, 2), mulawTone(200, 3)]));
    expect(await c.next()).toMatchObject({ type: 'progress', netSpeechSeconds: 3 });
    const calls = h.embedder.calls;
    expect((await request(h.app).delete('/v1/subjects/cust-1').set(h.auth('enrolment'))).status).toBe(200);
    sendFrames(c.ws, mulawTone(200, 3));
    const result = await c.next();
    expect(result).toEqual({ type: 'result', analysedSeconds: null, verification: expect.objectContaining({ decision: 'not-enrolled', reasons: ['no-voiceprint'], netSpeechSeconds: null }) });
    expect(h.embedder.calls).toBe(calls);
  });

  it('a voiceprint of another model: an error message, nothing analysed', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    h.embedder.modelId = 'other-model';
    const calls = h.embedder.calls;
    const c = await open(await h.listen(), 'cust-1');
    const m = await c.next();
    expect(m).toEqual({ type: 'error', problem: expect.objectContaining({ code: 'model-changed', status: 409, enrolledModel: fakeModelId, currentModel: 'other-model' }) });
    expect(await c.closed).toEqual({ code: 1008, reason: 'model-changed' });
    expect(h.embedder.calls).toBe(calls);
  });
});

describe('a stream that goes wrong', () => {
  it('closed by the client before a decision: nothing scored or recorded', async () => {
    const c = await enrolledStream();
    sendFrames(c.ws, mulawTone(200, 1));
    c.ws.close(1000);
    await c.closed;
    // The server sees the close after the client does: wait until it has let the stream go.
    await expect.poll(() => h.streams.open).toBe(0);
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
    expect((await auditEntries(h)).filter((e) => e.action === 'verification')).toEqual([]);
  });

  it('closed by the client after its audio was analysed: nothing scored or recorded, the analysis audited', async () => {
    const c = await enrolledStream({}, '?speechSeconds=5');
    sendFrames(c.ws, Buffer.concat([mulawTone(0, 2), mulawTone(200, 3)]));
    expect(await c.next()).toMatchObject({ type: 'progress', netSpeechSeconds: 3 });
    c.ws.close(1000);
    await c.closed;
    await expect.poll(() => h.streams.open).toBe(0);
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
    const entries = (await auditEntries(h)).filter((e) => e.action.startsWith('verification'));
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'verification.abandoned',
        actorKeyId: h.keyIds.telephony,
        subjectPseudonym: h.store.pseudonymise('cust-1'),
        outcome: 'abandoned',
        details: { transport: 'stream', analyses: 1, receivedSeconds: 5, model: fakeModelId },
      }),
    ]);
  });

  it('closed after its audio was analysed while its record cannot be written: logged, and the service goes on', async () => {
    const c = await enrolledStream({}, '?speechSeconds=5');
    // As a full disk would: the abandoned attempt's audit entry cannot be written.
    h.store.db.exec("CREATE TRIGGER no_abandoned BEFORE INSERT ON audit_log WHEN NEW.action = 'verification.abandoned' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");
    sendFrames(c.ws, Buffer.concat([mulawTone(0, 2), mulawTone(200, 3)]));
    expect(await c.next()).toMatchObject({ type: 'progress', netSpeechSeconds: 3 });
    c.ws.close(1000);
    await c.closed;
    await expect.poll(() => h.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'the abandoned verification stream could not be recorded')).toMatchObject({
      level: 50,
      err: expect.objectContaining({ message: 'database or disk is full' }),
    });
    expect(h.streams.open).toBe(0);
    expect((await auditEntries(h)).filter((e) => e.action.startsWith('verification'))).toEqual([]);
    // The process is still serving (the throw in the socket's close listener was not uncaught).
    expect((await request(h.app).get('/healthz')).status).toBe(200);
  });

  it('its key revoked: told so (401) and closed, nothing recorded; another key\'s stream goes on', async () => {
    const c = await enrolledStream({}, '?speechSeconds=20');
    const other = createKey(h.store, null, { role: 'telephony' });
    const address = (await h.listen());
    const d = await open(address, 'cust-1', '?speechSeconds=20', other.key);
    expect((await d.next()).type).toBe('listening');
    sendFrames(c.ws, mulawTone(200, 2));
    expect((await request(h.app).delete(`/v1/admin/keys/${h.keyIds.telephony}`).set(h.auth('admin'))).status).toBe(200);
    expect(await c.next()).toEqual({ type: 'error', problem: expect.objectContaining({ code: 'unauthorized', status: 401, detail: 'The API key of this stream was revoked; nothing was decided or recorded.' }) });
    expect(await c.closed).toEqual({ code: 1008, reason: 'unauthorized' });
    expect(h.streams.open).toBe(1);
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
    d.ws.close();
  });

  it('its key expired, or revoked by another process (the CLI), before the decision: 401 and closed, nothing recorded', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    const address = await h.listen();
    const expiring = createKey(h.store, null, { role: 'telephony', expiresAt: new Date(h.clock().getTime() + 60_000).toISOString() });
    const revoked = createKey(h.store, null, { role: 'telephony' });
    const c = await open(address, 'cust-1', '', expiring.key);
    const d = await open(address, 'cust-1', '', revoked.key);
    for (const x of [c, d]) expect((await x.next()).type).toBe('listening');
    h.clock.advance(10 * 60_000);
    // Revoked in the store, as `voice-passport keys revoke` does from another process (no endStreamsOf here).
    h.store.apiKeys.revoke(revoked.id);
    for (const x of [c, d]) {
      sendFrames(x.ws, mulawTone(200, 3));
      expect(await x.next()).toEqual({ type: 'error', problem: expect.objectContaining({ code: 'unauthorized', status: 401, detail: 'The API key of this stream expired or was revoked before the decision; nothing was decided or recorded.' }) });
      expect(await x.closed).toEqual({ code: 1008, reason: 'unauthorized' });
    }
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
    // A REST call with the expired key is refused the same way.
    expect((await request(h.app).post('/v1/subjects/cust-1/verifications').set('Authorization', `Bearer ${expiring.key}`).set('Content-Type', 'audio/wav').send(Buffer.from(toneWav({ freq: 200, seconds: 3 })))).status).toBe(401);
  });

  it('a text message other than end: 1008 with a problem, nothing recorded', async () => {
    const c = await enrolledStream();
    c.ws.send('{"type":"stop"}');
    expect(await c.next()).toEqual({
      type: 'error',
      problem: expect.objectContaining({ code: 'validation-failed', status: 400, detail: 'A text message must be {"type":"end"}; send the audio as binary messages.', instance: '/v1/subjects/cust-1/verifications/stream' }),
    });
    expect(await c.closed).toEqual({ code: 1008, reason: 'validation-failed' });
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
  });

  it('ended without a byte: audio-empty', async () => {
    const c = await enrolledStream();
    c.ws.send(JSON.stringify({ type: 'end' }));
    expect(await c.next()).toMatchObject({ type: 'error', problem: { code: 'audio-empty', status: 400 } });
    expect((await c.closed).code).toBe(1008);
  });

  it('the engine stays overloaded until the caller has finished: 1013 (try again later) with the wait', async () => {
    const c = await enrolledStream();
    h.embedder.analyse = () => Promise.reject(new VoicePassportError('overloaded', 'The inference queue is full; retry shortly.', undefined, 2.5));
    sendFrames(c.ws, mulawTone(200, 3));
    c.ws.send(JSON.stringify({ type: 'end' }));
    expect(await c.next()).toEqual({ type: 'error', problem: expect.objectContaining({ code: 'overloaded', status: 503 }), retryAfterSeconds: 3 });
    expect(await c.closed).toEqual({ code: 1013, reason: 'overloaded' });
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
  });

  it('the engine turns one analysis away while the caller speaks: the stream goes on and decides on a later one', async () => {
    const c = await enrolledStream();
    const before = h.embedder.calls;
    h.embedder.nextError = new VoicePassportError('overloaded', 'The inference queue is full; retry shortly.', undefined, 1);
    sendFrames(c.ws, mulawTone(200, 5));
    // The first analysis (once the audio could hold the policy's speech) was turned away, the next decided.
    expect(await c.next()).toMatchObject({ type: 'result', verification: { decision: 'accept' } });
    expect(h.embedder.calls).toBe(before + 2);
    expect((await c.closed).code).toBe(1000);
    expect((await exportSubject(h, 'cust-1')).body.verifications.map((v: { decision: string }) => v.decision)).toEqual(['accept']);
  });

  it('the service stops while the deciding analysis is in flight: 1001, and the late analysis is neither scored nor recorded', async () => {
    const c = await enrolledStream();
    // Hold the next analysis until the stream has been ended.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const analyse = h.embedder.analyse.bind(h.embedder);
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    h.embedder.analyse = async (req) => {
      started();
      await gate;
      return analyse(req);
    };
    sendFrames(c.ws, mulawTone(200, 3));
    await inFlight;
    // The analysis finishes while the closing handshake is still under way.
    const closing = h.streams.close();
    release();
    await closing;
    expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
    expect((await auditEntries(h)).filter((e) => e.action === 'verification')).toEqual([]);
  });

  it('the service stops: open streams end with 1001 (going away), nothing recorded', async () => {
    const c = await enrolledStream();
    await h.streams.close();
    expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
  });
});

describe('the handshake is refused in plain HTTP, as any other request', () => {
  const path = '/v1/subjects/cust-1/verifications/stream';

  it('without a key 401, with another role 403, with a bad query 400', async () => {
    h = createHarness();
    const address = await h.listen();
    expect(await refused(address, path, {})).toMatchObject({ status: 401, headers: { 'content-type': 'application/problem+json; charset=utf-8', 'www-authenticate': 'Bearer realm="voice-passport"' }, body: { code: 'unauthorized' } });
    expect(await refused(address, path, h.auth('enrolment'))).toMatchObject({ status: 403, body: { code: 'forbidden', requiredRoles: ['telephony'] } });
    expect(await refused(address, `${path}?policy=nope`, h.auth('telephony'))).toMatchObject({ status: 400, body: { code: 'validation-failed', availablePolicies: ['high', 'standard'] } });
    expect(await refused(address, `${path}?codec=opus`, h.auth('telephony'))).toMatchObject({ status: 400, body: { code: 'validation-failed' } });
    expect(await refused(address, `${path}?codec=PCMA&rate=16000`, h.auth('telephony'))).toMatchObject({ status: 400, body: { code: 'validation-failed', detail: expect.stringContaining('rate applies to codec L16 only') } });
    expect(await refused(address, `${path}?speechSeconds=31`, h.auth('telephony'))).toMatchObject({ status: 400, body: { code: 'validation-failed', maxAudioSeconds: 30 } });
    expect(h.streams.open).toBe(0);
  });

  it('another protocol asked for (h2c): a request without a body is answered in HTTP/1.1 as usual, one with a body gets 400 at once', async () => {
    h = createHarness();
    const address = await h.listen();
    const raw = (text: string) => rawExchange(address, text);
    const plain = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n');
    expect(plain.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(JSON.parse(plain.split('\r\n\r\n')[1]!)).toEqual({ status: 'ok' });
    const withBody = await raw('PUT /v1/subjects/cust-1/consent HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    expect(withBody.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(withBody.split('\r\n\r\n')[1]!)).toMatchObject({ code: 'validation-failed', status: 400 });
  });

  it('a malformed handshake is refused in problem+json before the upgrade, and logged like any request', async () => {
    h = createHarness();
    const address = await h.listen();
    const auth = { Authorization: `Bearer ${h.keys.telephony}` };
    const good = { ...auth, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': nonce };
    const answer = async (text: string) => {
      const got = await rawExchange(address, text);
      const [head, body] = got.split('\r\n\r\n') as [string, string];
      return { status: head.split('\r\n')[0], head: head.toLowerCase(), body: body === '' ? null : JSON.parse(body) };
    };
    const { 'Sec-WebSocket-Key': _key, ...noKey } = good;
    for (const text of [
      handshake(path, noKey),
      handshake(path, { ...good, 'Sec-WebSocket-Key': 'abc' }),
      handshake(path, { ...good, 'Sec-WebSocket-Protocol': 'a b,,' }),
      // A subprotocol named twice (the WebSocket library would refuse it in text/html, unlogged).
      handshake(path, { ...good, 'Sec-WebSocket-Protocol': 'a, a' }),
      handshake('/v1/subjects/bad%20id/verifications/stream', good),
    ]) {
      const a = await answer(text);
      expect(a.status).toBe('HTTP/1.1 400 Bad Request');
      expect(a.head).toContain('content-type: application/problem+json');
      expect(a.body).toMatchObject({ code: 'validation-failed', status: 400 });
    }
    const { 'Sec-WebSocket-Version': _version, ...noVersion } = good;
    for (const text of [handshake(path, noVersion), handshake(path, { ...good, 'Sec-WebSocket-Version': '8' })]) {
      const version = await answer(text);
      expect(version.status).toBe('HTTP/1.1 426 Upgrade Required');
      expect(version.head).toContain('sec-websocket-version: 13');
      expect(version.body).toMatchObject({ code: 'upgrade-required', detail: 'Sec-WebSocket-Version must be 13 (RFC 6455).' });
    }
    const head = await answer(handshake(path, good).replace(/^GET/, 'HEAD'));
    expect(head.status).toBe('HTTP/1.1 400 Bad Request');
    expect(head.head).toContain('content-type: application/problem+json');
    // One access-log line each, with its status; nothing was upgraded.
    const statuses = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.res?.statusCode !== undefined).map((l) => l.res.statusCode);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 426, 426, 400]);
    expect(h.streams.open).toBe(0);
    expect(h.embedder.calls).toBe(0);
  });

  it('a client that never answers the server\'s close gives its place up at once, and is cut off', async () => {
    h = createHarness({ streamMaxOpen: 1 });
    const address = await h.listen();
    // No consent: decided at once, the result sent and the close frame with it; this client never answers it.
    const silent = rawExchange(address, handshake('/v1/subjects/nobody-1/verifications/stream', { Authorization: `Bearer ${h.keys.telephony}`, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': nonce }));
    await expect.poll(() => h.store.audit.list({ limit: 100 }).filter((e) => e.action === 'verification').length).toBe(1);
    await expect.poll(() => h.streams.open, { timeout: 500 }).toBe(0);
    const next = await open(address, 'nobody-2');
    expect((await next.next()).type).toBe('result');
    // The closing handshake times out after 2 s and the socket is destroyed.
    expect(await silent).toContain('HTTP/1.1 101 Switching Protocols');
  });

  it('selects no subprotocol: one the client names (e.g. AudioHook) is not claimed in the 101', async () => {
    h = createHarness();
    const address = await h.listen();
    // No consent: decided at once; the 101 is what this test reads.
    const got = await rawExchange(address, handshake('/v1/subjects/nobody-1/verifications/stream', { Authorization: `Bearer ${h.keys.telephony}`, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': nonce, 'Sec-WebSocket-Protocol': 'audiohook' }));
    const head = got.split('\r\n\r\n')[0]!.toLowerCase();
    expect(head.split('\r\n')[0]).toBe('http/1.1 101 switching protocols');
    expect(head).not.toContain('sec-websocket-protocol');
  });

  it('a client that resets the connection right after asking to upgrade does not bring the server down, with or without a key', async () => {
    h = createHarness();
    const address = await h.listen();
    const [host, port] = address.split(':') as [string, string];
    const requests = [
      'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      handshake(path, { 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': nonce }),
      handshake(path, { Authorization: `Bearer ${h.keys.telephony}`, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': nonce }),
    ];
    for (let round = 0; round < 5; round++) {
      for (const text of requests) {
        await new Promise<void>((resolve) => {
          const socket = net.connect(Number(port), host, () => {
            socket.write(text);
            setTimeout(() => socket.resetAndDestroy(), 1);
          });
          socket.on('error', () => undefined);
          socket.on('close', () => resolve());
        });
      }
    }
    // Without an 'error' listener on the upgraded socket, the reset raised an unhandled error event.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await rawExchange(address, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  });

  it('a handshake that arrives while the service stops is refused with 503, not opened behind close()', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-2', 200);
    const address = await h.listen();
    const first = await open(address, 'cust-2');
    expect((await first.next()).type).toBe('listening');
    const closing = h.streams.close();
    expect(await refused(address, path, h.auth('telephony'))).toMatchObject({ status: 503, headers: { 'retry-after': '1' }, body: { code: 'not-ready', detail: 'The service is stopping; open the stream again on another instance or once it is back.' } });
    await closing;
    expect(h.streams.open).toBe(0);
    expect(h.store.audit.list({ limit: 100 }).filter((e) => e.action === 'verification')).toEqual([]);
  });

  it('a plain GET (no upgrade): 426 naming the protocol', async () => {
    h = createHarness();
    const res = await request(h.app).get(path).set(h.auth('telephony'));
    expect(res.status).toBe(426);
    expect(res.headers.upgrade).toBe('websocket');
    expect(res.body).toMatchObject({ code: 'upgrade-required', status: 426 });
  });

  it('VP_STREAM_MAX_OPEN streams open: the next gets 503 with Retry-After', async () => {
    h = createHarness({ streamMaxOpen: 1 });
    await consent(h, 'cust-1');
    await consentAndEnrol(h, 'cust-2', 200);
    const address = await h.listen();
    const first = await open(address, 'cust-2');
    await first.next();
    expect(await refused(address, path, h.auth('telephony'))).toMatchObject({ status: 503, headers: { 'retry-after': '1' }, body: { code: 'overloaded' } });
    first.ws.close();
  });
});
