/**
 * How long a master key rotation holds up a start (src/store/master-key-rotation.ts): a store in a
 * temporary folder with N enrolled subjects (192-dim voiceprints, as the default model's) and, for
 * one in ten, an enrolment in progress with two samples, then `openStore` with a new key and the
 * old one as the previous key, timed whole (re-keying, the new check value, the audit entry, the
 * commit and the WAL checkpoint), and the plain reopen after it for comparison.
 *
 *   node --import tsx scripts/bench/master-key-rotation-bench.ts [--subjects 100000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { openStore } from '../../src/store/index.js';
import { seededRandom } from '../../src/evaluation/confidence.js';
import { round } from './stats.js';

const { values } = parseArgs({ options: { subjects: { type: 'string', default: '100000' } } });
const n = Number(values.subjects);
if (!(Number.isInteger(n) && n > 0)) throw new Error('--subjects must be a positive whole number');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-rekey-bench-'));
const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
try {
  const random = seededRandom(1);
  const embedding = () => {
    const v = Float32Array.from({ length: 192 }, () => random() - 0.5);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const t0 = performance.now();
  const store = openStore({ dataDir: dir, env: { VP_MASTER_KEY: oldKey } });
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const p = store.pseudonymise(`customer-${i}`);
      store.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', actorKeyId: null });
      store.voiceprints.completeEnrolment(p, { embedding: embedding(), modelId: 'vp-resnet-v9', sampleCount: 2, netSpeechSeconds: 20 });
      if (i % 10 === 0) {
        for (let k = 0; k < 2; k++) store.voiceprints.addEnrolmentSample(p, { embedding: embedding(), modelId: 'vp-resnet-v9', netSpeechSeconds: 10 });
      }
    }
  });
  store.close();
  const fillMs = performance.now() - t0;
  const dbBytes = fs.statSync(path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.db'))!)).size;

  const t1 = performance.now();
  const rotated = openStore({ dataDir: dir, env: { VP_MASTER_KEY: newKey, VP_PREVIOUS_MASTER_KEY: oldKey } });
  const rotationMs = performance.now() - t1;
  const rotation = rotated.masterKeyRotation;
  rotated.close();

  const t2 = performance.now();
  openStore({ dataDir: dir, env: { VP_MASTER_KEY: newKey } }).close();
  const reopenMs = performance.now() - t2;

  const report = {
    subjects: n,
    databaseMiB: round(dbBytes / 2 ** 20, 1),
    fillSeconds: round(fillMs / 1000, 1),
    rotation,
    rotationSeconds: round(rotationMs / 1000, 2),
    perSubjectMicroseconds: round((rotationMs * 1000) / n, 1),
    reopenMilliseconds: round(reopenMs, 1),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    loadAverage: os.loadavg().map((x) => round(x, 2)),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
