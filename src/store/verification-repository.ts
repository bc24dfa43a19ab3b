/**
 * Verification history: when, which policy, the decision and its scores — never audio or embeddings
 * (GDPR Art. 5(1)(c) data minimisation). It feeds the subject's export (Art. 15) and operator
 * statistics (aggregates only), and is erased with the subject (Art. 17).
 */
import { randomUUID } from 'node:crypto';
import type { ScoreChannel } from '../scoring/policy.js';
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';
import { subjectIdOf } from './subject-repository.js';

export const verificationDecisions = ['accept', 'reject', 'inconclusive', 'not-enrolled', 'no-consent', 'locked'] as const;
export type VerificationDecision = (typeof verificationDecisions)[number];

export interface VerificationInput {
  policy: string;
  decision: VerificationDecision;
  reasons: string[];
  /** Score on the documented scale (cosine until calibration); null when nothing was scored. */
  score: number | null;
  rawScore: number | null;
  /** The AS-norm score that decided, when the model enables score normalisation; else null. */
  normalisedScore: number | null;
  threshold: number | null;
  /** The policy threshold on the comparison scale (the cosine, or the AS-norm score). */
  rawThreshold: number | null;
  netSpeechSeconds: number | null;
  /** The channel the audio was scored on (its calibration and thresholds); null when no audio was analysed. */
  channel: ScoreChannel | null;
  modelId: string | null;
  actorKeyId: string | null;
}

export interface VerificationRecord extends VerificationInput {
  id: string;
  occurredAt: string;
}

export interface TimeRange {
  /** Inclusive ISO time. */
  from?: string;
  /** Exclusive ISO time. */
  to?: string;
}

/** A time range, optionally narrowed to the verifications scored on one channel. */
export interface StatsFilter extends TimeRange {
  channel?: ScoreChannel;
}

export interface ScoreHistogramBin {
  /** Inclusive lower edge; the first and last bins also hold scores beyond the range. */
  lower: number;
  upper: number;
  accept: number;
  reject: number;
}

interface VerificationRow {
  id: string;
  occurred_at: string;
  policy: string;
  decision: VerificationDecision;
  reasons: string;
  score: number | null;
  raw_score: number | null;
  normalised_score: number | null;
  threshold: number | null;
  raw_threshold: number | null;
  net_speech_seconds: number | null;
  channel: ScoreChannel | null;
  model_id: string | null;
  actor_key_id: string | null;
}

export type ScoreScaleColumn = 'score' | 'rawScore' | 'normalisedScore';
/** Fixed column names: the only strings spliced into the histogram's SQL. */
const scoreColumns: Record<ScoreScaleColumn, string> = { score: 'score', rawScore: 'raw_score', normalisedScore: 'normalised_score' };

const filterWhere = '(:from IS NULL OR occurred_at >= :from) AND (:to IS NULL OR occurred_at < :to) AND (:channel IS NULL OR channel = :channel)';

export class VerificationRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /**
   * Records one verification. A subject the store has never seen (no consent ever) is recorded without
   * a subject link: no row is created for a customer who never opted in.
   */
  record(pseudonym: string, input: VerificationInput): VerificationRecord {
    const record: VerificationRecord = { id: randomUUID(), occurredAt: isoNow(this.clock), ...input, reasons: [...input.reasons] };
    this.db.run(
      `INSERT INTO verifications (id, subject_id, occurred_at, policy, decision, reasons, score, raw_score, normalised_score, threshold, raw_threshold, net_speech_seconds, channel, model_id, actor_key_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.id,
        subjectIdOf(this.db, pseudonym) ?? null,
        record.occurredAt,
        record.policy,
        record.decision,
        JSON.stringify(record.reasons),
        finiteOrNull(record.score),
        finiteOrNull(record.rawScore),
        finiteOrNull(record.normalisedScore),
        finiteOrNull(record.threshold),
        finiteOrNull(record.rawThreshold),
        finiteOrNull(record.netSpeechSeconds),
        record.channel,
        record.modelId,
        record.actorKeyId,
      ],
    );
    return record;
  }

  /** Oldest first (export, Art. 15). */
  listForSubject(pseudonym: string): VerificationRecord[] {
    return this.db
      .all<VerificationRow>(
        `SELECT v.* FROM verifications v JOIN subjects s ON s.id = v.subject_id WHERE s.pseudonym = ? ORDER BY v.occurred_at, v.rowid`,
        [pseudonym],
      )
      .map(toRecord);
  }

  countForSubject(pseudonym: string): number {
    return this.db.get<{ n: number }>('SELECT count(*) AS n FROM verifications v JOIN subjects s ON s.id = v.subject_id WHERE s.pseudonym = ?', [pseudonym])?.n ?? 0;
  }

  /** Counts by policy and decision in a time range, on one channel if asked (operator statistics). */
  countsByPolicyAndDecision(filter: StatsFilter = {}): Array<{ policy: string; decision: VerificationDecision; count: number }> {
    return this.db.all<{ policy: string; decision: VerificationDecision; count: number }>(
      `SELECT policy, decision, count(*) AS count FROM verifications WHERE ${filterWhere} GROUP BY policy, decision ORDER BY policy, decision`,
      filterParams(filter),
    );
  }

  /**
   * How often each reason was given for an `inconclusive` decision (too little speech, low SNR,
   * clipping), most frequent first: why callers could not be decided (operator statistics).
   */
  inconclusiveReasons(filter: StatsFilter = {}): Array<{ reason: string; count: number }> {
    return this.db.all<{ reason: string; count: number }>(
      `SELECT r.value AS reason, count(*) AS count FROM verifications, json_each(verifications.reasons) AS r
       WHERE decision = 'inconclusive' AND ${filterWhere} GROUP BY r.value ORDER BY count DESC, r.value`,
      filterParams(filter),
    );
  }

  /**
   * Histogram of scores of accepted and rejected verifications: `bins` equal bins over [min, max);
   * scores outside fall in the edge bins; rows without that score are left out.
   * `of` picks the scale: `score` (the answered score: an LLR once calibrated), `rawScore` (the
   * cosine: comparable across recalibrations) or `normalisedScore` (the AS-norm score that decides
   * when the model enables it) (src/passport/stats.ts).
   */
  scoreHistogram(options: StatsFilter & { policy?: string; min?: number; max?: number; bins?: number; of?: ScoreScaleColumn } = {}): ScoreHistogramBin[] {
    const column = scoreColumns[options.of ?? 'score'];
    const min = options.min ?? -1;
    const max = options.max ?? 1;
    const bins = options.bins ?? 20;
    if (!(max > min) || !Number.isInteger(bins) || bins < 1 || bins > 1000) throw new RangeError('histogram needs max > min and 1-1000 bins');
    const width = (max - min) / bins;
    const rows = this.db.all<{ bin: number; decision: 'accept' | 'reject'; n: number }>(
      `SELECT min(max(CAST(floor((${column} - :min) / :width) AS INTEGER), 0), :last) AS bin, decision, count(*) AS n
       FROM verifications
       WHERE ${column} IS NOT NULL AND decision IN ('accept', 'reject') AND ${filterWhere} AND (:policy IS NULL OR policy = :policy)
       GROUP BY bin, decision`,
      { ...filterParams(options), min, width, last: bins - 1, policy: options.policy ?? null },
    );
    const out: ScoreHistogramBin[] = Array.from({ length: bins }, (_, i) => ({ lower: min + i * width, upper: min + (i + 1) * width, accept: 0, reject: 0 }));
    for (const r of rows) out[r.bin]![r.decision] += r.n;
    return out;
  }
}

function filterParams(filter: StatsFilter): { from: string | null; to: string | null; channel: ScoreChannel | null } {
  return { from: filter.from ?? null, to: filter.to ?? null, channel: filter.channel ?? null };
}

function finiteOrNull(v: number | null): number | null {
  return v !== null && Number.isFinite(v) ? v : null;
}

function toRecord(row: VerificationRow): VerificationRecord {
  return {
    id: row.id,
    occurredAt: row.occurred_at,
    policy: row.policy,
    decision: row.decision,
    reasons: JSON.parse(row.reasons) as string[],
    score: row.score,
    rawScore: row.raw_score,
    normalisedScore: row.normalised_score,
    threshold: row.threshold,
    rawThreshold: row.raw_threshold,
    netSpeechSeconds: row.net_speech_seconds,
    channel: row.channel,
    modelId: row.model_id,
    actorKeyId: row.actor_key_id,
  };
}
