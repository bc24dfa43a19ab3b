/**
 * How long the store's maintenance takes on a large store (src/store): a temporary store with N
 * enrolled subjects (192-dim voiceprints, as the default model's) and, for one in ten, an enrolment
 * in progress with two samples, then, timed whole:
 *   - the start that rotates the master key (`openStore` with the old key as the previous one:
 *     re-keying, the new check value, the audit entry, the commit and the WAL checkpoint), and the
 *     plain reopen after it;
 *   - a backup (`backupStore`: VACUUM INTO, its sha256, its audit head), in the clear;
 *   - a restore of that backup over the store after --erasures subjects were erased, which applies
 *     those erasures again (`restoreStore`);
 *   - the same two with the backup encrypted to an age recipient (the plain copy, then its
 *     encryption; the decryption into the staged copy), after --erasures more erasures.
 *
 *   node --import tsx scripts/bench/store-maintenance-bench.ts [--subjects 100000] [--erasures 100]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { backupStore, restoreStore } from '../../src/store/backup.js';
import { newIdentity } from '../../src/store/backup-encryption.js';
import { openStore } from '../../src/store/index.js';
import { seededRandom } from '../../src/evaluation/confidence.js';
import { round } from './stats.js';
import { randomVoiceprint } from './synthetic.js';

const { values } = parseArgs({ options: { subjects: { type: 'string', default: '100000' }, erasures: { type: 'string', default: '100' } } });
const n = Number(values.subjects);
const erasures = Number(values.erasures);
if (!(Number.isInteger(n) && n > 0 && Number.isInteger(erasures) && erasures >= 0 && erasures <= n)) {
  throw new Error('--subjects must be a positive whole number, --erasures a whole number up to it');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-store-bench-'));
const backupFile = path.join(os.tmpdir(), `vp-store-bench-${process.pid}.vpbak`);
const encryptedFile = `${backupFile}.age`;
const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
try {
  const random = seededRandom(1);
  const embedding = () => randomVoiceprint(random);
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
  const reopened = openStore({ dataDir: dir, env: { VP_MASTER_KEY: newKey } });
  const reopenMs = performance.now() - t2;

  const eraseFrom = (s: typeof reopened, first: number) => {
    for (let i = first; i < first + erasures; i++) s.erasure.erase(s.pseudonymise(`customer-${i}`), { reason: 'subject-request', actorKeyId: null });
  };
  const t3 = performance.now();
  const backup = await backupStore(reopened, backupFile, 'bench', null);
  const backupMs = performance.now() - t3;
  eraseFrom(reopened, 0);
  reopened.close();

  const t4 = performance.now();
  const restore = await restoreStore({ actorKeyId: 'bench', dataDir: dir, file: backupFile });
  const restoreMs = performance.now() - t4;

  const identity = await newIdentity(new Date());
  const restored = openStore({ dataDir: dir, env: { VP_MASTER_KEY: newKey } });
  const t5 = performance.now();
  const encrypted = await backupStore(restored, encryptedFile, 'bench', [identity.recipient]);
  const encryptedBackupMs = performance.now() - t5;
  eraseFrom(restored, erasures);
  restored.close();
  const t6 = performance.now();
  const encryptedRestore = await restoreStore({ actorKeyId: 'bench', dataDir: dir, file: encryptedFile, identities: [identity.identity] });
  const encryptedRestoreMs = performance.now() - t6;

  const report = {
    subjects: n,
    databaseMiB: round(dbBytes / 2 ** 20, 1),
    fillSeconds: round(fillMs / 1000, 1),
    rotation,
    rotationSeconds: round(rotationMs / 1000, 2),
    perSubjectMicroseconds: round((rotationMs * 1000) / n, 1),
    reopenMilliseconds: round(reopenMs, 1),
    backupBytes: backup.bytes,
    backupSeconds: round(backupMs / 1000, 2),
    restoreReapplied: restore.reapplied,
    restoreSeconds: round(restoreMs / 1000, 2),
    encryptedBackupBytes: encrypted.bytes,
    encryptedBackupSeconds: round(encryptedBackupMs / 1000, 2),
    encryptedRestoreReapplied: encryptedRestore.reapplied,
    encryptedRestoreSeconds: round(encryptedRestoreMs / 1000, 2),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    loadAverage: os.loadavg().map((x) => round(x, 2)),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(backupFile, { force: true });
  fs.rmSync(encryptedFile, { force: true });
}
