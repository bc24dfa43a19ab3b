/**
 * Retention (GDPR Art. 5(1)(e) storage limitation): a voiceprint not used for `retentionDays` — and
 * an enrolment abandoned that long — is erased, and so is every verification record older than
 * `historyRetentionDays`, whoever it was of, and, where `auditRetentionDays` is set, every audit
 * entry older than that. The service's timer (src/retention-sweep.ts) and the CLI's
 * `voice-passport purge` both run them through `purgeAllExpired`.
 */
import type { ErasureReceipt, Store } from '../store/index.js';

export interface PurgeResult {
  cutoff: string;
  purged: number;
  /** One per erased subject (pseudonym, what was removed, audit seq); no biometric data. */
  receipts: ErasureReceipt[];
  /** False when a long reader kept erased pages in the WAL; the next checkpoint removes them. */
  checkpointComplete: boolean;
}

const dayMs = 86_400_000;

/** Voiceprints last used before this instant are due for erasure. */
export function retentionCutoff(options: { retentionDays: number; now: Date }): Date {
  return daysBefore(options.now, options.retentionDays, 'retentionDays');
}

function daysBefore(now: Date, days: number, name: string): Date {
  if (!Number.isFinite(days) || days < 1) throw new RangeError(`${name} must be at least 1`);
  return new Date(now.getTime() - days * dayMs);
}

/** What a purge would erase now, erasing nothing (`voice-passport purge --dry-run`). */
export function findExpiredVoiceprints(store: Pick<Store, 'erasure'>, options: { retentionDays: number; now: Date }): { cutoff: string; subjectPseudonyms: string[] } {
  const cutoff = retentionCutoff(options);
  return { cutoff: cutoff.toISOString(), subjectPseudonyms: store.erasure.findExpired(cutoff) };
}

/** `actorKeyId` goes into each erasure's audit entry: null for the service's timer, "cli" for the command. */
export function purgeExpiredVoiceprints(store: Pick<Store, 'erasure'>, options: { retentionDays: number; now: Date; actorKeyId?: string | null }): PurgeResult {
  const cutoff = retentionCutoff(options);
  const { receipts, checkpoint } = store.erasure.purgeExpired(cutoff, options.actorKeyId ?? null);
  return { cutoff: cutoff.toISOString(), purged: receipts.length, receipts, checkpointComplete: checkpoint.complete };
}

export interface HistoryPurgeResult {
  cutoff: string;
  /** Verification records erased. */
  erased: number;
  /** Seq of the `history.purged` audit entry; null when nothing was erased (no entry then). */
  auditSeq: number | null;
  checkpointComplete: boolean;
}

/**
 * Erases every verification record older than `historyRetentionDays`, in one transaction with one
 * `history.purged` audit entry naming the cutoff and the count (no subject: the records are of many).
 * The subjects' exports, the operator statistics and restores (which bring old records back until
 * the next purge, run at every start) see only what is younger. The audit log's own `verification`
 * entries follow the audit log's retention (purgeExpiredAudit).
 */
export function purgeExpiredHistory(
  store: Pick<Store, 'db' | 'verifications' | 'audit'>,
  options: { historyRetentionDays: number; now: Date; actorKeyId?: string | null },
): HistoryPurgeResult {
  const cutoff = daysBefore(options.now, options.historyRetentionDays, 'historyRetentionDays');
  const { erased, auditSeq } = store.db.transaction(() => {
    const n = store.verifications.eraseOlderThan(cutoff);
    if (n === 0) return { erased: 0, auditSeq: null };
    const entry = store.audit.append({
      action: 'history.purged',
      actorKeyId: options.actorKeyId ?? null,
      subjectPseudonym: null,
      outcome: 'erased',
      details: { cutoff: cutoff.toISOString(), verifications: n, retentionDays: options.historyRetentionDays },
    });
    return { erased: n, auditSeq: entry.seq };
  });
  // Like an erasure: the zeroed pages reach the .db file and the -wal is emptied, so the old records are nowhere.
  const checkpointComplete = erased === 0 ? true : store.db.checkpoint().complete;
  return { cutoff: cutoff.toISOString(), erased, auditSeq, checkpointComplete };
}

/** What purgeExpiredHistory would erase now, erasing nothing (`voice-passport purge --dry-run`). */
export function countExpiredHistory(store: Pick<Store, 'verifications'>, options: { historyRetentionDays: number; now: Date }): { cutoff: string; wouldErase: number } {
  const cutoff = daysBefore(options.now, options.historyRetentionDays, 'historyRetentionDays');
  return { cutoff: cutoff.toISOString(), wouldErase: store.verifications.countOlderThan(cutoff) };
}

export interface AuditPurgeResult {
  cutoff: string;
  /** Audit entries removed. */
  pruned: number;
  /** The entry the log now continues from, and the seq of the `audit.pruned` entry; null when nothing was pruned. */
  through: { seq: number; hash: string } | null;
  auditSeq: number | null;
  checkpointComplete: boolean;
}

/**
 * Removes the audit entries older than `auditRetentionDays`, as a prefix of the hash chain whose rest
 * stays checkable from the recorded anchor, with an `audit.pruned` entry (AuditLog.pruneBefore).
 */
export function purgeExpiredAudit(store: Pick<Store, 'db' | 'audit'>, options: { auditRetentionDays: number; now: Date; actorKeyId?: string | null }): AuditPurgeResult {
  const cutoff = daysBefore(options.now, options.auditRetentionDays, 'auditRetentionDays');
  const r = store.audit.pruneBefore(cutoff, { actorKeyId: options.actorKeyId ?? null, retentionDays: options.auditRetentionDays });
  if (r === null) return { cutoff: cutoff.toISOString(), pruned: 0, through: null, auditSeq: null, checkpointComplete: true };
  return { cutoff: cutoff.toISOString(), pruned: r.pruned, through: r.through, auditSeq: r.entry.seq, checkpointComplete: store.db.checkpoint().complete };
}

/** What purgeExpiredAudit would remove now, removing nothing (`voice-passport purge --dry-run`). */
export function countExpiredAudit(store: Pick<Store, 'audit'>, options: { auditRetentionDays: number; now: Date }): { cutoff: string; wouldPrune: number } {
  const cutoff = daysBefore(options.now, options.auditRetentionDays, 'auditRetentionDays');
  return { cutoff: cutoff.toISOString(), wouldPrune: store.audit.countPrunable(cutoff) };
}

export interface RetentionSettings {
  retentionDays: number;
  historyRetentionDays: number;
  /** Null: the audit log is kept whole. */
  auditRetentionDays: number | null;
}

export interface AllPurgeResult {
  voiceprints: PurgeResult;
  history: HistoryPurgeResult;
  /** Null when the audit log is kept whole. */
  audit: AuditPurgeResult | null;
}

/**
 * The three purges in their one order: voiceprints, history, then the audit log, last so the
 * entries the first two write are the newest and stay.
 */
export function purgeAllExpired(store: Pick<Store, 'db' | 'erasure' | 'verifications' | 'audit'>, settings: RetentionSettings, options: { now: Date; actorKeyId?: string | null }): AllPurgeResult {
  const { now } = options;
  const actorKeyId = options.actorKeyId ?? null;
  const voiceprints = purgeExpiredVoiceprints(store, { retentionDays: settings.retentionDays, now, actorKeyId });
  const history = purgeExpiredHistory(store, { historyRetentionDays: settings.historyRetentionDays, now, actorKeyId });
  const audit = settings.auditRetentionDays === null ? null : purgeExpiredAudit(store, { auditRetentionDays: settings.auditRetentionDays, now, actorKeyId });
  return { voiceprints, history, audit };
}
