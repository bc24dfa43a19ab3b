/**
 * Erasure (GDPR Art. 17 right to erasure; Art. 7(3) withdrawal "as easy as giving"; Art. 5(1)(e)
 * storage limitation → the retention purge). One transaction removes the subject's wrapped data key
 * (crypto-shredding), voiceprint, enrolment samples and verification history, resets the subject's
 * state, ends consent with a withdrawal event and writes the audit entry. Then a TRUNCATE checkpoint
 * moves the zeroed pages (secure_delete=ON) into the .db file and empties the -wal file, so the old
 * bytes are gone from both (issue 3).
 *
 * What stays, as proof and not as biometric data: the subject row (pseudonym, created time), the
 * consent events (for a full erasure request the free-text evidence is blanked, its SHA-256 kept),
 * and the audit entries (Art. 5(2) accountability; Art. 17(3)(e) legal claims). The first two go
 * when the consent records' own retention ends (findExpiredConsentRecords); the audit entries follow
 * the audit log's.
 */
import { isoNow, type Clock } from './clock.js';
import type { ConsentRepository, ConsentWithdrawalReason, NoticeCutoff } from './consent-repository.js';
import type { AuditLog } from './audit-log.js';
import type { CheckpointResult, Database } from './database.js';
import { subjectIdOf } from './subject-repository.js';

export type ErasureReason = 'consent-withdrawn' | 'subject-request' | 'retention-expired';

export interface ErasureOptions {
  reason: ErasureReason;
  actorKeyId: string | null;
}

export interface ErasureReceipt {
  subjectPseudonym: string;
  reason: ErasureReason;
  erasedAt: string;
  /** False when nothing was held for this subject. */
  subjectKnown: boolean;
  voiceprintErased: boolean;
  dataKeyDestroyed: boolean;
  enrolmentSamplesErased: number;
  verificationsErased: number;
  /** True when this erasure ended an active consent. */
  consentWithdrawn: boolean;
  consentEvidenceRedacted: number;
  auditSeq: number;
}

export interface ErasureResult extends ErasureReceipt {
  /** `complete: false` means a long reader kept old pages in the -wal; the next checkpoint removes them. */
  checkpoint: CheckpointResult;
}

const withdrawalReasonFor: Record<ErasureReason, ConsentWithdrawalReason> = {
  'consent-withdrawn': 'subject-request',
  'subject-request': 'erasure-request',
  'retention-expired': 'retention-expired',
};

/**
 * The pseudonyms `query` finds due before `cutoff`, with those of each notice that told its subjects
 * a shorter period, due before its nearer cutoff (a later instant), sorted.
 */
function dueUnderNotices(cutoff: Date, noticeCutoffs: readonly NoticeCutoff[], query: (cutoffIso: string, noticeVersion: string | null) => string[]): string[] {
  const due = new Set(query(cutoff.toISOString(), null));
  for (const n of noticeCutoffs) if (n.cutoff > cutoff) for (const p of query(n.cutoff.toISOString(), n.noticeVersion)) due.add(p);
  return [...due].sort();
}

/**
 * The terms that narrow a due-query to one notice's subjects (`notice`: the column as the query
 * should use it) and to one subject (`only`), with their parameters beside the cutoff's.
 */
function narrowed(c: string, noticeVersion: string | null, only: string | undefined, notice: 's.notice_version' | '+s.notice_version') {
  return {
    terms: `${noticeVersion === null ? '' : `AND ${notice} = :v`} ${only === undefined ? '' : 'AND s.pseudonym = :p'}`,
    params: { c, ...(noticeVersion === null ? {} : { v: noticeVersion }), ...(only === undefined ? {} : { p: only }) },
  };
}

function removedAnything(r: Omit<ErasureReceipt, 'auditSeq'>): boolean {
  return r.voiceprintErased || r.dataKeyDestroyed || r.enrolmentSamplesErased > 0 || r.verificationsErased > 0 || r.consentWithdrawn || r.consentEvidenceRedacted > 0;
}

/**
 * The subjects whose newest enrolment sample is older than :c, with a voiceprint (`EXISTS`: a
 * re-enrolment given up) or without (`NOT EXISTS`: a first enrolment given up). From the samples held
 * (CROSS JOIN keeps them the outer loop): the few subjects enrolling, not every subject.
 */
function samplesAbandonedQuery(voiceprint: 'EXISTS' | 'NOT EXISTS', under: string): string {
  return `SELECT s.pseudonym FROM enrolment_samples e CROSS JOIN subjects s ON s.id = e.subject_id
         WHERE ${voiceprint} (SELECT 1 FROM templates t WHERE t.subject_id = s.id) ${under}
         GROUP BY e.subject_id HAVING max(e.created_at) < :c`;
}

export class SubjectErasure {
  constructor(
    private readonly db: Database,
    private readonly consents: ConsentRepository,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** Erases in one transaction, then checkpoints. */
  erase(pseudonym: string, options: ErasureOptions): ErasureResult {
    const receipt = this.db.transaction(() => this.eraseWithinTransaction(pseudonym, options));
    return { ...receipt, checkpoint: this.db.checkpoint() };
  }

  /**
   * The transactional part, for a use case that erases as part of a larger transaction; the caller
   * must call `db.checkpoint()` after its commit.
   */
  eraseWithinTransaction(pseudonym: string, options: ErasureOptions): ErasureReceipt {
    return this.db.transaction(() => {
      const erasedAt = isoNow(this.clock);
      const subjectId = subjectIdOf(this.db, pseudonym);
      let receipt: Omit<ErasureReceipt, 'auditSeq'> = {
        subjectPseudonym: pseudonym,
        reason: options.reason,
        erasedAt,
        subjectKnown: subjectId !== undefined,
        voiceprintErased: false,
        dataKeyDestroyed: false,
        enrolmentSamplesErased: 0,
        verificationsErased: 0,
        consentWithdrawn: false,
        consentEvidenceRedacted: 0,
      };
      // The answers kept for retried requests (src/passport/idempotency.ts) describe the customer too,
      // also one who never consented (answered no-consent, with no subject row), and so do the records
      // of the calls made before they first consented (migration 013).
      this.db.run('DELETE FROM idempotent_requests WHERE subject_pseudonym = ?', [pseudonym]);
      const callsBeforeConsent = this.db.run('DELETE FROM verifications WHERE caller_pseudonym = ?', [pseudonym]).changes;
      receipt = { ...receipt, subjectKnown: subjectId !== undefined || callsBeforeConsent > 0, verificationsErased: callsBeforeConsent };
      if (subjectId !== undefined) {
        // Explicit deletes (not only the cascade) so the receipt can say what was removed.
        const voiceprintErased = this.db.run('DELETE FROM templates WHERE subject_id = ?', [subjectId]).changes > 0;
        const enrolmentSamplesErased = this.db.run('DELETE FROM enrolment_samples WHERE subject_id = ?', [subjectId]).changes;
        const dataKeyDestroyed = this.db.run('DELETE FROM subject_keys WHERE subject_id = ?', [subjectId]).changes > 0;
        const verificationsErased = this.db.run('DELETE FROM verifications WHERE subject_id = ?', [subjectId]).changes;
        this.db.run(
          `UPDATE subjects SET enrolment_state = 'none', model_id = NULL, enrolled_at = NULL, last_used_at = NULL,
             consecutive_rejects = 0, last_reject_at = NULL, verification_disabled = 0 WHERE id = ?`,
          [subjectId],
        );
        // Consent ends with the voiceprint: a later enrolment needs fresh consent to the current notice.
        const withdrawal = this.consents.recordWithdrawal(pseudonym, { reason: withdrawalReasonFor[options.reason], actorKeyId: options.actorKeyId });
        const consentEvidenceRedacted = options.reason === 'subject-request' ? this.consents.redactEvidence(pseudonym) : 0;
        receipt = {
          ...receipt,
          voiceprintErased,
          dataKeyDestroyed,
          enrolmentSamplesErased,
          verificationsErased: receipt.verificationsErased + verificationsErased,
          consentWithdrawn: withdrawal !== undefined,
          consentEvidenceRedacted,
        };
      }
      const entry = this.audit.append({
        action: options.reason === 'retention-expired' ? 'retention.purged' : options.reason === 'consent-withdrawn' ? 'consent.withdrawn' : 'subject.erased',
        actorKeyId: options.actorKeyId,
        subjectPseudonym: pseudonym,
        // 'erased' only where something went: a second withdrawal, or an erasure of a subject already
        // erased, removed nothing.
        outcome: removedAnything(receipt) ? 'erased' : 'nothing-held',
        details: {
          reason: options.reason,
          voiceprintErased: receipt.voiceprintErased,
          enrolmentSamplesErased: receipt.enrolmentSamplesErased,
          verificationsErased: receipt.verificationsErased,
          consentWithdrawn: receipt.consentWithdrawn,
        },
      });
      return { ...receipt, auditSeq: entry.seq };
    });
  }

  /**
   * Subjects due for the retention purge (Art. 5(1)(e)): a voiceprint not used (verified) since
   * `cutoff` — or never used and created before it — and enrolments abandoned before `cutoff`.
   */
  findExpired(cutoff: Date, noticeCutoffs: readonly NoticeCutoff[] = []): string[] {
    return dueUnderNotices(cutoff, noticeCutoffs, (c, v) => this.expiredBefore(c, v));
  }

  /**
   * Erases the subject if it is still due (findExpired's rule, checked again in the erasing
   * transaction: the retention purge yields between erasures, and a call may have used the
   * voiceprint since it was found). Undefined: no longer due, nothing done. The caller checkpoints.
   */
  eraseIfExpired(pseudonym: string, cutoff: Date, noticeCutoffs: readonly NoticeCutoff[], actorKeyId: string | null): ErasureReceipt | undefined {
    return this.db.transaction(() =>
      dueUnderNotices(cutoff, noticeCutoffs, (c, v) => this.expiredBefore(c, v, pseudonym)).length === 0
        ? undefined
        : this.eraseWithinTransaction(pseudonym, { reason: 'retention-expired', actorKeyId }),
    );
  }

  /**
   * Subjects whose voiceprint went unused, or whose enrolment was abandoned, before `c`; only those
   * under `noticeVersion` when given, and only `only` when given.
   */
  private expiredBefore(c: string, noticeVersion: string | null, only?: string): string[] {
    const { terms: under, params } = narrowed(c, noticeVersion, only, 's.notice_version');
    return this.db
      .all<{ pseudonym: string }>(
        `SELECT s.pseudonym FROM subjects s JOIN templates t ON t.subject_id = s.id
         WHERE COALESCE(s.last_used_at, t.created_at) < :c AND t.created_at < :c ${under}
         UNION
         ${samplesAbandonedQuery('NOT EXISTS', under)}`,
        params,
      )
      .map((r) => r.pseudonym);
  }

  /**
   * Enrolled subjects whose re-enrolment was abandoned before `cutoff`: samples held beside a
   * voiceprint, the newest older than it. The samples go (discardAbandonedReEnrolment); the voiceprint
   * is kept or erased by its own rule.
   */
  findAbandonedReEnrolments(cutoff: Date, noticeCutoffs: readonly NoticeCutoff[] = []): string[] {
    return dueUnderNotices(cutoff, noticeCutoffs, (c, v) => this.reEnrolmentAbandonedBefore(c, v));
  }

  /**
   * Discards an abandoned re-enrolment's samples if still abandoned (checked again: the purge yields
   * between subjects, and a sample may have come since), with an `enrolment.discarded` entry. Answers
   * how many samples went, or undefined when no longer due. The caller checkpoints.
   */
  discardAbandonedReEnrolment(pseudonym: string, cutoff: Date, noticeCutoffs: readonly NoticeCutoff[], actorKeyId: string | null): number | undefined {
    return this.db.transaction(() => {
      if (dueUnderNotices(cutoff, noticeCutoffs, (c, v) => this.reEnrolmentAbandonedBefore(c, v, pseudonym)).length === 0) return undefined;
      const n = this.db.run('DELETE FROM enrolment_samples WHERE subject_id = ?', [subjectIdOf(this.db, pseudonym)!]).changes;
      this.audit.append({ action: 'enrolment.discarded', actorKeyId, subjectPseudonym: pseudonym, outcome: 'retention-expired', details: { samplesDiscarded: n } });
      return n;
    });
  }

  private reEnrolmentAbandonedBefore(c: string, noticeVersion: string | null, only?: string): string[] {
    const { terms: under, params } = narrowed(c, noticeVersion, only, 's.notice_version');
    return this.db.all<{ pseudonym: string }>(samplesAbandonedQuery('EXISTS', under), params).map((r) => r.pseudonym);
  }

  /**
   * Subjects whose consent ended before `cutoff` (their latest consent event is a withdrawal older
   * than it), or before the nearer cutoff of the notice they had agreed to, and of whom nothing else
   * is held: no voiceprint, enrolment sample, data key or verification record (those go first, by
   * their own rules). Their consent events and subject row are the last of them.
   */
  findExpiredConsentRecords(cutoff: Date, noticeCutoffs: readonly NoticeCutoff[] = []): string[] {
    return dueUnderNotices(cutoff, noticeCutoffs, (c, v) => this.consentEndedBefore(c, v));
  }

  private consentEndedBefore(c: string, noticeVersion: string | null, only?: string): string[] {
    // `+` keeps the subjects' notice index out of the plan: the withdrawals before the cutoff are the
    // few rows to start from, a notice's subjects the many.
    const { terms: under, params } = narrowed(c, noticeVersion, only, '+s.notice_version');
    return this.db
      .all<{ pseudonym: string }>(
        // From the withdrawals before the cutoff (consent_withdrawals_by_time), those still each subject's latest event.
        `SELECT s.pseudonym FROM consent_events w JOIN subjects s ON s.id = w.subject_id
         WHERE w.kind = 'withdrawn' AND w.occurred_at < :c
           AND w.id = (SELECT max(id) FROM consent_events WHERE subject_id = w.subject_id)
           AND NOT EXISTS (SELECT 1 FROM templates WHERE subject_id = s.id)
           AND NOT EXISTS (SELECT 1 FROM enrolment_samples WHERE subject_id = s.id)
           AND NOT EXISTS (SELECT 1 FROM subject_keys WHERE subject_id = s.id)
           AND NOT EXISTS (SELECT 1 FROM verifications WHERE subject_id = s.id) ${under}`,
        params,
      )
      .map((r) => r.pseudonym);
  }

  /**
   * Deletes the subject rows of those still due (findExpiredConsentRecords' rule, checked again:
   * the purge yields between batches, and a customer may have consented again since), their consent
   * events with them (ON DELETE CASCADE), zeroed in place (secure_delete). The caller holds the
   * transaction and checkpoints. Returns how many went.
   */
  eraseConsentRecords(pseudonyms: readonly string[], cutoff: Date, noticeCutoffs: readonly NoticeCutoff[] = []): number {
    let n = 0;
    for (const p of pseudonyms) {
      if (dueUnderNotices(cutoff, noticeCutoffs, (c, v) => this.consentEndedBefore(c, v, p)).length === 0) continue;
      n += this.db.run('DELETE FROM subjects WHERE pseudonym = ?', [p]).changes;
    }
    return n;
  }
}
