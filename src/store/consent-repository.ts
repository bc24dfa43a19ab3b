/**
 * Consent history (GDPR Art. 9(2)(a) explicit consent for biometric data; Art. 7(1) the controller
 * must be able to demonstrate it: notice version shown, channel, time, actor; Art. 7(3) withdrawal).
 * Events are only appended. After a full erasure request the free-text evidence is blanked and only
 * its SHA-256 stays: a minimal proof that can still be matched against the bank's own copy.
 */
import { createHash } from 'node:crypto';
import { VoicePassportError } from '../errors.js';
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';
import { subjectIdOf, type SubjectRepository } from './subject-repository.js';

export const consentChannels = ['ivr', 'web', 'app', 'agent'] as const;
export type ConsentChannel = (typeof consentChannels)[number];

/**
 * A retention limit shorter than the configured one, for the subjects whose latest consent was given
 * under one notice version: that notice told them so (GDPR Art. 13(2)(a)), and the purge keeps to it.
 */
export interface NoticeCutoff {
  noticeVersion: string;
  /** Data of those subjects dated before this instant is due. */
  cutoff: Date;
}

export type ConsentWithdrawalReason = 'subject-request' | 'erasure-request' | 'retention-expired';

export interface ConsentEvent {
  id: number;
  kind: 'given' | 'withdrawn';
  noticeVersion: string | null;
  channel: ConsentChannel | null;
  locale: string | null;
  /** Null once redacted by an erasure; `evidenceSha256` stays. */
  evidence: string | null;
  evidenceSha256: string | null;
  /** The SHA-256 of the notice text agreed to (the language shown); null where none was named or before migration 014. */
  noticeSha256: string | null;
  reason: ConsentWithdrawalReason | null;
  actorKeyId: string | null;
  occurredAt: string;
}

export type ConsentState =
  | { active: true; givenAt: string; noticeVersion: string; channel: ConsentChannel; locale: string | null; actorKeyId: string | null }
  | { active: false; withdrawnAt: string | null };

export interface GiveConsentInput {
  noticeVersion: string;
  channel: ConsentChannel;
  locale?: string | null;
  evidence?: string | null;
  /** The SHA-256 of the notice text shown, where the language is known. */
  noticeSha256?: string | null;
  actorKeyId: string | null;
}

interface ConsentRow {
  id: number;
  kind: 'given' | 'withdrawn';
  notice_version: string | null;
  channel: ConsentChannel | null;
  locale: string | null;
  evidence: string | null;
  evidence_sha256: string | null;
  notice_sha256: string | null;
  reason: ConsentWithdrawalReason | null;
  actor_key_id: string | null;
  occurred_at: string;
}

const columns = 'id, kind, notice_version, channel, locale, evidence, evidence_sha256, notice_sha256, reason, actor_key_id, occurred_at';

export class ConsentRepository {
  constructor(
    private readonly db: Database,
    private readonly subjects: SubjectRepository,
    private readonly clock: Clock,
  ) {}

  /** Records explicit opt-in; creates the subject on first consent. Giving it again appends an event. */
  give(pseudonym: string, input: GiveConsentInput): ConsentEvent {
    if (!(consentChannels as readonly string[]).includes(input.channel)) {
      throw new VoicePassportError('validation-failed', `The consent channel must be one of ${consentChannels.join(', ')}.`);
    }
    if (input.noticeVersion.length === 0) throw new VoicePassportError('validation-failed', 'The consent notice version is required.');
    const evidence = input.evidence ?? null;
    if (evidence !== null && evidence.length > 4096) throw new VoicePassportError('validation-failed', 'Consent evidence is at most 4096 characters.');
    return this.db.transaction(() => {
      const subjectId = this.subjectIdOrCreate(pseudonym);
      const r = this.db.run(
        `INSERT INTO consent_events (subject_id, kind, notice_version, channel, locale, evidence, evidence_sha256, notice_sha256, actor_key_id, occurred_at)
         VALUES (?, 'given', ?, ?, ?, ?, ?, ?, ?, ?)`,
        [subjectId, input.noticeVersion, input.channel, input.locale ?? null, evidence, evidence === null ? null : sha256Hex(evidence), input.noticeSha256 ?? null, input.actorKeyId, isoNow(this.clock)],
      );
      return this.byId(Number(r.lastInsertRowid));
    });
  }

  /**
   * Appends a withdrawal if consent is active; undefined otherwise. The schema refuses it while the
   * subject still has a data key: erase the voiceprint first, in the same transaction (erasure.ts).
   */
  recordWithdrawal(pseudonym: string, input: { reason: ConsentWithdrawalReason; actorKeyId: string | null }): ConsentEvent | undefined {
    return this.db.transaction(() => {
      if (!this.current(pseudonym).active) return undefined;
      const subjectId = subjectIdOf(this.db, pseudonym)!;
      const r = this.db.run(`INSERT INTO consent_events (subject_id, kind, reason, actor_key_id, occurred_at) VALUES (?, 'withdrawn', ?, ?, ?)`, [
        subjectId,
        input.reason,
        input.actorKeyId,
        isoNow(this.clock),
      ]);
      return this.byId(Number(r.lastInsertRowid));
    });
  }

  /** Every notice version a consent was ever given under (what the texts must keep serving). */
  noticeVersionsInUse(): string[] {
    return this.db.all<{ v: string }>("SELECT DISTINCT notice_version AS v FROM consent_events WHERE kind = 'given' ORDER BY 1").map((r) => r.v);
  }

  /** Each notice text a consent was recorded against by its SHA-256: version, the locale as given, hash. */
  noticeTextsInUse(): Array<{ noticeVersion: string; locale: string; sha256: string }> {
    return this.db.all<{ noticeVersion: string; locale: string; sha256: string }>(
      `SELECT DISTINCT notice_version AS noticeVersion, locale, notice_sha256 AS sha256 FROM consent_events
       WHERE kind = 'given' AND notice_sha256 IS NOT NULL ORDER BY 1, 2, 3`,
    );
  }

  /** The latest event decides; no event means no consent. */
  current(pseudonym: string): ConsentState {
    const row = this.db.get<ConsentRow>(
      `SELECT ${columns.split(', ').map((c) => `c.${c}`).join(', ')}
       FROM consent_events c JOIN subjects s ON s.id = c.subject_id
       WHERE s.pseudonym = ? ORDER BY c.id DESC LIMIT 1`,
      [pseudonym],
    );
    if (row === undefined) return { active: false, withdrawnAt: null };
    if (row.kind === 'withdrawn') return { active: false, withdrawnAt: row.occurred_at };
    return { active: true, givenAt: row.occurred_at, noticeVersion: row.notice_version!, channel: row.channel!, locale: row.locale, actorKeyId: row.actor_key_id };
  }

  /**
   * The id of the `given` event that opened the subject's unbroken active consent (one given again
   * while active continues it), or undefined without active consent. Work that outlasts a request's
   * first check (an analysis in a worker, a stream) compares it afterwards: the same id means the
   * consent it began under still holds; any withdrawal or erasure in between ends that consent even
   * if the subject consented again since (GDPR Art. 7(3)).
   */
  currentConsentId(pseudonym: string): number | undefined {
    const row = this.db.get<{ id: number | null }>(
      `SELECT min(c.id) AS id FROM consent_events c JOIN subjects s ON s.id = c.subject_id
       WHERE s.pseudonym = ? AND c.kind = 'given'
         AND c.id > COALESCE((SELECT max(w.id) FROM consent_events w WHERE w.subject_id = s.id AND w.kind = 'withdrawn'), 0)`,
      [pseudonym],
    );
    return row?.id ?? undefined;
  }

  /** The first withdrawal after event `afterId`: how a consent that was current then ended. */
  withdrawalAfter(pseudonym: string, afterId: number): ConsentEvent | undefined {
    const row = this.db.get<ConsentRow>(
      `SELECT ${columns.split(', ').map((c) => `c.${c}`).join(', ')}
       FROM consent_events c JOIN subjects s ON s.id = c.subject_id
       WHERE s.pseudonym = ? AND c.kind = 'withdrawn' AND c.id > ? ORDER BY c.id LIMIT 1`,
      [pseudonym, afterId],
    );
    return row === undefined ? undefined : toEvent(row);
  }

  /** Every event, oldest first (export, Art. 15). */
  history(pseudonym: string): ConsentEvent[] {
    return this.db
      .all<ConsentRow>(
        `SELECT ${columns.split(', ').map((c) => `c.${c}`).join(', ')}
         FROM consent_events c JOIN subjects s ON s.id = c.subject_id
         WHERE s.pseudonym = ? ORDER BY c.id`,
        [pseudonym],
      )
      .map(toEvent);
  }

  /** Blanks the free-text evidence (its hash stays). Returns how many events were changed. */
  redactEvidence(pseudonym: string): number {
    const id = subjectIdOf(this.db, pseudonym);
    if (id === undefined) return 0;
    return this.db.run('UPDATE consent_events SET evidence = NULL WHERE subject_id = ? AND evidence IS NOT NULL', [id]).changes;
  }

  private subjectIdOrCreate(pseudonym: string): number {
    this.subjects.ensure(pseudonym);
    return subjectIdOf(this.db, pseudonym)!;
  }

  private byId(id: number): ConsentEvent {
    return toEvent(this.db.get<ConsentRow>(`SELECT ${columns} FROM consent_events WHERE id = ?`, [id])!);
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function toEvent(row: ConsentRow): ConsentEvent {
  return {
    id: row.id,
    kind: row.kind,
    noticeVersion: row.notice_version,
    channel: row.channel,
    locale: row.locale,
    evidence: row.evidence,
    evidenceSha256: row.evidence_sha256,
    noticeSha256: row.notice_sha256,
    reason: row.reason,
    actorKeyId: row.actor_key_id,
    occurredAt: row.occurred_at,
  };
}
