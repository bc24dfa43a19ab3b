/**
 * Reported outcomes of verifications: whether the caller really was the customer, once the bank
 * knows (the caller passed a further check, an agent was sure, the customer reported a call that was
 * not theirs, a fraud case found an impostor). They turn decisions into measured error rates in
 * production (operator statistics), against the rates the calibration promised. A row goes with its
 * verification (migration 008: ON DELETE CASCADE).
 */
import type { ScoreChannel } from '../scoring/policy.js';
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';
import { filterWhere, type TimeRange, type VerificationDecision } from './verification-repository.js';

export const outcomeTruths = ['genuine', 'impostor'] as const;
export type OutcomeTruth = (typeof outcomeTruths)[number];

/**
 * How it became known: `step-up` (the caller then passed or failed another factor: security
 * questions, a one-time code), `agent` (the agent's judgement), `customer-report` (the customer
 * says a call was or was not them), `fraud-case` (an investigation's finding).
 */
export const outcomeSources = ['step-up', 'agent', 'customer-report', 'fraud-case'] as const;
export type OutcomeSource = (typeof outcomeSources)[number];

export interface VerificationOutcome {
  truth: OutcomeTruth;
  source: OutcomeSource;
  actorKeyId: string | null;
  reportedAt: string;
}

/** Reported outcomes counted by the verification's policy, scoring channel and decision. */
export interface OutcomeCount {
  policy: string;
  /** Null for verifications recorded before the channel was. */
  channel: ScoreChannel | null;
  decision: VerificationDecision;
  truth: OutcomeTruth;
  count: number;
}

interface OutcomeRow {
  verification_id: string;
  truth: OutcomeTruth;
  source: OutcomeSource;
  actor_key_id: string | null;
  reported_at: string;
}

const toOutcome = (r: OutcomeRow): VerificationOutcome => ({ truth: r.truth, source: r.source, actorKeyId: r.actor_key_id, reportedAt: r.reported_at });

export class VerificationOutcomeRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Records (or replaces) what the verification really was; returns what is now held. */
  report(verificationId: string, input: { truth: OutcomeTruth; source: OutcomeSource; actorKeyId: string | null }): VerificationOutcome {
    const reportedAt = isoNow(this.clock);
    this.db.run(
      `INSERT INTO verification_outcomes (verification_id, truth, source, actor_key_id, reported_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (verification_id) DO UPDATE SET truth = excluded.truth, source = excluded.source, actor_key_id = excluded.actor_key_id, reported_at = excluded.reported_at`,
      [verificationId, input.truth, input.source, input.actorKeyId, reportedAt],
    );
    return { truth: input.truth, source: input.source, actorKeyId: input.actorKeyId, reportedAt };
  }

  find(verificationId: string): VerificationOutcome | undefined {
    const row = this.db.get<OutcomeRow>('SELECT * FROM verification_outcomes WHERE verification_id = ?', [verificationId]);
    return row === undefined ? undefined : toOutcome(row);
  }

  /** The outcomes reported about one subject's verifications, by verification id (export, Art. 15). */
  forSubject(pseudonym: string): Map<string, VerificationOutcome> {
    const rows = this.db.all<OutcomeRow>(
      `SELECT o.* FROM verification_outcomes o JOIN verifications v ON v.id = o.verification_id JOIN subjects s ON s.id = v.subject_id WHERE s.pseudonym = ?`,
      [pseudonym],
    );
    return new Map(rows.map((r) => [r.verification_id, toOutcome(r)]));
  }

  /** Counts of the outcomes reported about verifications made in the range (by the verification's time). */
  counts(range: TimeRange = {}): OutcomeCount[] {
    const { where, params } = filterWhere(range, 'v.occurred_at');
    return this.db.all<OutcomeCount>(
      `SELECT v.policy AS policy, v.channel AS channel, v.decision AS decision, o.truth AS truth, count(*) AS count
       FROM verification_outcomes o JOIN verifications v ON v.id = o.verification_id
       WHERE ${where}
       GROUP BY v.policy, v.channel, v.decision, o.truth ORDER BY v.policy, v.channel, v.decision, o.truth`,
      params,
    );
  }
}
