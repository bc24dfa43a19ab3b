/**
 * How long GET /v1/operator/stats takes to aggregate (src/passport/stats.ts, operatorStats) as the
 * verification history grows: a store in a temporary folder filled with N synthetic verifications
 * over 30 days (two policies, both channels and calls that analysed no audio, every decision,
 * calibrated and AS-norm scores, inconclusive reasons; an outcome reported for one in fifty of the
 * calls that compared a voice), then the statistics over the whole history and over its last day,
 * timed after a warm-up, and the reported outcomes' query on its own.
 *
 *   node --import tsx scripts/bench/operator-stats-bench.ts [--verifications 200000] [--runs 20]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { operatorStats } from '../../src/passport/stats.js';
import type { PassportContext } from '../../src/passport/context.js';
import { seededRandom } from '../../src/evaluation/confidence.js';
import { openStoreWithoutMasterKey, verificationDecisions } from '../../src/store/index.js';
import { round, summarise } from './stats.js';

const { values } = parseArgs({ options: { verifications: { type: 'string', default: '200000' }, runs: { type: 'string', default: '20' } } });
const n = Number(values.verifications);
const runs = Number(values.runs);
if (!(Number.isInteger(n) && n > 0 && Number.isInteger(runs) && runs > 0)) throw new Error('--verifications and --runs must be positive whole numbers');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-stats-bench-'));
const start = Date.parse('2026-11-01T00:00:00Z');
const span = 30 * 24 * 3600 * 1000;
let at = start;
const store = openStoreWithoutMasterKey({ dataDir: dir, clock: () => new Date(at) });
try {
  const random = seededRandom(1);
  const t0 = performance.now();
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      at = start + Math.floor((i / n) * span);
      const decision = verificationDecisions[Math.floor(random() * verificationDecisions.length)]!;
      const analysed = decision === 'accept' || decision === 'reject' || decision === 'inconclusive';
      const s = random() * 16 - 4;
      const record = store.verifications.record(`pseudonym-${i % 5000}`, {
        policy: random() < 0.8 ? 'standard' : 'high',
        decision,
        reasons: decision === 'inconclusive' ? [random() < 0.7 ? 'too-little-speech' : 'low-snr'] : [],
        score: analysed ? s * 2.8 - 7 : null,
        rawScore: analysed ? Math.tanh(s / 8) : null,
        normalisedScore: analysed ? s : null,
        threshold: analysed ? 3 : null,
        rawThreshold: analysed ? 3.9 : null,
        netSpeechSeconds: analysed ? 1 + random() * 9 : null,
        channel: analysed ? (random() < 0.6 ? 'telephone' : 'wideband') : null,
        modelId: 'vp-resnet-v9',
        actorKeyId: null,
        transport: random() < 0.3 ? 'stream' : 'request',
      });
      if (analysed && i % 50 === 0) store.outcomes.report(record.id, { truth: i % 500 === 0 ? 'impostor' : 'genuine', source: 'step-up', actorKeyId: null });
    }
  });
  const fillMs = performance.now() - t0;
  const ctx = { store } as unknown as PassportContext;
  const time = (query: { from?: string; to?: string }, f: (q: typeof query) => unknown = (q) => operatorStats(ctx, q)) => {
    f(query);
    const samples: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      f(query);
      samples.push(performance.now() - t);
    }
    return summarise(samples);
  };
  const dayQuery = { from: new Date(start + span - 24 * 3600 * 1000).toISOString() };
  const whole = time({});
  const lastDay = time(dayQuery);
  // The reported outcomes' share of it (src/store/outcome-repository.ts, counts).
  const outcomes = { wholeHistory: time({}, (q) => store.outcomes.counts(q)), lastDay: time(dayQuery, (q) => store.outcomes.counts(q)) };
  console.log(JSON.stringify({ verifications: n, fillMs: round(fillMs), runs, wholeHistory: whole, lastDay, outcomesQuery: outcomes }, null, 2));
  console.log(`| operator stats | ${n} verifications | whole history p50 ${whole.p50Ms} ms, p99 ${whole.p99Ms} ms | last day p50 ${lastDay.p50Ms} ms, p99 ${lastDay.p99Ms} ms |`);
} finally {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
