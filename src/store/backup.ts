/**
 * Backups and restores of the store (GDPR Art. 32(1)(c): the ability to restore the availability of
 * and access to personal data in a timely manner after an incident).
 *
 * A backup is a consistent copy of the database (`VACUUM INTO`, taken while the service runs): the
 * wrapped keys and ciphertexts, never the master key, so it opens only with the master key the
 * store was under when it was taken. Rows erased before it are not in it (only live pages are
 * copied). Encrypted to age recipients (backup-encryption.ts), the copy is made in a work folder of
 * the data directory and only its ciphertext leaves it.
 *
 * A restore must not bring back what was erased after the backup (Art. 17, 7(3)), nor API keys
 * revoked since. So it is staged beside the database: the backup is copied into a folder of the data
 * directory, checked (integrity, audit chain), and every erasure and key revocation recorded after
 * the backup's newest audit entry is applied again to the staged copy. They are read from the
 * database being replaced, when it is a later state of the backup (its audit chain holds that entry,
 * same hash), or, when it is lost, from an audit log exported since (GET /v1/audit), whose chain
 * must continue the backup's. Only then does the staged file replace the database, by one rename.
 * The service must be stopped meanwhile.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import { ageFormatOf, decryptFile, encryptFile } from './backup-encryption.js';
import { AuditLog, genesisHash, hashBreak, linkBreak, type AuditEntry, type AuditHead } from './audit-log.js';
import { systemClock, type Clock } from './clock.js';
import { Database, databaseFileName } from './database.js';
import type { ErasureReason } from './erasure.js';
import { openStoreWithoutMasterKey, type StoreWithoutMasterKey } from './index.js';
import { recordedCheckValue } from './master-key-check.js';

export interface BackupReceipt {
  file: string;
  /** Size and sha256 of the file as written (the ciphertext, when encrypted). */
  bytes: number;
  sha256: string;
  /** `age` with the recipients (public keys) whose identities open it, or `none`. */
  encryption: { format: 'age'; recipients: string[] } | { format: 'none' };
  /** The newest audit entry the backup holds; a restore re-applies what the live log records after it. */
  auditHead: AuditHead | null;
  /** Seq of the `store.backed-up` entry the live log got for it. */
  auditSeq: number;
}

export interface RestoreReceipt {
  backup: { file: string; sha256: string; encrypted: boolean; auditHead: AuditHead | null };
  /**
   * What was applied again, from the replaced database's audit log or from an exported one, read up
   * to its newest entry `upTo`; null when there was neither.
   */
  reapplied: { from: 'database' | 'audit-export'; upTo: AuditHead | null; erasures: number; keyRevocations: number } | null;
  /** Seq of the `store.restored` entry. */
  auditSeq: number;
  /** For the operator (never key material). */
  warnings: string[];
}

/**
 * Copies the store to `file`, a new file (0600), and records the backup in the audit log under
 * `actorKeyId`. With `recipients` (age, checked by the caller) the copy is encrypted to them; null
 * writes it in the clear, which the caller must have asked for.
 */
export async function backupStore(store: StoreWithoutMasterKey, file: string, actorKeyId: string, recipients: readonly string[] | null): Promise<BackupReceipt> {
  const target = path.resolve(file);
  try {
    // 'wx': never overwrite; VACUUM INTO or the encryption then fills this empty 0600 file.
    fs.closeSync(fs.openSync(target, 'wx', 0o600));
  } catch (e) {
    throw new VoicePassportError('validation-failed', `Cannot create the backup file ${target}: ${(e as Error).message}. Name a new file.`);
  }
  const dataDir = path.dirname(store.db.path);
  removeStaleWorkFolders(dataDir);
  // The plain copy of an encrypted backup is made beside the database, never beside the backup.
  const work = recipients === null ? undefined : fs.mkdtempSync(path.join(dataDir, ownBackupWorkPrefix()));
  try {
    const copy = work === undefined ? target : path.join(work, databaseFileName);
    if (work !== undefined) fs.closeSync(fs.openSync(copy, 'wx', 0o600));
    store.db.copyTo(copy);
    const auditHead = auditHeadOf(copy);
    const written = recipients === null ? { bytes: fs.statSync(target).size, sha256: sha256Of(target) } : await encryptFile(copy, target, recipients);
    const encryption: BackupReceipt['encryption'] = recipients === null ? { format: 'none' } : { format: 'age', recipients: [...recipients] };
    const entry = store.audit.append({
      action: 'store.backed-up',
      actorKeyId,
      subjectPseudonym: null,
      outcome: 'ok',
      details: { file: path.basename(target), ...written, auditHeadSeq: auditHead?.seq ?? 0, encryption },
    });
    return { file: target, ...written, encryption, auditHead, auditSeq: entry.seq };
  } catch (e) {
    fs.rmSync(target, { force: true });
    throw e;
  } finally {
    if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
  }
}

function auditHeadOf(databaseFile: string): AuditHead | null {
  const copy = Database.openReadOnly(databaseFile);
  try {
    return new AuditLog(copy, systemClock).head();
  } finally {
    copy.close();
  }
}

/**
 * Replaces the data directory's database with the backup in `file`, applying again the erasures and
 * key revocations recorded after the backup: by the database it replaces, or, when that is lost, in
 * `auditExport`, the audit log as `GET /v1/audit` pages (or their entries, as a JSON array or one
 * per line) exported since, whose hash chain must continue the backup's. Refuses (and changes
 * nothing) when the backup is damaged, or the database or export does not continue it.
 */
export async function restoreStore(options: {
  dataDir: string;
  file: string;
  /** age identities (AGE-SECRET-KEY-1…), for an encrypted backup. */
  identities?: readonly string[];
  auditExport?: string;
  actorKeyId: string;
  clock?: Clock;
}): Promise<RestoreReceipt> {
  const { actorKeyId } = options;
  const identities = options.identities ?? [];
  const open = (dir: string) => openStoreWithoutMasterKey({ dataDir: dir, ...(options.clock ? { clock: options.clock } : {}) });
  const source = path.resolve(options.file);
  if (!fs.existsSync(source)) throw new VoicePassportError('validation-failed', `There is no backup file ${source}.`);
  // A folder or an unreadable file is the operator's slip, not an internal fault (EISDIR, EACCES).
  if (!fs.statSync(source).isFile()) {
    throw new VoicePassportError('validation-failed', `${source} is not a file: name the backup file made by voice-passport backup. Nothing was restored.`);
  }
  let format: ReturnType<typeof ageFormatOf>;
  try {
    format = ageFormatOf(source);
  } catch (e) {
    throw new VoicePassportError('validation-failed', `Cannot read the backup file ${source}: ${(e as Error).message}. Nothing was restored.`);
  }
  if (format === 'armored') {
    throw new VoicePassportError('validation-failed', `The backup ${source} is an ASCII-armored age file: decrypt it first (age -d -i IDENTITY_FILE ${source} > backup.db) and restore that. Nothing was restored.`);
  }
  if (format === 'binary' && identities.length === 0) {
    throw new VoicePassportError('validation-failed', `The backup ${source} is encrypted (age): give the identity file that opens it (--identity FILE). Nothing was restored.`);
  }
  const dataDir = path.resolve(options.dataDir);
  const live = path.join(dataDir, databaseFileName);
  const hasDatabase = fs.existsSync(live);
  if (hasDatabase && options.auditExport !== undefined) {
    throw new VoicePassportError('validation-failed', `${dataDir} holds a database, whose own audit log says what to apply again; an exported audit log is for a database that is lost. Nothing was restored.`);
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  removeStaleWorkFolders(dataDir);
  const staging = fs.mkdtempSync(path.join(dataDir, stagingPrefix));
  try {
    const staged = path.join(staging, databaseFileName);
    const sha256 = format === 'binary' ? await decryptFile(source, staged, identities) : sha256Of(source, staged);
    let store: StoreWithoutMasterKey;
    try {
      store = open(staging);
    } catch (e) {
      throw new VoicePassportError('config-invalid', `The backup ${source} is damaged or not a Voice Passport database (${(e as Error).message}). Nothing was restored.`);
    }
    let receipt: RestoreReceipt;
    try {
      const problems = store.db.integrityCheck();
      const chain = store.audit.verify();
      if (problems.length > 0 || !chain.ok) {
        throw new VoicePassportError('config-invalid', `The backup ${source} is damaged: ${problems.length > 0 ? problems.slice(0, 3).join('; ') : chain.problem}. Nothing was restored.`);
      }
      const backupHead = store.audit.head();
      const later = hasDatabase
        ? laterEventsInDatabase(open(dataDir), backupHead, store)
        : options.auditExport !== undefined
          ? laterEventsInExport(options.auditExport, backupHead, sha256, store)
          : null;
      const warnings: string[] = [];
      if (format === null && identities.length > 0) warnings.push(`The backup ${source} is not encrypted; the identities given were not needed.`);
      if (later === null) {
        warnings.push(
          `There was no database in ${dataDir} to take later erasures from, and no exported audit log (--audit-log): erase again every subject whose erasure or withdrawal your audit trail records after seq ${backupHead?.seq ?? 0} of this backup (GDPR Art. 17), and revoke again the API keys revoked since.`,
        );
      } else if (later.masterKeyCheck !== undefined && later.masterKeyCheck !== recordedCheckValue(store.db)) {
        warnings.push('The backup was taken under another master key than the database it replaced: start the service with the master key of the backup, then rotate to the current one (VP_PREVIOUS_MASTER_KEY).');
      }
      for (const e of later?.erasures ?? []) store.erasure.erase(e.pseudonym, { reason: e.reason, actorKeyId });
      for (const keyId of later?.keyRevocations ?? []) {
        const key = store.apiKeys.revoke(keyId)!;
        store.audit.append({ action: 'key.revoked', actorKeyId, subjectPseudonym: null, outcome: 'ok', details: { keyId, role: key.role } });
      }
      const reapplied = later === null ? null : { from: later.from, upTo: later.head, erasures: later.erasures.length, keyRevocations: later.keyRevocations.length };
      const entry = store.audit.append({
        action: 'store.restored',
        actorKeyId,
        subjectPseudonym: null,
        outcome: 'ok',
        details: { sha256, backupAuditHeadSeq: backupHead?.seq ?? 0, reapplied: reapplied && { ...reapplied, upTo: reapplied.upTo?.seq ?? 0 } },
      });
      receipt = { backup: { file: source, sha256, encrypted: format === 'binary', auditHead: backupHead }, reapplied, auditSeq: entry.seq, warnings };
    } finally {
      store.close();
    }
    // SQLite removes -wal and -shm when the last connection closes, and laterEventsInDatabase closed its own:
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
/**
 * `.backup-<pid>-<start>-…`: the plain copy an encrypted backup is made from, while that process
 * runs; `<start>` is when it started (ms), since a pid alone names another process after a restart
 * (a container's one-off command is pid 1 every time).
 */
const backupWorkPrefix = '.backup-';
const processStartMs = Math.round(Date.now() - process.uptime() * 1000);

/** The start of this process's backup work folders' names. */
export function ownBackupWorkPrefix(): string {
  return `${backupWorkPrefix}${process.pid}-${processStartMs}-`;
}

/**
 * Work folders a crashed backup or restore left in the data directory hold a plain copy of the
 * database, erased subjects included (GDPR Art. 17): they go before anything else. A restore's are
 * all stale (the service and other restores must be stopped); a backup's only when its process is gone.
 */
function removeStaleWorkFolders(dataDir: string): void {
  for (const entry of fs.readdirSync(dataDir)) {
    const stale = entry.startsWith(stagingPrefix) || (entry.startsWith(backupWorkPrefix) && !backupStillRuns(entry.slice(backupWorkPrefix.length)));
    if (stale) fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
  }
}

/** Whether the backup that made the work folder `<pid>-<start>-…` may still run: never this process's own from before it started. */
function backupStillRuns(name: string): boolean {
  const [pid, start] = name.split('-').map(Number) as [number, number | undefined];
  if (pid === process.pid) return start === processStartMs;
  return processRuns(pid);
}

function processRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LaterEvents {
  from: 'database' | 'audit-export';
  /** The newest entry read. */
  head: AuditHead | null;
  /** The replaced database's master key check value; undefined for an export. */
  masterKeyCheck: string | undefined;
  erasures: Array<{ pseudonym: string; reason: ErasureReason }>;
  keyRevocations: string[];
}

const erasureActions: ReadonlySet<AuditEntry['action']> = new Set(['subject.erased', 'consent.withdrawn', 'retention.purged']);

/** The erasures, withdrawals, purges and revocations (of keys the backup holds) among `entries`. */
function collect(entries: Iterable<AuditEntry>, backup: StoreWithoutMasterKey, into: LaterEvents): void {
  for (const e of entries) {
    // 'nothing-held' too: such an erasure still removed what no subject row links (a never-consenting
    // caller's kept answers), which a backup taken before it holds.
    if (erasureActions.has(e.action) && (e.outcome === 'erased' || e.outcome === 'nothing-held') && e.subjectPseudonym !== null) {
      into.erasures.push({ pseudonym: e.subjectPseudonym, reason: e.details.reason as ErasureReason });
    } else if (e.action === 'key.revoked' && typeof e.details.keyId === 'string' && backup.apiKeys.findById(e.details.keyId) !== undefined) {
      into.keyRevocations.push(e.details.keyId);
    }
  }
}

/** What the replaced database recorded after the backup's newest entry; refuses when it does not descend from the backup. */
function laterEventsInDatabase(current: StoreWithoutMasterKey, backupHead: AuditHead | null, backup: StoreWithoutMasterKey): LaterEvents {
  try {
    const pruned = current.audit.prunedThrough();
    if (backupHead !== null && pruned !== null && backupHead.seq < pruned.seq) {
      throw new VoicePassportError(
        'config-invalid',
        `The database's audit log was pruned (VP_AUDIT_RETENTION_DAYS) through entry ${pruned.seq}, past the backup's newest entry, seq ${backupHead.seq}, so the erasures recorded since the backup can no longer all be read from it. Move the database away and restore with the audit log exported since the backup (--audit-log). Nothing was restored.`,
      );
    }
    // An empty log in the backup proves no descent from it, unless the replaced log is empty too.
    // The backup's newest entry may be the one a pruned log continues from.
    const same = backupHead === null ? undefined : pruned?.seq === backupHead.seq ? pruned : current.audit.list({ afterSeq: backupHead.seq - 1, limit: 1 })[0];
    const descends = backupHead === null ? current.audit.head() === null : same?.seq === backupHead.seq && same.hash === backupHead.hash;
    if (!descends) {
      throw new VoicePassportError(
        'config-invalid',
        `The database in this data directory is not a later state of the backup (its audit log does not hold the backup's newest entry, seq ${backupHead?.seq ?? 0}), so the erasures it records cannot be matched to the backup. Move it away (keep it until the restore is checked) and restore again. Nothing was restored.`,
      );
    }
    const out: LaterEvents = { from: 'database', head: current.audit.head(), masterKeyCheck: recordedCheckValue(current.db), erasures: [], keyRevocations: [] };
    let after = backupHead?.seq ?? 0;
    for (;;) {
      const page = current.audit.list({ afterSeq: after, limit: 1000 });
      collect(page, backup, out);
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.seq;
    }
  } finally {
    current.close();
  }
}

/**
 * What an exported audit log records after the backup's newest entry. Only a chain that continues
 * the backup's is taken: entry by entry from the one after its head, each linked to the one before
 * and its hash recomputed (audit-log.ts), so an export cut short in the middle, edited or from
 * another installation is refused.
 */
function laterEventsInExport(file: string, backupHead: AuditHead | null, backupSha256: string, backup: StoreWithoutMasterKey): LaterEvents {
  const refuse = (why: string) => new VoicePassportError('validation-failed', `The exported audit log ${path.resolve(file)} ${why}. Nothing was restored.`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw refuse(`cannot be read (${(e as Error).message})`);
  }
  let items: unknown[];
  try {
    const whole: unknown = JSON.parse(text);
    items = Array.isArray(whole) ? whole : [whole];
  } catch {
    // JSON lines: one entry, or one page, a line.
    items = text.split('\n').flatMap((line, i) => {
      if (line.trim() === '') return [];
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        throw refuse(`is neither JSON nor JSON lines (line ${i + 1})`);
      }
    });
  }
  const bySeq = new Map<number, AuditEntry>();
  for (const item of items.flatMap((it) => auditPageSchema.safeParse(it).data?.entries ?? [it])) {
    const parsed = exportedEntrySchema.safeParse(item);
    if (!parsed.success) throw refuse('holds something that is not an audit entry');
    const entry = parsed.data as AuditEntry;
    const seen = bySeq.get(entry.seq);
    if (seen !== undefined && seen.hash !== entry.hash) throw refuse(`holds two different entries ${entry.seq}`);
    bySeq.set(entry.seq, entry);
  }
  let prev: AuditHead = backupHead ?? { seq: 0, hash: genesisHash };
  const atHead = bySeq.get(prev.seq);
  if (atHead !== undefined && atHead.hash !== prev.hash) throw refuse(`does not continue this backup's audit chain: its entry ${prev.seq} is not the backup's newest`);
  const after = [...bySeq.values()].filter((e) => e.seq > prev.seq).sort((a, b) => a.seq - b.seq);
  // The chain rule of the audit log itself (audit-log.ts): no gap, each entry linked and unchanged.
  for (const e of after) {
    const problem = linkBreak(prev, e)?.problem ?? hashBreak(e);
    if (problem !== null) throw refuse(`does not continue this backup's audit chain (seq ${backupHead?.seq ?? 0}): ${problem}`);
    prev = { seq: e.seq, hash: e.hash };
  }
  // The log recorded this very backup (`store.backed-up`, with the backup file's sha256, right after
  // taking it): an export without that entry may end before the backup was taken (an empty file, a
  // stale copy), and would let erasures made since come back unremarked.
  const recordsBackup = after.some((e) => e.action === 'store.backed-up' && e.details.sha256 === backupSha256 && e.details.auditHeadSeq === (backupHead?.seq ?? 0));
  if (!recordsBackup) {
    throw refuse(
      `does not record this backup (no store.backed-up entry with its sha256 ${backupSha256} after its newest entry, seq ${backupHead?.seq ?? 0}): it was exported before the backup was taken, or from another installation. Export the audit log again (GET /v1/audit, or voice-passport audit export) from a copy that holds it; restoring without --audit-log applies nothing again and says so`,
    );
  }
  const out: LaterEvents = { from: 'audit-export', head: prev.seq === 0 ? null : prev, masterKeyCheck: undefined, erasures: [], keyRevocations: [] };
  collect(after, backup, out);
  return out;
}

/** An audit entry as GET /v1/audit answers it; the chain check then proves it is the log's. */
const exportedEntrySchema = z.object({
  seq: z.number().int().positive(),
  occurredAt: z.string(),
  action: z.string(),
  actorKeyId: z.string().nullable(),
  subjectPseudonym: z.string().nullable(),
  outcome: z.string(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

/** A GET /v1/audit page, of which an export may hold several. */
const auditPageSchema = z.object({ entries: z.array(z.unknown()) });

/**
 * SHA-256 of a file read in 1 MiB pieces, so a large database is never held in memory whole; with
 * `copyTo`, the same pieces are written to that new file (0600), so a restore reads its backup once.
 */
function sha256Of(file: string, copyTo?: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, 'r');
  const out = copyTo === undefined ? undefined : fs.openSync(copyTo, 'wx', 0o600);
  try {
    for (let n = fs.readSync(fd, chunk); n > 0; n = fs.readSync(fd, chunk)) {
      hash.update(chunk.subarray(0, n));
      if (out !== undefined) fs.writeSync(out, chunk, 0, n);
    }
    if (out !== undefined) fs.fsyncSync(out);
  } finally {
    fs.closeSync(fd);
    if (out !== undefined) fs.closeSync(out);
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
