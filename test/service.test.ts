/**
 * The whole service on a real port (startService: engine with worker threads, store, app):
 * first-start keys, readiness, and the flow of issue 3's "done when" with real speech from
 * ../shared/data/dev — consent → enrol → verify (same speaker, other speaker) → export → withdraw →
 * verify says no-consent.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeFlacFile } from '../src/audio/flac.js';
import type { MonoAudio } from '../src/audio/types.js';
import { concatenate, telephoneInput } from '../src/evaluation/channel.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/observability/logger.js';
import { initialKeysFileName } from '../src/passport/api-keys.js';
import { startService, type RunningService } from '../src/service.js';
import { openStore } from '../src/store/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const devDir = path.resolve(here, '../../shared/data/dev/so762');
const haveDev = fs.existsSync(devDir);
if (!haveDev) console.warn(`service.test.ts: ${devDir} is absent; the real-speech flow is skipped (needs ../shared).`);

/** 16-bit PCM mono WAV of ±1 float samples. */
function wav(samples: Float32Array, rate: number): Buffer {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + samples.length * 2, 4);
  b.write('WAVEfmt ', 8, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(samples.length * 2, 40);
  samples.forEach((s, i) => b.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), 44 + i * 2));
  return b;
}

/** Utterances `from`..`from+count-1` of a speaker, concatenated. */
async function utterances(speaker: string, from: number, count: number): Promise<MonoAudio> {
  const files = fs.readdirSync(path.join(devDir, speaker)).sort().slice(from, from + count);
  const parts: MonoAudio[] = [];
  for (const f of files) parts.push(await decodeFlacFile(new Uint8Array(fs.readFileSync(path.join(devDir, speaker, f))), { maxSeconds: 60 }));
  return concatenate(parts);
}

/** The same, as one WAV. */
async function speech(speaker: string, from: number, count: number): Promise<Buffer> {
  const a = await utterances(speaker, from, count);
  return wav(a.samples, a.sampleRate);
}

/**
 * Streams `audio` to the verification stream as a call: G.711 µ-law at 8 kHz in 20 ms frames.
 * Resolves with every server message and the close code.
 */
async function streamCall(url: string, key: string, audio: Buffer): Promise<{ messages: Array<Record<string, any>>; code: number }> {
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${key}` } });
  const messages: Array<Record<string, any>> = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  for (let i = 0; i < audio.length; i += 160) ws.send(audio.subarray(i, i + 160));
  ws.send(JSON.stringify({ type: 'end' }));
  return { messages, code: await closed };
}

let dataDir: string;
let service: RunningService;
/** What the service logged at warn level and above while it started. */
const startLog: { level: number; msg: string }[] = [];
let base: string;
let keys: Record<string, string>;
const modelId = loadConfig({}).modelId;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-service-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', VP_DATA_DIR: dataDir, VP_WORKERS: '1', VP_ENROL_MIN_SECONDS: '10', VP_ENROL_MIN_SAMPLES: '2', LOG_LEVEL: 'silent' });
  service = await startService(config, createLogger('warn', { write: (line: string) => void startLog.push(JSON.parse(line) as { level: number; msg: string }) }));
  base = `http://127.0.0.1:${service.port}`;
  const file = path.join(dataDir, initialKeysFileName);
  keys = Object.fromEntries((JSON.parse(fs.readFileSync(file, 'utf8')) as { keys: Array<{ role: string; key: string }> }).keys.map((k) => [k.role, k.key]));
}, 120_000);

afterAll(async () => {
  await service?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const as = (role: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${keys[role]}` } });
const audio = (role: string, body: Buffer): RequestInit => as(role, { method: 'POST', body: new Uint8Array(body), headers: { 'Content-Type': 'audio/wav' } });

describe('the running service', () => {
  it('first start wrote one key per role to a 0600 file; readiness; the open and closed routes', async () => {
    expect(Object.keys(keys).sort()).toEqual(['admin', 'enrolment', 'operator', 'telephony']);
    expect(fs.statSync(path.join(dataDir, initialKeysFileName)).mode & 0o777).toBe(0o600);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', checks: { running: true, model: true, database: true, masterKey: true } });
    expect((await fetch(`${base}/openapi.json`)).status).toBe(200);
    // The operator console is on by default (VP_CONSOLE), its page open, its data behind the key.
    const page = await fetch(`${base}/console/`);
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect((await fetch(`${base}/v1/operator/policies`)).status).toBe(401);
    const policies = await fetch(`${base}/v1/operator/policies`, as('operator'));
    expect(policies.status).toBe(200);
    // Every policy warning was logged at start (pino level 40: warn), and nothing else about policies.
    const { warnings } = (await policies.json()) as { warnings: string[] };
    expect(startLog.filter((l) => l.msg.startsWith('Policy "'))).toEqual(warnings.map((msg) => expect.objectContaining({ level: 40, msg })));
    // The shipped calibration cannot support `high`'s 0.1 %: its threshold rests on one pair of
    // calibration speakers (models/README.md, *Calibration and policies*).
    if (modelId === 'vp-resnet-v9') expect(warnings.filter((w) => w.startsWith('Policy "high"')).length).toBeGreaterThan(0);
    const metrics = await (await fetch(`${base}/metrics`, as('operator'))).text();
    expect(metrics).toContain('voice_passport_engine_workers 1');
    // The shipped current notice states the shipped default periods: nothing to warn about.
    expect(startLog.filter((l) => l.msg.startsWith('The current consent notice'))).toEqual([]);
  });

  it.skipIf(!haveDev)('consent → enrol → verify (same and other speaker) → export → withdraw → no-consent, with real speech', async () => {
    const id = 'customer-0005';
    const consent = await fetch(`${base}/v1/subjects/${id}/consent`, as('enrolment', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ noticeVersion: 'v2', channel: 'app', locale: 'nl' }) }));
    expect(consent.status).toBe(200);

    let status = 'enrolling';
    let samples = 0;
    for (let from = 0; status !== 'enrolled' && from < 6; from += 3) {
      const res = await fetch(`${base}/v1/subjects/${id}/enrolments`, audio('enrolment', await speech('0005', from, 3)));
      const body = (await res.json()) as { status: string; feedback: string[]; model: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.feedback).toEqual(['ok']);
      expect(body.model).toBe(modelId);
      status = body.status;
      samples++;
    }
    expect(status).toBe('enrolled');
    expect(samples).toBeGreaterThanOrEqual(2);

    // The calibrated default policies ask for the net speech at which the model's measured EER
    // meets their need (models/README.md). This test's four sentences hold about 7 s, so the operator
    // pins `standard` at 5 s (the FMR target stays 1 %): the test does not depend on the shipped
    // model's duration table, and it exercises the policy PUT.
    const policies = await fetch(`${base}/v1/operator/policies`, as('operator', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ policies: [{ name: 'standard', targetFmr: 0.01, minNetSpeechSeconds: 5 }, { name: 'high', targetFmr: 0.001 }] }) }));
    expect(policies.status, await policies.clone().text()).toBe(200);

    const same = (await (await fetch(`${base}/v1/subjects/${id}/verifications`, audio('telephony', await speech('0005', 6, 4)))).json()) as { decision: string; score: number; model: string };
    const other = (await (await fetch(`${base}/v1/subjects/${id}/verifications`, audio('telephony', await speech('0026', 0, 3)))).json()) as { decision: string; score: number };
    expect(same.model).toBe(modelId);
    if (modelId === 'vp-test-tiny') {
      // The bundled test model has random weights: it embeds, but does not tell speakers apart.
      console.warn(`service.test.ts: ${modelId} is not a speaker model; same ${same.score.toFixed(3)}, other ${other.score.toFixed(3)}; accept/reject not asserted.`);
      expect(['accept', 'reject']).toContain(same.decision);
      expect(['accept', 'reject']).toContain(other.decision);
    } else {
      expect(same.decision).toBe('accept');
      expect(other.decision).toBe('reject');
      expect(same.score).toBeGreaterThan(other.score);
    }

    // The same speaker and the other one on a phone call, streamed: G.711 µ-law, decided once the
    // call holds `standard`'s 5 s of net speech, scored on the telephone channel.
    const streamUrl = `ws://127.0.0.1:${service.port}/v1/subjects/${id}/verifications/stream?codec=PCMU`;
    const call = async (speaker: string, from: number, count: number) => Buffer.from(telephoneInput(await utterances(speaker, from, count), 'mulaw').bytes);
    const sameCall = await streamCall(streamUrl, keys.telephony!, await call('0005', 6, 4));
    const otherCall = await streamCall(streamUrl, keys.telephony!, await call('0026', 0, 3));
    for (const c of [sameCall, otherCall]) {
      expect(c.code).toBe(1000);
      expect(c.messages[0]).toEqual({ type: 'listening', requiredSpeechSeconds: 5, maxAudioSeconds: 120 });
      expect(c.messages.at(-1)).toMatchObject({ type: 'result', verification: { channel: 'telephone', policy: 'standard', model: modelId } });
      expect(c.messages.at(-1)!.verification.netSpeechSeconds).toBeGreaterThanOrEqual(5);
    }
    const [sameStreamed, otherStreamed] = [sameCall, otherCall].map((c) => c.messages.at(-1)!.verification as { decision: string; score: number });
    if (modelId !== 'vp-test-tiny') {
      expect(sameStreamed!.decision).toBe('accept');
      expect(otherStreamed!.decision).toBe('reject');
    }

    const exported = (await (await fetch(`${base}/v1/subjects/${id}/export`, as('enrolment'))).json()) as { verifications: unknown[]; voiceprint: { modelId: string } };
    expect(exported.verifications).toHaveLength(4);
    expect(exported.voiceprint.modelId).toBe(modelId);

    const withdrawn = (await (await fetch(`${base}/v1/subjects/${id}/consent`, as('enrolment', { method: 'DELETE' }))).json()) as { withdrawn: boolean; erased: { voiceprint: boolean } };
    expect(withdrawn).toMatchObject({ withdrawn: true, erased: { voiceprint: true } });
    const after = (await (await fetch(`${base}/v1/subjects/${id}/verifications`, audio('telephony', await speech('0005', 6, 4)))).json()) as { decision: string };
    expect(after.decision).toBe('no-consent');
  }, 120_000);
});

describe('the running service with its consent notices', () => {
  it('says at start where the current notice and the configuration disagree; a notice index that does not match its texts stops the start before the store is opened', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-service-notices-'));
    const log: { level: number; msg: string; notice?: string }[] = [];
    const shorter = await startService(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', VP_DATA_DIR: dir, VP_WORKERS: '1', VP_RETENTION_DAYS: '365', LOG_LEVEL: 'silent' }),
      createLogger('warn', { write: (line: string) => void log.push(JSON.parse(line) as { level: number; msg: string }) }),
    );
    await shorter.close();
    expect(log.filter((l) => l.msg.startsWith('The current consent notice'))).toEqual([
      expect.objectContaining({ level: 40, notice: 'v2', msg: 'The current consent notice v2 tells customers 1095 days for an unused voiceprint, but VP_RETENTION_DAYS is 365: it is erased sooner than they were told.' }),
    ]);

    const notices = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-notices-'));
    const fresh = path.join(dir, 'fresh');
    try {
      fs.writeFileSync(path.join(notices, 'v1.en.md'), 'notice v1');
      fs.writeFileSync(path.join(notices, 'notices.json'), JSON.stringify({ current: 'v1', versions: { v1: { retention: { voiceprintUnusedDays: 1095, verificationHistoryDays: 400, consentRecordDays: 1826 } }, v2: { retention: { voiceprintUnusedDays: 1095, verificationHistoryDays: 400, consentRecordDays: 1826 } } } }));
      await expect(startService(loadConfig({ PORT: '0', VP_DATA_DIR: fresh, VP_CONSENT_NOTICES_DIR: notices, LOG_LEVEL: 'silent' }), createLogger('silent'))).rejects.toMatchObject({
        code: 'config-invalid',
        message: expect.stringMatching(/notices\.json does not match the notice texts: it lists v2, which have no text\.$/),
      });
      expect(fs.existsSync(fresh)).toBe(false);
    } finally {
      fs.rmSync(notices, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the running service and the bytes of its model', () => {
  it('records the model file it runs as; another file under the same id is refused while voiceprints of it are held', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-service-fingerprint-'));
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', VP_DATA_DIR: dir, VP_WORKERS: '1', LOG_LEVEL: 'silent' });
    try {
      await (await startService(config, createLogger('silent'))).close();
      // The data dir's own master key (written at the first start) opens the store.
      const store = openStore({ dataDir: dir, env: {} });
      const recorded = store.modelFingerprints.get(config.modelId);
      expect(recorded?.sha256).toMatch(/^[0-9a-f]{64}$/);
      // As if the file under this id had been another network when this voiceprint was made.
      store.modelFingerprints.record(config.modelId, 'f'.repeat(64));
      const p = store.pseudonymise('cust-1');
      store.consents.give(p, { noticeVersion: 'v2', channel: 'app', actorKeyId: null });
      store.voiceprints.completeEnrolment(p, { embedding: new Float32Array(192).fill(1 / Math.sqrt(192)), modelId: config.modelId, sampleCount: 1, netSpeechSeconds: 9 });
      store.close();
      await expect(startService(config, createLogger('silent'))).rejects.toMatchObject({
        code: 'model-invalid',
        message: expect.stringContaining(`Model "${config.modelId}" ran on this store as the file with sha256 ${'f'.repeat(64)}`),
        details: { sha256: recorded!.sha256, voiceprints: 1, enrolmentSamples: 0 },
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the running service with VP_MIN_SNR_DB', () => {
  it.skipIf(!haveDev)('gates on the configured SNR: clean speech under a 60 dB bar is refused as too noisy, with its estimate', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-service-snr-'));
    const strict = await startService(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', VP_DATA_DIR: dir, VP_WORKERS: '1', VP_MIN_SNR_DB: '60', LOG_LEVEL: 'silent' }),
      createLogger('silent'),
    );
    try {
      const url = `http://127.0.0.1:${strict.port}`;
      const own = Object.fromEntries(
        (JSON.parse(fs.readFileSync(path.join(dir, initialKeysFileName), 'utf8')) as { keys: Array<{ role: string; key: string }> }).keys.map((k) => [k.role, k.key]),
      );
      const auth = { Authorization: `Bearer ${own.enrolment}` };
      const consent = await fetch(`${url}/v1/subjects/c-1/consent`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ noticeVersion: 'v2', channel: 'app' }) });
      expect(consent.status).toBe(200);
      const res = await fetch(`${url}/v1/subjects/c-1/enrolments`, { method: 'POST', headers: { ...auth, 'Content-Type': 'audio/wav' }, body: new Uint8Array(await speech('0005', 0, 3)) });
      const body = (await res.json()) as { code: string; feedback: string[]; snrDb: number };
      expect(res.status).toBe(422);
      expect(body.code).toBe('poor-audio-quality');
      expect(body.feedback).toEqual(['too-noisy']);
      // A clean studio recording: well above the default 5 dB bar, under this one.
      expect(body.snrDb).toBeGreaterThan(5);
      expect(body.snrDb).toBeLessThan(60);
    } finally {
      await strict.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the running service while it stops', () => {
  it('answers /readyz 503 (running: false) and still serves for VP_SHUTDOWN_DELAY_MS, then takes no connection', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-service-stop-'));
    const svc = await startService(loadConfig({ PORT: '0', HOST: '127.0.0.1', VP_DATA_DIR: dir, VP_WORKERS: '1', VP_SHUTDOWN_DELAY_MS: '1500', LOG_LEVEL: 'silent' }), createLogger('silent'));
    try {
      const url = `http://127.0.0.1:${svc.port}`;
      const ready = await fetch(`${url}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', checks: { running: true, model: true, database: true, masterKey: true } }]);
      const closed = svc.close();
      const stopping = await fetch(`${url}/readyz`);
      expect([stopping.status, await stopping.json()]).toEqual([503, { status: 'not-ready', checks: { running: false, model: true, database: true, masterKey: true } }]);
      expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
      await closed;
      await expect(fetch(`${url}/healthz`)).rejects.toMatchObject({ cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
    } finally {
      await svc.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the process (src/server.ts)', () => {
  it('exits 78 (EX_CONFIG) for a configuration found invalid at start, as for one refused when read', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-exit-'));
    try {
      const run = (env: Record<string, string>) =>
        spawnSync(process.execPath, ['--import', 'tsx', path.join(here, '..', 'src', 'server.ts')], {
          env: { ...process.env, VP_DATA_DIR: dataDir, LOG_LEVEL: 'fatal', ...env },
          encoding: 'utf8',
          timeout: 60_000,
        });
      expect(run({ PORT: 'abc' }).status).toBe(78);
      const badKey = run({ VP_MASTER_KEY: 'not a key' });
      expect(badKey.status).toBe(78);
      expect(badKey.stdout).toMatch(/"code":"config-invalid"/);
      expect(badKey.stdout + badKey.stderr).not.toContain('not a key');
      // A model id the models folder does not hold is a configuration error too, found before the
      // data dir is touched: nothing is created there, not even a master key.
      const fresh = path.join(dataDir, 'fresh');
      const noModel = run({ VP_MODEL: 'vp-resnet-v0', VP_DATA_DIR: fresh });
      expect(noModel.status).toBe(78);
      const fatal = JSON.parse(noModel.stdout.trim().split('\n').at(-1)!) as { code: string; err: { message: string } };
      expect(fatal.code).toBe('config-invalid');
      expect(fatal.err.message).toBe(`VP_MODEL "vp-resnet-v0" names no model in VP_MODELS_DIR (${path.resolve(here, '..', 'models')}): it holds ${modelId}, vp-test-tiny. Set VP_MODEL to one of them, or install it with \`voice-passport models fetch\` or \`models add\`.`);
      expect(fs.existsSync(fresh)).toBe(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  /** Starts src/server.ts; `lines` are its log lines as they come, `waitFor` resolves with the first whose msg matches. */
  function serve(env: Record<string, string>) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-process-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '..', 'src', 'server.ts')], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', VP_DATA_DIR: dir, VP_WORKERS: '1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Array<Record<string, any>> = [];
    const waiting: Array<{ msg: RegExp; resolve: (line: Record<string, any>) => void }> = [];
    let buffered = '';
    child.stdout.on('data', (d) => {
      buffered += d;
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, i)) as Record<string, any>;
        buffered = buffered.slice(i + 1);
        lines.push(line);
        for (const w of waiting.filter((w) => w.msg.test(line.msg))) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const waitFor = (msg: RegExp) => {
      const seen = lines.find((l) => msg.test(l.msg));
      return seen ? Promise.resolve(seen) : new Promise<Record<string, any>>((resolve) => waiting.push({ msg, resolve }));
    };
    return { child, dir, lines, exited, waitFor, cleanUp: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }

  it('stops gracefully on SIGTERM: a request left half sent is cut at VP_SHUTDOWN_GRACE_MS, the process exits 0', async () => {
    const p = serve({ VP_SHUTDOWN_GRACE_MS: '1000' });
    try {
      const { port } = await p.waitFor(/^listening$/);
      const key = (JSON.parse(fs.readFileSync(path.join(p.dir, initialKeysFileName), 'utf8')) as { keys: Array<{ role: string; key: string }> }).keys.find((k) => k.role === 'enrolment')!.key;
      const half = net.connect(port as number, '127.0.0.1');
      half.on('error', () => undefined);
      let answer = '';
      half.on('data', (d) => (answer += d));
      const halfClosed = new Promise((resolve) => half.on('close', resolve));
      await new Promise((resolve) => half.once('connect', resolve));
      half.write(`PUT /v1/subjects/c-1/consent HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"noticeVersion":`);
      // The request reaches the app (it logs only when it ends): a moment to get there.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const signalled = Date.now();
      p.child.kill('SIGTERM');
      expect(await p.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(1000);
      await halfClosed;
      expect(answer).toBe('');
      const after = p.lines.slice(p.lines.findIndex((l) => l.msg === 'shutting down'));
      expect(after).toEqual([
        expect.objectContaining({ level: 30, signal: 'SIGTERM', msg: 'shutting down' }),
        expect.objectContaining({ level: 40, cutRequests: 1, graceMs: 1000, msg: 'requests still unfinished at the end of VP_SHUTDOWN_GRACE_MS were cut' }),
        // The cut request's own line: it never completed.
        expect.objectContaining({ msg: 'request aborted' }),
        expect.objectContaining({ level: 30, msg: 'stopped' }),
      ]);
    } finally {
      p.child.kill('SIGKILL');
      p.cleanUp();
    }
  }, 90_000);

  it('keeps a SIGTERM that comes while the model loads, stopping once started; a second one is logged, not obeyed', async () => {
    const p = serve({});
    try {
      await p.waitFor(/^starting$/);
      p.child.kill('SIGTERM');
      await p.waitFor(/^signal while starting/);
      p.child.kill('SIGTERM');
      expect(await p.exited).toEqual({ code: 0, signal: null });
      const stopping = p.lines.filter((l) => /signal|stopping|shutting|stopped|listening/.test(l.msg));
      expect(stopping).toEqual([
        expect.objectContaining({ level: 30, signal: 'SIGTERM', msg: 'signal while starting: stopping once started' }),
        expect.objectContaining({ level: 40, signal: 'SIGTERM', stoppingSince: 'SIGTERM', msg: 'already stopping; the process ends within 15000 ms' }),
        expect.objectContaining({ msg: 'listening' }),
        expect.objectContaining({ level: 30, signal: 'SIGTERM', msg: 'shutting down' }),
        expect.objectContaining({ level: 30, msg: 'stopped' }),
      ]);
    } finally {
      p.child.kill('SIGKILL');
      p.cleanUp();
    }
  }, 90_000);
});
