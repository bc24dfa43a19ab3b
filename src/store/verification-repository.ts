/**
 * Verification history: when, which policy, the decision and its scores — never audio or embeddings
 * (GDPR Art. 5(1)(c) data minimisation). It feeds the subject's export (Art. 15) and operator
 * statistics (aggregates only), and is erased with the subject (Art. 17).
 */
import { randomUUID } from 'node:crypto';
import type { ScoreChannel } from '../scoring/policy.js';
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';
import type { NoticeCutoff } from './consent-repository.js';
import { subjectIdOf } from './subject-repository.js';

export const verificationDecisions = ['accept', 'reject', 'inconclusive', 'not-enrolled', 'no-consent', 'locked'] as const;
export type VerificationDecision = (typeof verificationDecisions)[number];

/** How the audio came: a recording in a request body, or the call's audio over a stream (history, export and audit: GDPR Art. 5(2), 15). */
export const verificationTransports = ['request', 'stream'] as const;
export type VerificationTransport = (typeof verificationTransports)[number];

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
  transport: VerificationTransport;
}

export interface VerificationRecord extends Omit<VerificationInput, 'transport'> {
  id: string;
  occurredAt: string;
  /** Null for verifications recorded before the transport was. */
  transport: VerificationTransport | null;
}

export interface TimeRange {
  /** Inclusive ISO time. */
  from?: string;
  /** Exclusive ISO time. */
  to?: string;
}

export interface ScoreHistogramBin {
  /** Inclusive lower edge; the first and last bins also hold scores beyond the range. */
  lower: number;
  upper: number;
  accept: number;
  reject: number;
}

export interface DecisionCount {
  channel: ScoreChannel | null;
  /** Null for rows recorded before the transport was. */
  transport: VerificationTransport | null;
  policy: string;
  decision: VerificationDecision;
  count: number;
}

export interface ReasonCount {
  channel: ScoreChannel | null;
  transport: VerificationTransport | null;
  reason: string;
  count: number;
}

export interface HistogramSpec {
  of?: ScoreScaleColumn;
  min?: number;
  max?: number;
  bins?: number;
}

export interface HistogramGroup {
  channel: ScoreChannel | null;
  policy: string;
  bins: ScoreHistogramBin[];
}

/** `bins` (default 20) empty bins of equal width over [min, max) (default [-1, 1)). */
export function emptyHistogram(spec: HistogramSpec = {}): ScoreHistogramBin[] {
  const min = spec.min ?? -1;
  const max = spec.max ?? 1;
  const bins = spec.bins ?? 20;
  if (!(max > min) || !Number.isInteger(bins) || bins < 1 || bins > 1000) throw new RangeError('histogram needs max > min and 1-1000 bins');
  const width = (max - min) / bins;
  return Array.from({ length: bins }, (_, i) => ({ lower: min + i * width, upper: min + (i + 1) * width, accept: 0, reject: 0 }));
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
  transport: VerificationTransport | null;
}

export type ScoreScaleColumn = 'score' | 'rawScore' | 'normalisedScore';
/** Fixed column names: the only strings spliced into the histogram's SQL. */
const scoreColumns: Record<ScoreScaleColumn, string> = { score: 'score', rawScore: 'raw_score', normalisedScore: 'normalised_score' };

/**
 * The conditions of a time range, only those given: "(:from IS NULL OR occurred_at >= :from)"
 * would keep SQLite from using verifications_by_time, so a day's statistics would scan the whole
 * history (the planner does not take an OR with a bound parameter as an index range). `column` is a
 * fixed column name of the callers, never input.
 */
export function filterWhere(range: TimeRange, column = 'occurred_at'): { where: string; params: Record<string, string> } {
  const terms: string[] = [];
  if (range.from !== undefined) terms.push(`${column} >= :from`);
  if (range.to !== undefined) terms.push(`${column} < :to`);
  return {
    where: terms.length === 0 ? '1' : terms.join(' AND '),
    params: { ...(range.from === undefined ? {} : { from: range.from }), ...(range.to === undefined ? {} : { to: range.to }) },
  };
}

/**
 * Records older than `cutoff`, or than the nearer cutoff of the notice their subject's latest consent
 * was given under (NoticeCutoff).
 */
function olderThan(cutoff: Date, noticeCutoffs: readonly NoticeCutoff[]): { where: string; params: Record<string, string> } {
  const params: Record<string, string> = { c: cutoff.toISOString() };
  const terms = ['occurred_at < :c'];
  noticeCutoffs
    .filter((n) => n.cutoff > cutoff)
    .forEach((n, i) => {
      params[`c${i}`] = n.cutoff.toISOString();
      params[`v${i}`] = n.noticeVersion;
      terms.push(`(occurred_at < :c${i} AND subject_id IN (SELECT id FROM subjects WHERE notice_version = :v${i}))`);
    });
  return { where: terms.join(' OR '), params };
}

/** The records of the subject with pseudonym :p, linked to its row or, from before it had one, by pseudonym. */
const ofSubject = '(v.subject_id = (SELECT id FROM subjects WHERE pseudonym = :p) OR v.caller_pseudonym = :p)';

export class VerificationRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /**
   * Records one verification. A subject the store has never seen (no consent ever) is recorded with
   * the caller's pseudonym instead of a subject link: no row is created for a customer who never opted
   * in, and the record is still theirs to see and erase (migration 013).
   */
  record(pseudonym: string, input: VerificationInput): VerificationRecord {
    const record: VerificationRecord = { id: randomUUID(), occurredAt: isoNow(this.clock), ...input, reasons: [...input.reasons] };
    const subjectId = subjectIdOf(this.db, pseudonym);
    this.db.run(
      `INSERT INTO verifications (id, subject_id, caller_pseudonym, occurred_at, policy, decision, reasons, score, raw_score, normalised_score, threshold, raw_threshold, net_speech_seconds, channel, model_id, actor_key_id, transport)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.id,
        subjectId ?? null,
        subjectId === undefined ? pseudonym : null,
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
        record.transport,
      ],
    );
    return record;
  }

  /** One verification and the pseudonym of its subject (null: recorded for no stored subject). */
  find(id: string): { record: VerificationRecord; subjectPseudonym: string | null } | undefined {
    const row = this.db.get<VerificationRow & { pseudonym: string | null }>(
      'SELECT v.*, s.pseudonym AS pseudonym FROM verifications v LEFT JOIN subjects s ON s.id = v.subject_id WHERE v.id = ?',
      [id],
    );
    return row === undefined ? undefined : { record: toRecord(row), subjectPseudonym: row.pseudonym };
  }

  /** Oldest first (export, Art. 15): the subject's, and those recorded before it had a subject row. */
  listForSubject(pseudonym: string): VerificationRecord[] {
    return this.db
      .all<VerificationRow>(`SELECT v.* FROM verifications v WHERE ${ofSubject} ORDER BY v.occurred_at, v.rowid`, { p: pseudonym })
      .map(toRecord);
  }

  countForSubject(pseudonym: string): number {
    return this.db.get<{ n: number }>(`SELECT count(*) AS n FROM verifications v WHERE ${ofSubject}`, { p: pseudonym })?.n ?? 0;
  }

  /** How many verifications are older than `cutoff`, or than a nearer cutoff of their subject's notice (the history's retention). */
  countOlderThan(cutoff: Date, noticeCutoffs: readonly NoticeCutoff[] = []): number {
    const { where, params } = olderThan(cutoff, noticeCutoffs);
    return this.db.get<{ n: number }>(`SELECT count(*) AS n FROM verifications WHERE ${where}`, params)?.n ?? 0;
  }

  /** The row numbers of what countOlderThan counts, in the table's order (erase's). */
  findOlderThan(cutoff: Date, noticeCutoffs: readonly NoticeCutoff[] = []): number[] {
    const { where, params } = olderThan(cutoff, noticeCutoffs);
    // Sorted here: ORDER BY rowid in SQL would scan the whole table instead of the time index.
    return this.db
      .all<{ rowid: number }>(`SELECT rowid FROM verifications WHERE ${where}`, params)
      .map((r) => r.rowid)
      .sort((a, b) => a - b);
  }

  /**
   * Deletes these records (zeroed in place: secure_delete) that are older than `before`, and returns
   * how many went; one already gone (its subject erased meanwhile) counts for nothing, and one whose
   * row number was reused since is younger than `before` and stays. The caller holds the transaction.
   */
  erase(rowids: readonly number[], before: Date): number {
    // One statement for the batch (the row numbers as one JSON array), in the table's order.
    return this.db.run('DELETE FROM verifications WHERE rowid IN (SELECT value FROM json_each(:rowids)) AND occurred_at < :before', { rowids: JSON.stringify(rowids), before: before.toISOString() }).changes;
  }

  /**
   * Counts by scoring channel, transport, policy and decision in a time range (operator
   * statistics): one pass serves the totals, every channel and every transport. Channel null: no
   * audio was analysed (not-enrolled, no-consent, locked) or the row predates the channel column;
   * transport null: the row predates the transport column.
   */
  decisionCounts(range: TimeRange = {}): DecisionCount[] {
    const { where, params } = filterWhere(range);
    return this.db.all<DecisionCount>(
      `SELECT channel, transport, policy, decision, count(*) AS count FROM verifications WHERE ${where}
       GROUP BY channel, transport, policy, decision ORDER BY policy, decision, channel, transport`,
      params,
    );
  }

  /**
   * How often each reason was given for an `inconclusive` decision (too little speech, low SNR,
   * clipping), per scoring channel and transport, most frequent first: why callers could not be
   * decided (operator statistics).
   */
  inconclusiveReasons(range: TimeRange = {}): ReasonCount[] {
    const { where, params } = filterWhere(range);
    return this.db.all<ReasonCount>(
      `SELECT channel, transport, r.value AS reason, count(*) AS count FROM verifications, json_each(verifications.reasons) AS r
       WHERE decision = 'inconclusive' AND ${where} GROUP BY channel, transport, r.value ORDER BY count DESC, r.value, channel, transport`,
      params,
    );
  }

  /**
   * Histograms of the scores of accepted and rejected verifications, one per scoring channel and
   * policy that has any, in one pass: `bins` equal bins over [min, max) (emptyHistogram); scores
   * outside fall in the edge bins; rows without that score are left out. `of` picks the scale:
   * `score` (the answered score: an LLR once calibrated), `rawScore` (the cosine: comparable across
   * recalibrations) or `normalisedScore` (the AS-norm score that decides when the model enables it)
   * (src/passport/stats.ts).
   */
  scoreHistograms(range: TimeRange, spec: HistogramSpec = {}): HistogramGroup[] {
    const column = scoreColumns[spec.of ?? 'score'];
    const empty = emptyHistogram(spec);
    const width = empty[0]!.upper - empty[0]!.lower;
    const { where, params } = filterWhere(range);
    const rows = this.db.all<{ channel: ScoreChannel | null; policy: string; bin: number; decision: 'accept' | 'reject'; n: number }>(
      `SELECT channel, policy, min(max(CAST(floor((${column} - :min) / :width) AS INTEGER), 0), :last) AS bin, decision, count(*) AS n
       FROM verifications
       WHERE ${column} IS NOT NULL AND decision IN ('accept', 'reject') AND ${where}
       GROUP BY channel, policy, bin, decision ORDER BY policy, channel`,
      { ...params, min: empty[0]!.lower, width, last: empty.length - 1 },
    );
    const groups = new Map<string, HistogramGroup>();
    for (const r of rows) {
      const key = `${r.channel}|${r.policy}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { channel: r.channel, policy: r.policy, bins: emptyHistogram(spec) };
        groups.set(key, group);
      }
      group.bins[r.bin]![r.decision] += r.n;
    }
    return [...groups.values()];
  }
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
    transport: row.transport,
  };
}
