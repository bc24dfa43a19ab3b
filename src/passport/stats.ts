/**
 * Operator statistics: aggregates only (GDPR Art. 5(1)(c), 25(2)): counts by decision and policy,
 * score histograms, the enrolment funnel and lockouts. No subject appears in them.
 */
import { z } from 'zod';
import { verificationDecisions, type ScoreHistogramBin, type VerificationDecision } from '../store/index.js';
import type { PassportContext } from './context.js';
import { round } from './views.js';

const isoDateTime = z.iso.datetime({ offset: true }).or(z.iso.date());

export const statsQuerySchema = z
  .object({
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) < Date.parse(q.to), { message: '"from" must be before "to"', path: ['from'] });

export type StatsQuery = z.infer<typeof statsQuerySchema>;

export interface StatsResponse {
  from: string | null;
  to: string | null;
  verifications: {
    total: number;
    byDecision: Record<VerificationDecision, number>;
    byPolicy: Record<string, Record<VerificationDecision, number>>;
  };
  /**
   * Per policy: raw scores (cosine) of accepted and rejected verifications in 20 bins over [-1, 1).
   * The cosine, not the calibrated LLR: it has a fixed range and stays comparable across recalibrations.
   */
  scoreHistograms: Record<string, ScoreHistogramBin[]>;
  enrolment: { subjects: number; enrolling: number; enrolled: number };
  lockouts: { lockedDecisions: number; verificationDisabledNow: number };
}

function emptyCounts(): Record<VerificationDecision, number> {
  return Object.fromEntries(verificationDecisions.map((d) => [d, 0])) as Record<VerificationDecision, number>;
}

const toIso = (t: string | undefined) => (t === undefined ? undefined : new Date(Date.parse(t)).toISOString());

export function operatorStats(ctx: PassportContext, query: StatsQuery): StatsResponse {
  const range = { ...(query.from ? { from: toIso(query.from)! } : {}), ...(query.to ? { to: toIso(query.to)! } : {}) };
  const { verifications, subjects } = ctx.store;
  const byDecision = emptyCounts();
  const byPolicy: Record<string, Record<VerificationDecision, number>> = {};
  let total = 0;
  for (const row of verifications.countsByPolicyAndDecision(range)) {
    byDecision[row.decision] += row.count;
    (byPolicy[row.policy] ??= emptyCounts())[row.decision] += row.count;
    total += row.count;
  }
  const scoreHistograms: Record<string, ScoreHistogramBin[]> = {};
  for (const policy of Object.keys(byPolicy)) {
    scoreHistograms[policy] = verifications.scoreHistogram({ ...range, policy, of: 'rawScore' }).map((b) => ({ ...b, lower: round(b.lower), upper: round(b.upper) }));
  }
  const c = subjects.counts();
  return {
    from: range.from ?? null,
    to: range.to ?? null,
    verifications: { total, byDecision, byPolicy },
    scoreHistograms,
    enrolment: { subjects: c.subjects, enrolling: c.enrolling, enrolled: c.enrolled },
    lockouts: { lockedDecisions: byDecision.locked, verificationDisabledNow: c.verificationDisabled },
  };
}
