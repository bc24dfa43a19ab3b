/**
 * The audit log: append-only and hash-chained (issue 3; GDPR Art. 5(2) accountability, Art. 30
 * records of processing, Art. 32(1)(d) testing the safeguards). Each entry's hash is SHA-256 over the
 * canonical JSON of the entry including the previous entry's hash, so changing, removing or
 * reordering any entry breaks the chain from that point. SQL triggers refuse UPDATE and DELETE and
 * refuse an INSERT that does not extend the chain.
 *
 * Retention (Art. 5(1)(e)) removes the oldest entries only as a prefix (`pruneBefore`): an
 * `audit.pruned` entry and a recorded anchor (the last removed entry's seq and hash, migration 007)
 * come first, and `verify` checks the rest from that anchor.
 *
 * What the chain cannot show on its own is the removal of the newest entries (truncation) by someone
 * who can write the file: `verify({ anchor })` checks against a head (seq, hash) recorded elsewhere,
 * e.g. printed by `voice-passport audit verify` into the operator's ticket or SIEM.
 *
 * Entries never carry biometric data or customer ids: only the subject pseudonym, and details are
 * screened for embedding-like content (Art. 5(1)(c), 9).
 */
import { createHash } from 'node:crypto';
import { VoicePassportError } from '../errors.js';
import { canonicalJson, type JsonValue } from './canonical-json.js';
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';

export type AuditAction =
  | 'consent.given'
  | 'consent.withdrawn'
  | 'enrolment.sample'
  | 'enrolment.completed'
  | 'enrolment.discarded'
  | 'verification'
  | 'verification.abandoned'
  | 'verification.outcome-reported'
  | 'subject.viewed'
  | 'subject.exported'
  | 'subject.erased'
  | 'retention.purged'
  | 'history.purged'
  | 'consent-records.purged'
  | 'audit.pruned'
  | 'attempts.reset'
  | 'policy.updated'
  | 'key.created'
  | 'key.revoked'
  | 'master-key.rotated'
  | 'store.backed-up'
  | 'store.restored';

export type AuditDetails = { [key: string]: JsonValue };

export interface AuditEntryInput {
  action: AuditAction;
  actorKeyId: string | null;
  subjectPseudonym: string | null;
  /** e.g. 'ok', 'refused', or a verification decision. */
  outcome: string;
  details?: AuditDetails;
}

export interface AuditEntry {
  seq: number;
  occurredAt: string;
  action: AuditAction;
  actorKeyId: string | null;
  subjectPseudonym: string | null;
  outcome: string;
  details: AuditDetails;
  prevHash: string;
  hash: string;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

export interface AuditChainReport {
  ok: boolean;
  /** Entries read. */
  entries: number;
  /** The entry the log continues from once its oldest entries were pruned (`audit.pruned`); null when none were. */
  prunedThrough: AuditHead | null;
  /** Last entry, or null for an empty log. */
  head: AuditHead | null;
  /** The first seq at which the chain does not hold (edited, missing or moved entry), else null. */
  firstBrokenSeq: number | null;
  problem: string | null;
}

export const genesisHash = '0'.repeat(64);

interface AuditRow {
  seq: number;
  occurred_at: string;
  action: AuditAction;
  actor_key_id: string | null;
  subject_pseudonym: string | null;
  outcome: string;
  details: string;
  prev_hash: string;
  hash: string;
}

/** SHA-256 (hex) over the canonical JSON of every field but `hash`. */
export function auditEntryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const material = canonicalJson({
    seq: entry.seq,
    occurredAt: entry.occurredAt,
    action: entry.action,
    actorKeyId: entry.actorKeyId,
    subjectPseudonym: entry.subjectPseudonym,
    outcome: entry.outcome,
    details: entry.details,
    prevHash: entry.prevHash,
  });
  return createHash('sha256').update(material, 'utf8').digest('hex');
}

/**
 * The chain rule between the entry before (`prev`; seq 0 and the genesis hash for the first) and the
 * next one read: no gap in seq, and a link to the one before. Null when it holds. Shared by
 * `verify` and by restores that read an exported log (backup.ts).
 */
export function linkBreak(prev: AuditHead, next: { seq: number; prevHash: string }): { seq: number; problem: string } | null {
  if (next.seq !== prev.seq + 1) return { seq: prev.seq + 1, problem: `entry ${prev.seq + 1} is missing (next entry is ${next.seq})` };
  if (next.prevHash !== prev.hash) return { seq: next.seq, problem: `entry ${next.seq} does not link to entry ${prev.seq} (removed, inserted or reordered)` };
  return null;
}

/** An entry changed after it was written: its hash is not the one recomputed over its fields. Null when it matches. */
export function hashBreak(entry: AuditEntry): string | null {
  return auditEntryHash(entry) === entry.hash ? null : `entry ${entry.seq} was changed after it was written (hash mismatch)`;
}

// Keys that would mean biometric data or a customer id slipped into the log.
const forbiddenDetailKeys = /^(embedding|embeddings|template|voiceprint|vector|audio|samples|pcm|customerid|subjectid)$/i;
/** Long numeric arrays look like embeddings; no legitimate detail needs one. */
const maxNumericArrayLength = 16;

/** Throws `internal` for details that could carry biometric data or a customer id. */
export function assertAuditDetailsSafe(details: unknown, where = 'details'): void {
  if (ArrayBuffer.isView(details) || details instanceof ArrayBuffer) {
    throw new VoicePassportError('internal', `Audit ${where} must not hold binary data (no biometric data in the audit log).`);
  }
  if (Array.isArray(details)) {
    if (details.length > maxNumericArrayLength && details.every((v) => typeof v === 'number')) {
      throw new VoicePassportError('internal', `Audit ${where} holds a long numeric array; embeddings must never be logged.`);
    }
    details.forEach((v, i) => assertAuditDetailsSafe(v, `${where}[${i}]`));
    return;
  }
  if (typeof details === 'object' && details !== null) {
    for (const [k, v] of Object.entries(details)) {
      if (forbiddenDetailKeys.test(k)) throw new VoicePassportError('internal', `Audit ${where}.${k} is not allowed: no biometric data or customer ids in the audit log.`);
      assertAuditDetailsSafe(v, `${where}.${k}`);
    }
  }
}

export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Appends one entry. Inside a caller's transaction it commits or rolls back with the change it records. */
  append(input: AuditEntryInput): AuditEntry {
    const details = input.details ?? {};
    assertAuditDetailsSafe(details);
    const detailsJson = canonicalJson(details);
    return this.db.transaction(() => {
      const head = this.head();
      const unsigned = {
        seq: (head?.seq ?? 0) + 1,
        occurredAt: isoNow(this.clock),
        action: input.action,
        actorKeyId: input.actorKeyId,
        subjectPseudonym: input.subjectPseudonym,
        outcome: input.outcome,
        details: JSON.parse(detailsJson) as AuditDetails,
        prevHash: head?.hash ?? genesisHash,
      };
      const entry: AuditEntry = { ...unsigned, hash: auditEntryHash(unsigned) };
      this.db.run(
        `INSERT INTO audit_log (seq, occurred_at, action, actor_key_id, subject_pseudonym, outcome, details, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [entry.seq, entry.occurredAt, entry.action, entry.actorKeyId, entry.subjectPseudonym, entry.outcome, detailsJson, entry.prevHash, entry.hash],
      );
      return entry;
    });
  }

  head(): AuditHead | null {
    return this.db.get<AuditHead>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1') ?? null;
  }

  /** Entries in seq order, filtered; at most `limit` (default 100, max 1000) after `afterSeq`. */
  list(options: { afterSeq?: number; limit?: number; action?: AuditAction; subjectPseudonym?: string; from?: string; to?: string } = {}): AuditEntry[] {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
    return this.db
      .all<AuditRow>(
        `SELECT * FROM audit_log
         WHERE seq > :after AND (:action IS NULL OR action = :action) AND (:subject IS NULL OR subject_pseudonym = :subject)
           AND (:from IS NULL OR occurred_at >= :from) AND (:to IS NULL OR occurred_at < :to)
         ORDER BY seq LIMIT :limit`,
        {
          after: options.afterSeq ?? 0,
          action: options.action ?? null,
          subject: options.subjectPseudonym ?? null,
          from: options.from ?? null,
          to: options.to ?? null,
          limit,
        },
      )
      .map(toEntry);
  }

  /**
   * Recomputes the chain from the first entry. Reports the first seq that fails: a changed field
   * (hash mismatch), a removed entry (gap in seq), a moved entry (seq or prev_hash out of place), or a
   * head that does not match `anchor` (entries after a recorded head were removed or rewritten).
   */
  verify(options: { anchor?: AuditHead; pageSize?: number } = {}): AuditChainReport {
    const pageSize = options.pageSize ?? 1000;
    // A pruned log is checked from the entry it continues from (pruneBefore).
    const prunedThrough = this.prunedThrough();
    let expectedSeq = (prunedThrough?.seq ?? 0) + 1;
    let prevHash = prunedThrough?.hash ?? genesisHash;
    let entries = 0;
    let anchorSeen = false;
    /** The anchor the newest `audit.pruned` entry recorded, which must be the one in force. */
    let lastPruning: AuditHead | null = null;
    const broken = (seq: number, problem: string): AuditChainReport => ({
      ok: false,
      entries,
      prunedThrough,
      head: entries === 0 ? null : { seq: expectedSeq - 1, hash: prevHash },
      firstBrokenSeq: seq,
      problem,
    });
    if (options.anchor !== undefined && prunedThrough !== null && options.anchor.seq <= prunedThrough.seq) {
      if (options.anchor.seq < prunedThrough.seq) {
        return broken(
          options.anchor.seq,
          `the recorded anchor, entry ${options.anchor.seq}, was pruned with the entries through ${prunedThrough.seq} (audit.pruned), so it can no longer be checked: record a newer head`,
        );
      }
      if (options.anchor.hash !== prunedThrough.hash) return broken(options.anchor.seq, `entry ${options.anchor.seq} differs from the recorded anchor`);
      anchorSeen = true;
    }

    for (;;) {
      const rows = this.db.all<AuditRow>('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?', [expectedSeq, pageSize]);
      if (rows.length === 0) break;
      for (const row of rows) {
        const link = linkBreak({ seq: expectedSeq - 1, hash: prevHash }, { seq: row.seq, prevHash: row.prev_hash });
        if (link !== null) return broken(link.seq, link.problem);
        let entry: AuditEntry;
        try {
          entry = toEntry(row);
          if (canonicalJson(entry.details) !== row.details) throw new Error('details are not canonical');
        } catch {
          return broken(row.seq, `entry ${row.seq} has unreadable or altered details`);
        }
        const changed = hashBreak(entry);
        if (changed !== null) return broken(row.seq, changed);
        if (options.anchor !== undefined && row.seq === options.anchor.seq) {
          if (row.hash !== options.anchor.hash) return broken(row.seq, `entry ${row.seq} differs from the recorded anchor`);
          anchorSeen = true;
        }
        if (entry.action === 'audit.pruned') lastPruning = { seq: Number(entry.details.throughSeq), hash: String(entry.details.throughHash) };
        prevHash = row.hash;
        expectedSeq++;
        entries++;
      }
    }
    if (options.anchor !== undefined && !anchorSeen) {
      return broken(expectedSeq, `the log ends at entry ${expectedSeq - 1}, before the recorded anchor ${options.anchor.seq}: newer entries were removed`);
    }
    // Entries removed from the front with the anchor moved to match, but no audit.pruned entry saying so.
    if (prunedThrough !== null && (lastPruning?.seq !== prunedThrough.seq || lastPruning.hash !== prunedThrough.hash)) {
      return broken(prunedThrough.seq + 1, `the log starts after entry ${prunedThrough.seq}, but no audit.pruned entry records pruning through it`);
    }
    return { ok: true, entries, prunedThrough, head: entries === 0 ? null : { seq: expectedSeq - 1, hash: prevHash }, firstBrokenSeq: null, problem: null };
  }

  /** The entry the log continues from once its oldest entries were pruned; null when none were. */
  prunedThrough(): AuditHead | null {
    return this.db.get<AuditHead>('SELECT through_seq AS seq, through_hash AS hash FROM audit_pruned WHERE id = 1') ?? null;
  }

  /** How many entries are older than `cutoff` and would go with pruneBefore. */
  countPrunable(cutoff: Date): number {
    const through = this.prunableThrough(cutoff);
    return through === undefined ? 0 : this.countThrough(through.seq);
  }

  private countThrough(seq: number): number {
    return this.db.get<{ n: number }>('SELECT count(*) AS n FROM audit_log WHERE seq <= ?', [seq])?.n ?? 0;
  }

  /**
   * Removes the oldest entries, those written before `cutoff` (a prefix, so what stays is still one
   * chain), in one transaction: first an `audit.pruned` entry naming the
   * entry the rest continues from and how many go, then that anchor (the `audit_pruned` row, which
   * `verify` starts from), then the entries. That new entry is then the head, so the chain always
   * has one to extend. Null, changing nothing, when no entry is that old. The anchor a recorded head
   * gave (`verify({ anchor })`) can no longer be checked once it is pruned: record heads more often
   * than the retention.
   */
  pruneBefore(cutoff: Date, options: { actorKeyId: string | null; retentionDays: number }): { through: AuditHead; pruned: number; entry: AuditEntry } | null {
    return this.db.transaction(() => {
      const through = this.prunableThrough(cutoff);
      if (through === undefined) return null;
      const pruned = this.countThrough(through.seq);
      const entry = this.append({
        action: 'audit.pruned',
        actorKeyId: options.actorKeyId,
        subjectPseudonym: null,
        outcome: 'pruned',
        details: { cutoff: cutoff.toISOString(), retentionDays: options.retentionDays, throughSeq: through.seq, throughHash: through.hash, entries: pruned },
      });
      this.db.run(
        `INSERT INTO audit_pruned (id, through_seq, through_hash, pruned_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET through_seq = excluded.through_seq, through_hash = excluded.through_hash, pruned_at = excluded.pruned_at`,
        [through.seq, through.hash, entry.occurredAt],
      );
      this.db.run('DELETE FROM audit_log WHERE seq <= ?', [through.seq]);
      return { through, pruned, entry };
    });
  }

  /**
   * The last entry of the longest run from the oldest written before `cutoff`: what pruneBefore
   * prunes through. Read from the oldest entry on (seq order, no index on time), so an hourly purge
   * reads about an hour's entries, and an entry dated after the cutoff (a clock set back) ends the run.
   */
  private prunableThrough(cutoff: Date): AuditHead | undefined {
    const firstKept = this.db.get<{ seq: number }>('SELECT seq FROM audit_log WHERE occurred_at >= ? ORDER BY seq LIMIT 1', [cutoff.toISOString()]);
    return this.db.get<AuditHead>('SELECT seq, hash FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT 1', [firstKept?.seq ?? Number.MAX_SAFE_INTEGER]);
  }
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    occurredAt: row.occurred_at,
    action: row.action,
    actorKeyId: row.actor_key_id,
    subjectPseudonym: row.subject_pseudonym,
    outcome: row.outcome,
    details: JSON.parse(row.details) as AuditDetails,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
