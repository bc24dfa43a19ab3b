/**
 * Backups and restores of the store (GDPR Art. 32(1)(c): the ability to restore the availability of
 * and access to personal data in a timely manner after an incident).
 *
 * A backup is a consistent copy of the database (`VACUUM INTO`, taken while the service runs): the
 * wrapped keys and ciphertexts, never the master key, so it opens only with the master key the
 * store was under when it was taken. Rows erased before it are not in it (only live pages are
 * copied).
 *
 * A restore must not bring back what was erased after the backup (Art. 17, 7(3)), nor API keys
 * revoked since. So it is staged beside the database: the backup is copied into a folder of the data
 * directory, checked (integrity, audit chain), and, when the database it replaces is a later state of
 * it (its audit chain holds the backup's newest entry, same hash), every erasure and key revocation
 * that log records after that entry is applied again to the staged copy. Only then does the staged
 * file replace the database, by one rename. The service must be stopped meanwhile.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { VoicePassportError } from '../errors.js';
import { AuditLog, type AuditEntry, type AuditHead } from './audit-log.js';
import { systemClock, type Clock } from './clock.js';
import { Database, databaseFileName } from './database.js';
import type { ErasureReason } from './erasure.js';
import { openStoreWithoutMasterKey, type StoreWithoutMasterKey } from './index.js';
import { recordedCheckValue } from './master-key-check.js';

export interface BackupReceipt {
  file: string;
  bytes: number;
  sha256: string;
  /** The newest audit entry the backup holds; a restore re-applies what the live log records after it. */
  auditHead: AuditHead | null;
  /** Seq of the `store.backed-up` entry the live log got for it. */
  auditSeq: number;
}

export interface RestoreReceipt {
  backup: { file: string; sha256: string; auditHead: AuditHead | null };
  /** The newest audit entry of the database replaced; null when the data directory had none. */
  replacedAuditHead: AuditHead | null;
  /** What was applied again from the replaced database's log; null when there was none to read. */
  reapplied: { erasures: number; keyRevocations: number } | null;
  /** Seq of the `store.restored` entry. */
  auditSeq: number;
  /** For the operator (never key material). */
  warnings: string[];
}

/** Copies the store to `file`, a new file (0600), and records the backup in the audit log. */
export function backupStore(store: StoreWithoutMasterKey, file: string): BackupReceipt {
  const target = path.resolve(file);
  try {
    // 'wx': never overwrite; VACUUM INTO then fills this empty 0600 file.
    fs.closeSync(fs.openSync(target, 'wx', 0o600));
  } catch (e) {
    throw new VoicePassportError('validation-failed', `Cannot create the backup file ${target}: ${(e as Error).message}. Name a new file.`);
  }
  try {
    store.db.copyTo(target);
  } catch (e) {
    fs.rmSync(target, { force: true });
    throw e;
  }
  const bytes = fs.statSync(target).size;
  const sha256 = sha256Of(target);
  const copy = Database.openReadOnly(target);
  let auditHead: AuditHead | null;
  try {
    auditHead = new AuditLog(copy, systemClock).head();
  } finally {
    copy.close();
  }
  const entry = store.audit.append({
    action: 'store.backed-up',
    actorKeyId: 'cli',
    subjectPseudonym: null,
    outcome: 'ok',
    details: { file: path.basename(target), bytes, sha256, auditHeadSeq: auditHead?.seq ?? 0 },
  });
  return { file: target, bytes, sha256, auditHead, auditSeq: entry.seq };
}

/**
 * Replaces the data directory's database with the backup in `file`, applying again the erasures and
 * key revocations the replaced database recorded after the backup. Refuses (and changes nothing)
 * when the backup is damaged or the database there is not a later state of the backup.
 */
export function restoreStore(options: { dataDir: string; file: string; clock?: Clock }): RestoreReceipt {
  const open = (dir: string) => openStoreWithoutMasterKey({ dataDir: dir, ...(options.clock ? { clock: options.clock } : {}) });
  const source = path.resolve(options.file);
  if (!fs.existsSync(source)) throw new VoicePassportError('validation-failed', `There is no backup file ${source}.`);
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const live = path.join(dataDir, databaseFileName);
  const sha256 = sha256Of(source);
  // A restore that crashed left its staged copy here, holding what the backup held (erased
  // subjects included): it goes before anything else.
  for (const entry of fs.readdirSync(dataDir)) {
    if (entry.startsWith(stagingPrefix)) fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
  }
  const staging = fs.mkdtempSync(path.join(dataDir, stagingPrefix));
  try {
    const staged = path.join(staging, databaseFileName);
    fs.copyFileSync(source, staged);
    fs.chmodSync(staged, 0o600);
    const store = open(staging);
    let receipt: RestoreReceipt;
    try {
      const problems = store.db.integrityCheck();
      const chain = store.audit.verify();
      if (problems.length > 0 || !chain.ok) {
        throw new VoicePassportError('config-invalid', `The backup ${source} is damaged: ${problems.length > 0 ? problems.slice(0, 3).join('; ') : chain.problem}. Nothing was restored.`);
      }
      const backupHead = store.audit.head();
      const replaced = fs.existsSync(live) ? laterEvents(open(dataDir), backupHead, store) : null;
      const warnings: string[] = [];
      if (replaced === null) {
        warnings.push(
          `There was no database in ${dataDir} to take later erasures from: erase again every subject whose erasure or withdrawal your exported audit trail records after seq ${backupHead?.seq ?? 0} of this backup (GDPR Art. 17), and revoke again the API keys revoked since.`,
        );
      } else if (replaced.masterKeyCheck !== undefined && replaced.masterKeyCheck !== recordedCheckValue(store.db)) {
        warnings.push('The backup was taken under another master key than the database it replaced: start the service with the master key of the backup, then rotate to the current one (VP_PREVIOUS_MASTER_KEY).');
      }
      for (const e of replaced?.erasures ?? []) store.erasure.erase(e.pseudonym, { reason: e.reason, actorKeyId: 'cli' });
      for (const keyId of replaced?.keyRevocations ?? []) {
        const key = store.apiKeys.revoke(keyId)!;
        store.audit.append({ action: 'key.revoked', actorKeyId: 'cli', subjectPseudonym: null, outcome: 'ok', details: { keyId, role: key.role } });
      }
      const reapplied = replaced === null ? null : { erasures: replaced.erasures.length, keyRevocations: replaced.keyRevocations.length };
      const entry = store.audit.append({
        action: 'store.restored',
        actorKeyId: 'cli',
        subjectPseudonym: null,
        outcome: 'ok',
        details: { sha256, backupAuditHeadSeq: backupHead?.seq ?? 0, replacedAuditHeadSeq: replaced?.head?.seq ?? null, reapplied },
      });
      receipt = { backup: { file: source, sha256, auditHead: backupHead }, replacedAuditHead: replaced?.head ?? null, reapplied, auditSeq: entry.seq, warnings };
    } finally {
      store.close();
    }
    // SQLite removes -wal and -shm when the last connection closes, and laterEvents closed its own:
    // if they are still there, another process has the database open (the service). Renaming over
    // it then would leave that process writing to a file no one reads, and its WAL beside ours.
    if (['-wal', '-shm'].some((suffix) => fs.existsSync(`${live}${suffix}`))) {
      throw new VoicePassportError('config-invalid', `The database in ${dataDir} is open in another process (the service?): stop it, then restore. Nothing was restored.`);
    }
    fs.renameSync(staged, live);
    fsyncDir(dataDir);
    return receipt;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

const stagingPrefix = '.restore-';

interface LaterEvents {
  head: AuditHead | null;
  masterKeyCheck: string | undefined;
  erasures: Array<{ pseudonym: string; reason: ErasureReason }>;
  keyRevocations: string[];
}

const erasureActions: ReadonlySet<AuditEntry['action']> = new Set(['subject.erased', 'consent.withdrawn', 'retention.purged']);

/** What the replaced database recorded after the backup's newest entry; refuses when it does not descend from the backup. */
function laterEvents(current: StoreWithoutMasterKey, backupHead: AuditHead | null, backup: StoreWithoutMasterKey): LaterEvents {
  try {
    // An empty log in the backup proves no descent from it, unless the replaced log is empty too.
    const same = backupHead === null ? undefined : current.audit.list({ afterSeq: backupHead.seq - 1, limit: 1 })[0];
    const descends = backupHead === null ? current.audit.head() === null : same?.seq === backupHead.seq && same.hash === backupHead.hash;
    if (!descends) {
      throw new VoicePassportError(
        'config-invalid',
        `The database in this data directory is not a later state of the backup (its audit log does not hold the backup's newest entry, seq ${backupHead?.seq ?? 0}), so the erasures it records cannot be matched to the backup. Move it away (keep it until the restore is checked) and restore again. Nothing was restored.`,
      );
    }
    const out: LaterEvents = { head: current.audit.head(), masterKeyCheck: recordedCheckValue(current.db), erasures: [], keyRevocations: [] };
    let after = backupHead?.seq ?? 0;
    for (;;) {
      const page = current.audit.list({ afterSeq: after, limit: 1000 });
      for (const e of page) {
        if (erasureActions.has(e.action) && e.outcome === 'erased' && e.subjectPseudonym !== null) {
          out.erasures.push({ pseudonym: e.subjectPseudonym, reason: e.details.reason as ErasureReason });
        } else if (e.action === 'key.revoked' && typeof e.details.keyId === 'string' && backup.apiKeys.findById(e.details.keyId) !== undefined) {
          out.keyRevocations.push(e.details.keyId);
        }
      }
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.seq;
    }
  } finally {
    current.close();
  }
}

/** SHA-256 of a file read in 1 MiB pieces, so a large database is never held in memory whole. */
function sha256Of(file: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n = fs.readSync(fd, chunk); n > 0; n = fs.readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
