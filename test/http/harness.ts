/**
 * An in-process API for tests: a real store in a temp dir, the fake embedder, one key per role,
 * a movable clock shared by store and use cases, and `reopen()` to prove state survives a restart.
 */
import { Writable } from 'node:stream';
import type { Express } from 'express';
import request from 'supertest';
import { expect } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { defaultConsoleDir } from '../../src/http/console.js';
import { serveApp } from '../../src/http/http-server.js';
import { VerificationStreams } from '../../src/http/verification-stream.js';
import type { ModelCalibration } from '../../src/model/manifest.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, timedEmbedder, type Metrics } from '../../src/observability/metrics.js';
import { activeKeyExpiries, createKey } from '../../src/passport/api-keys.js';
import { ConsentNotices, defaultConsentNoticesDir } from '../../src/passport/consent-notices.js';
import { createPassportContext, type EnrolmentSettings, type PassportContext } from '../../src/passport/context.js';
import { defaultRetention, retentionSettings } from '../../src/passport/retention.js';
import type { Scorer } from '../../src/scoring/scorer.js';
import type { ApiKeyRole, Store } from '../../src/store/index.js';
import { movableClock, openTestStore, removeDir, tempDataDir, type MovableClock } from '../store/helpers.js';
import { FakeEmbedder, toneWav } from '../passport/fakes.js';

export interface Harness {
  app: Express;
  store: Store;
  ctx: PassportContext;
  embedder: FakeEmbedder;
  clock: MovableClock;
  metrics: Metrics;
  /** Streaming verification; its handshakes need a listening server (listen()). */
  streams: VerificationStreams;
  dataDir: string;
  /** Secret per role, and the key ids. */
  keys: Record<ApiKeyRole, string>;
  keyIds: Record<ApiKeyRole, string>;
  /** Log lines written by the app. */
  logLines: string[];
  auth(role: ApiKeyRole): { Authorization: string };
  /** Serves the app on a random local port, WebSocket upgrades included; closed by close(). */
  listen(): Promise<string>;
  /** Closes the store and opens it again on the same data dir (a restart), with other consent notices when given (a new notice published). */
  reopen(options?: { notices?: ConsentNotices }): void;
  close(): Promise<void>;
}

export interface HarnessOptions {
  enrolment?: Partial<EnrolmentSettings>;
  rateLimitPerMinute?: number;
  maxAudioSeconds?: number;
  /** The running model's calibration (its manifest's `calibration`); none by default. */
  calibration?: ModelCalibration;
  /** The running model's comparison (src/scoring/scorer.ts); plain cosines by default. */
  scorer?: Scorer;
  /** Streaming verification limits (VP_STREAM_MAX_OPEN, VP_STREAM_IDLE_SECONDS); 4 and 30 by default. */
  streamMaxOpen?: number;
  streamIdleSeconds?: number;
  /** The wall-clock slack beyond maxAudioSeconds (30 s in the service). */
  streamLifetimeSlackSeconds?: number;
  /** The consent notices; the repository's by default. */
  notices?: ConsentNotices;
  /** VP_RETENTION_DAYS, VP_HISTORY_RETENTION_DAYS and VP_CONSENT_RECORD_RETENTION_DAYS; the configuration's defaults by default. */
  retention?: { retentionDays: number; historyRetentionDays: number; consentRecordRetentionDays: number };
}

export function createHarness(options: HarnessOptions = {}): Harness {
  const dataDir = tempDataDir();
  const clock = movableClock('2026-03-01T09:00:00.000Z');
  const embedder = new FakeEmbedder();
  let notices = options.notices ?? ConsentNotices.load(defaultConsentNoticesDir());
  const logLines: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    }),
  );

  const h = {} as Harness;
  const servers: Server[] = [];
  const build = () => {
    const retention = retentionSettings({ ...defaultRetention, ...options.retention }, notices);
    const store = openTestStore(dataDir, { clock });
    const metrics = createMetrics({
      processMetrics: false,
      engine: { stats: () => ({ workers: 2, busy: 1, queued: 3 }) },
      keyExpiries: () => activeKeyExpiries(store),
    });
    const ctx = createPassportContext({
      store,
      embedder: timedEmbedder(embedder, metrics),
      notices,
      retention,
      clock,
      enrolment: { requiredSeconds: 8, requiredSamples: 2, ...options.enrolment },
      ...(options.calibration ? { calibration: options.calibration } : {}),
      ...(options.scorer ? { scorer: options.scorer } : {}),
    });
    const maxAudioSeconds = options.maxAudioSeconds ?? 30;
    const streams = new VerificationStreams({
      passport: ctx,
      maxAudioSeconds,
      maxOpen: options.streamMaxOpen ?? 4,
      idleSeconds: options.streamIdleSeconds ?? 30,
      ...(options.streamLifetimeSlackSeconds === undefined ? {} : { lifetimeSlackSeconds: options.streamLifetimeSlackSeconds }),
      metrics,
    });
    const app = buildApp({
      logger,
      readiness: [
        { name: 'database', ready: () => store.db.isOpen },
        { name: 'masterKey', ready: () => store.masterKeyCurrent() },
      ],
      api: { passport: ctx, rateLimitPerMinute: options.rateLimitPerMinute ?? 100_000, maxAudioSeconds, metrics, streams },
      consoleDir: defaultConsoleDir(),
    });
    Object.assign(h, { store, ctx, app, metrics, streams });
  };
  build();

  const keys = {} as Record<ApiKeyRole, string>;
  const keyIds = {} as Record<ApiKeyRole, string>;
  for (const role of ['telephony', 'enrolment', 'operator', 'admin'] as const) {
    const k = createKey(h.store, null, { role });
    keys[role] = k.key;
    keyIds[role] = k.id;
  }
  Object.assign(h, {
    embedder,
    clock,
    dataDir,
    keys,
    keyIds,
    logLines,
    auth: (role: ApiKeyRole) => ({ Authorization: `Bearer ${keys[role]}` }),
    reopen: (changed: { notices?: ConsentNotices } = {}) => {
      if (changed.notices) notices = changed.notices;
      h.store.close();
      build();
    },
    listen: async () => {
      const server = serveApp(createServer(h.app), h.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      return `127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: async () => {
      await h.streams.close();
      await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
      h.store.close();
      removeDir(dataDir);
    },
  });
  return h;
}

// --- calls the tests make again and again ---

export function consent(h: Harness, id: string, body: Record<string, unknown> = { noticeVersion: 'v2', channel: 'web', locale: 'en' }, role: ApiKeyRole = 'enrolment') {
  return request(h.app).put(`/v1/subjects/${id}/consent`).set(h.auth(role)).send(body);
}

export function enrolSample(h: Harness, id: string, audio: Uint8Array, contentType = 'audio/wav') {
  return request(h.app).post(`/v1/subjects/${id}/enrolments`).set(h.auth('enrolment')).set('Content-Type', contentType).send(Buffer.from(audio));
}

/** Consent (to notice v2, the current one, unless told) and two 5 s samples of the tone `freq`: enrolled (with the harness's 8 s / 2 samples). */
export async function consentAndEnrol(h: Harness, id: string, freq = 200, noticeVersion = 'v2'): Promise<void> {
  expect((await consent(h, id, { noticeVersion, channel: 'web', locale: 'en' })).status).toBe(200);
  expect((await enrolSample(h, id, toneWav({ freq, seconds: 5 }))).body.status).toBe('enrolling');
  // Another recording of the same voice: the same one again would count once (duplicate-sample).
  expect((await enrolSample(h, id, toneWav({ freq, seconds: 5, amplitude: 0.29 }))).body.status).toBe('enrolled');
}

export function verifyCall(h: Harness, id: string, audio: Uint8Array, query = '') {
  return request(h.app).post(`/v1/subjects/${id}/verifications${query}`).set(h.auth('telephony')).set('Content-Type', 'audio/wav').send(Buffer.from(audio));
}

export function getSubject(h: Harness, id: string) {
  return request(h.app).get(`/v1/subjects/${id}`).set(h.auth('enrolment'));
}

export function exportSubject(h: Harness, id: string) {
  return request(h.app).get(`/v1/subjects/${id}/export`).set(h.auth('enrolment'));
}

/** Every audit entry, oldest first. */
export async function auditEntries(h: Harness): Promise<Array<Record<string, unknown> & { action: string; outcome: string; details: Record<string, unknown> }>> {
  const res = await request(h.app).get('/v1/audit?limit=1000').set(h.auth('operator'));
  expect(res.status).toBe(200);
  return res.body.entries;
}
