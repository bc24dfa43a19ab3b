/**
 * How long the hourly retention sweep takes on a large store when little is due (its steady state):
 * a temporary store with N subjects, each with consent (half under notice v1, half under v2) and a
 * 192-dim voiceprint last used within the last year, --records verification records each spread over
 * the last 400 days, and one subject in fifty withdrawn six years ago (the consent record is all that
 * is left of them). Then `purgeAllExpired` is timed whole, three times each:
 *   - with the configuration's periods only (1095 / 400 / 1826 days);
 *   - with notice v2 stating shorter ones (300 / 200 / 1500 days), so every kind also runs its
 *     per-notice query (src/passport/retention.ts, noticeLimits).
 * The first run of each erases what is due (the withdrawn subjects' consent records; with the notice
 * limits, v2's older records); the next two find nothing, which is what the hourly sweep meets.
 * Then each purge's query alone (as `purge --dry-run` runs it), to show where that time goes.
 * Last, a second store filled the same way meets the notice limits' mass erasure as the service
 * runs it, in slices (src/passport/steps.ts, src/retention-sweep.ts): how long it takes in all, its
 * longest step, and the longest the event loop was held (perf_hooks.monitorEventLoopDelay), which is
 * how long a request arriving mid-sweep can wait. Run whole, the event loop is held for the whole
 * first run above.
 *
 *   node --import tsx scripts/bench/retention-sweep-bench.ts [--subjects 100000] [--records 5]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { seededRandom } from '../../src/evaluation/confidence.js';
import {
  countExpiredConsentRecords,
  countExpiredHistory,
  findExpiredVoiceprints,
  purgeAllExpired,
  type NoticeLimit,
  type RetentionSettings,
} from '../../src/passport/retention.js';
import { openStore } from '../../src/store/index.js';
import { round } from './stats.js';
import { randomVoiceprint } from './synthetic.js';
import { runInSlices, runThrough, type Steps } from '../../src/passport/steps.js';
import { sweepSliceMs } from '../../src/retention-sweep.js';

const { values } = parseArgs({ options: { subjects: { type: 'string', default: '100000' }, records: { type: 'string', default: '5' } } });
const n = Number(values.subjects);
const records = Number(values.records);
if (!(Number.isInteger(n) && n > 0 && Number.isInteger(records) && records >= 0)) throw new Error('--subjects must be a positive whole number, --records a whole number');

const day = 86_400_000;
const now = Date.parse('2026-12-01T00:00:00.000Z');
let clockMs = now;
const clock = () => new Date(clockMs);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-retention-bench-'));

/** A store of `n` subjects as described above, in a new folder under `dir`; the same every time (seeded). */
function fill(name: string) {
  const random = seededRandom(2);
  const embedding = () => randomVoiceprint(random);
  const t0 = performance.now();
  const store = openStore({ dataDir: path.join(dir, name), env: { VP_MASTER_KEY: randomBytes(32).toString('base64') }, clock });
  const verification = {
    policy: 'standard', decision: 'accept', reasons: [] as string[], score: 3, rawScore: 0.7, normalisedScore: null, threshold: 2, rawThreshold: 0.5,
    netSpeechSeconds: 4, channel: 'telephone', modelId: 'vp-resnet-v9', actorKeyId: null, transport: 'request',
  } as const;
  let withdrawn = 0;
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const p = store.pseudonymise(`customer-${i}`);
      if (i % 50 === 0) {
        clockMs = now - 6 * 365 * day;
        store.consents.give(p, { noticeVersion: i % 100 === 0 ? 'v1' : 'v2', channel: 'app', actorKeyId: null });
        store.erasure.eraseWithinTransaction(p, { reason: 'subject-request', actorKeyId: null });
        withdrawn++;
        continue;
      }
      clockMs = now - 500 * day;
      store.consents.give(p, { noticeVersion: i % 2 === 0 ? 'v1' : 'v2', channel: 'ivr', actorKeyId: null });
      store.voiceprints.completeEnrolment(p, { embedding: embedding(), modelId: 'vp-resnet-v9', sampleCount: 2, netSpeechSeconds: 20 });
      for (let k = 0; k < records; k++) {
        clockMs = now - Math.floor(random() * 400 * day);
        store.verifications.record(p, verification);
      }
      clockMs = now - Math.floor(random() * 365 * day);
      store.subjects.touch(p);
    }
  });
  clockMs = now;
  return { store, withdrawn, fillMs: performance.now() - t0 };
}

/** The steps as they are, each timed into `durations`. */
function* timedSteps<T>(steps: Steps<T>, durations: number[]): Steps<T> {
  for (;;) {
    const t = performance.now();
    const r = steps.next();
    durations.push(performance.now() - t);
    if (r.done) return r.value;
    yield;
  }
}

try {
  const { store, withdrawn, fillMs } = fill('through');

  const configured = { retentionDays: 1095, historyRetentionDays: 400, consentRecordRetentionDays: 1826, auditRetentionDays: null };
  const v2Limit: NoticeLimit = { noticeVersion: 'v2', voiceprintUnusedDays: 300, verificationHistoryDays: 200, consentRecordDays: 1500 };
  const sweep = (settings: RetentionSettings) => {
    const runs = [0, 1, 2].map(() => {
      const t = performance.now();
      const r = runThrough(purgeAllExpired(store, settings, { now: clock() }));
      return { milliseconds: round(performance.now() - t, 1), voiceprints: r.voiceprints.purged, verifications: r.history.erased, consentRecords: r.consentRecords.erased };
    });
    return runs;
  };
  const plain = sweep({ ...configured, noticeLimits: [] });
  const limited = sweep({ ...configured, noticeLimits: [v2Limit] });
  // Where the steady state's time goes: each purge's query alone (the dry run's), nothing being due.
  const timed = (f: () => unknown) => {
    const t = performance.now();
    f();
    return round(performance.now() - t, 1);
  };
  const queries = (noticeLimits: NoticeLimit[]) => ({
    voiceprints: timed(() => findExpiredVoiceprints(store, { retentionDays: configured.retentionDays, now: clock(), noticeLimits })),
    verifications: timed(() => countExpiredHistory(store, { historyRetentionDays: configured.historyRetentionDays, now: clock(), noticeLimits })),
    consentRecords: timed(() => countExpiredConsentRecords(store, { consentRecordDays: configured.consentRecordRetentionDays, now: clock(), noticeLimits })),
  });
  const queryMilliseconds = { configuredOnly: queries([]), withNoticeLimits: queries([v2Limit]) };
  const storeDir = path.join(dir, 'through');
  const dbBytes = fs.statSync(path.join(storeDir, fs.readdirSync(storeDir).find((f) => f.endsWith('.db'))!)).size;
  store.close();

  // The mass erasure again, on a fresh store, as the service runs it.
  const second = fill('sliced').store;
  const steps: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t = performance.now();
  const r = await runInSlices(timedSteps(purgeAllExpired(second, { ...configured, noticeLimits: [v2Limit] }, { now: clock() }), steps), { sliceMs: sweepSliceMs });
  const slicedMs = performance.now() - t;
  loop.disable();
  second.close();
  const sorted = [...steps].sort((a, b) => a - b);
  const inSlices = {
    sliceMs: sweepSliceMs,
    milliseconds: round(slicedMs, 1),
    voiceprints: r.voiceprints.purged,
    verifications: r.history.erased,
    steps: steps.length,
    stepMilliseconds: { p50: round(sorted[Math.floor(sorted.length / 2)]!, 2), p99: round(sorted[Math.floor(sorted.length * 0.99)]!, 2), max: round(sorted.at(-1)!, 1) },
    // The histogram counts in nanoseconds how late its 1 ms timer ran: the event loop's longest hold.
    eventLoopHeldMilliseconds: { p99: round(loop.percentile(99) / 1e6, 1), max: round(loop.max / 1e6, 1) },
  };

  console.log(
    JSON.stringify(
      {
        subjects: n,
        withdrawnLongAgo: withdrawn,
        verificationRecords: (n - withdrawn) * records,
        databaseMiB: round(dbBytes / 2 ** 20, 1),
        fillSeconds: round(fillMs / 1000, 1),
        sweepConfiguredOnly: plain,
        sweepWithNoticeLimits: limited,
        firstSweepWithNoticeLimitsInSlices: inSlices,
        queryMilliseconds,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        loadAverage: os.loadavg().map((x) => round(x, 2)),
      },
      null,
      2,
    ),
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
