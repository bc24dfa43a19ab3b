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
 * Last, each purge's query alone (as `purge --dry-run` runs it), to show where that time goes.
 *
 *   node --import tsx scripts/bench/retention-sweep-bench.ts [--subjects 100000] [--records 5]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
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

const { values } = parseArgs({ options: { subjects: { type: 'string', default: '100000' }, records: { type: 'string', default: '5' } } });
const n = Number(values.subjects);
const records = Number(values.records);
if (!(Number.isInteger(n) && n > 0 && Number.isInteger(records) && records >= 0)) throw new Error('--subjects must be a positive whole number, --records a whole number');

const day = 86_400_000;
const now = Date.parse('2026-12-01T00:00:00.000Z');
let clockMs = now;
const clock = () => new Date(clockMs);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-retention-bench-'));
try {
  const random = seededRandom(2);
  const embedding = () => randomVoiceprint(random);
  const t0 = performance.now();
  const store = openStore({ dataDir: dir, env: { VP_MASTER_KEY: randomBytes(32).toString('base64') }, clock });
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
  const fillMs = performance.now() - t0;

  const configured = { retentionDays: 1095, historyRetentionDays: 400, consentRecordRetentionDays: 1826, auditRetentionDays: null };
  const v2Limit: NoticeLimit = { noticeVersion: 'v2', voiceprintUnusedDays: 300, verificationHistoryDays: 200, consentRecordDays: 1500 };
  const sweep = (settings: RetentionSettings) => {
    const runs = [0, 1, 2].map(() => {
      const t = performance.now();
      const r = purgeAllExpired(store, settings, { now: clock() });
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
  const dbBytes = fs.statSync(path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.db'))!)).size;
  store.close();

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
