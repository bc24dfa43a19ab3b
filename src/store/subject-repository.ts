/**
 * Subjects, known only by pseudonym (GDPR Art. 4(5), 25(1), 32(1)(a)): enrolment state, model id,
 * times, and the attempt-limiting state of NIST SP 800-63B §3.2.3, persisted so a restart does not
 * reset it. The rules that change that state live in scoring/attempts.ts; this stores it.
 */
import { freshAttempts, type AttemptState } from '../scoring/attempts.js';
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';

export type EnrolmentState = 'none' | 'enrolling' | 'enrolled';

export interface SubjectRecord {
  pseudonym: string;
  createdAt: string;
  lastUsedAt: string | null;
  enrolmentState: EnrolmentState;
  /** Model of the voiceprint (or of the enrolment in progress); null when none. */
  modelId: string | null;
  enrolledAt: string | null;
  attempts: AttemptState;
  /**
   * The consent notice the subject last agreed to, active or since withdrawn (null: never): its
   * periods are the subject's (passport/retention.ts). Set by migration 010's trigger.
   */
  noticeVersion: string | null;
}

interface SubjectRow {
  id: number;
  pseudonym: string;
  created_at: string;
  last_used_at: string | null;
  enrolment_state: EnrolmentState;
  model_id: string | null;
  enrolled_at: string | null;
  consecutive_rejects: number;
  last_reject_at: string | null;
  verification_disabled: number;
  notice_version: string | null;
}

const pseudonymPattern = /^[0-9a-f]{64}$/;

/** The row id behind a pseudonym, for repositories that join on it. */
export function subjectIdOf(db: Database, pseudonym: string): number | undefined {
  return db.get<{ id: number }>('SELECT id FROM subjects WHERE pseudonym = ?', [pseudonym])?.id;
}

export class SubjectRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  find(pseudonym: string): SubjectRecord | undefined {
    const row = this.db.get<SubjectRow>('SELECT * FROM subjects WHERE pseudonym = ?', [pseudonym]);
    return row && toRecord(row);
  }

  /** The subject, created on first use. Only consent creates subjects: nobody is stored uninvited. */
  ensure(pseudonym: string): SubjectRecord {
    if (!pseudonymPattern.test(pseudonym)) {
      // A programming error, not user input: callers pass KeyRing.pseudonymise output.
      throw new TypeError('A subject pseudonym is 64 lower-case hex characters (KeyRing.pseudonymise).');
    }
    this.db.run('INSERT INTO subjects (pseudonym, created_at) VALUES (?, ?) ON CONFLICT (pseudonym) DO NOTHING', [pseudonym, isoNow(this.clock)]);
    return this.find(pseudonym)!;
  }

  /** Marks the voiceprint as used now (retention runs from the last use, GDPR Art. 5(1)(e)). */
  touch(pseudonym: string): void {
    this.db.run('UPDATE subjects SET last_used_at = ? WHERE pseudonym = ?', [isoNow(this.clock), pseudonym]);
  }

  /** 'enrolled' stamps enrolled_at with now (re-enrolment restamps it); other states clear it. */
  setEnrolmentState(pseudonym: string, state: EnrolmentState, modelId: string | null): void {
    this.db.run(
      `UPDATE subjects SET enrolment_state = ?, model_id = ?,
         enrolled_at = CASE WHEN ? = 'enrolled' THEN ? ELSE NULL END
       WHERE pseudonym = ?`,
      [state, modelId, state, isoNow(this.clock), pseudonym],
    );
  }

  /** The stored attempt-limiting state; a fresh state for an unknown subject. */
  attemptState(pseudonym: string): AttemptState {
    return this.find(pseudonym)?.attempts ?? { ...freshAttempts };
  }

  /** Stores the state computed by scoring/attempts.ts `recordOutcome`. Returns false for an unknown subject. */
  saveAttemptState(pseudonym: string, state: AttemptState): boolean {
    if (!Number.isInteger(state.consecutiveRejects) || state.consecutiveRejects < 0) {
      throw new RangeError('consecutiveRejects must be a non-negative integer');
    }
    const lastRejectAt = state.lastRejectAt === null ? null : new Date(state.lastRejectAt).toISOString();
    const r = this.db.run('UPDATE subjects SET consecutive_rejects = ?, last_reject_at = ?, verification_disabled = ? WHERE pseudonym = ?', [
      state.consecutiveRejects,
      lastRejectAt,
      state.disabled ? 1 : 0,
      pseudonym,
    ]);
    return r.changes === 1;
  }

  /** Operator reset or re-enrolment: clears throttling and re-enables verification. */
  resetAttempts(pseudonym: string): boolean {
    return this.saveAttemptState(pseudonym, { ...freshAttempts });
  }

  /** Enrolment funnel and lockouts, for operator statistics (aggregates only). */
  counts(): { subjects: number; enrolling: number; enrolled: number; verificationDisabled: number } {
    const r = this.db.get<{ subjects: number; enrolling: number | null; enrolled: number | null; disabled: number | null }>(
      `SELECT count(*) AS subjects,
              sum(enrolment_state = 'enrolling') AS enrolling,
              sum(enrolment_state = 'enrolled') AS enrolled,
              sum(verification_disabled) AS disabled
       FROM subjects`,
    );
    return { subjects: r?.subjects ?? 0, enrolling: r?.enrolling ?? 0, enrolled: r?.enrolled ?? 0, verificationDisabled: r?.disabled ?? 0 };
  }
}

function toRecord(row: SubjectRow): SubjectRecord {
  return {
    pseudonym: row.pseudonym,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    enrolmentState: row.enrolment_state,
    modelId: row.model_id,
    enrolledAt: row.enrolled_at,
    attempts: {
      consecutiveRejects: row.consecutive_rejects,
      lastRejectAt: row.last_reject_at === null ? null : Date.parse(row.last_reject_at),
      disabled: row.verification_disabled === 1,
    },
    noticeVersion: row.notice_version,
  };
}
