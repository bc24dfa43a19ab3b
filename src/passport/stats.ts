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
  /**
   * Per policy: AS-norm scores of accepted and rejected verifications in 20 bins over [-4, 12). With a
   * model that enables AS-norm this is the scale decisions are made on (policy thresholds are on it),
   * while the cosine histogram above can mix accepts and rejects in one bin. Verifications made
   * without AS-norm have no normalised score and are not counted here.
   */
  normalisedScoreHistograms: Record<string, ScoreHistogramBin[]>;
  enrolment: { subjects: number; enrolling: number; enrolled: number };
  lockouts: { lockedDecisions: number; verificationDisabledNow: number };
}

function emptyCounts(): Record<VerificationDecision, number> {
  return Object.fromEntries(verificationDecisions.map((d) => [d, 0])) as Record<VerificationDecision, number>;
}

/**
 * AS-norm scores are (roughly) standard scores against impostors: non-targets centre near or below 0
 * and the FMR 1 % / 0.1 % thresholds lie a few units above (the default model's operating points,
 * in its manifest's calibration, give the exact values), with targets above. Twenty bins of 0.8
 * over [-4, 12) keep the threshold region readable; scores beyond fall in the edge bins.
 */
const normalisedScoreRange = { min: -4, max: 12, bins: 20 } as const;

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
  const normalisedScoreHistograms: Record<string, ScoreHistogramBin[]> = {};
  const rounded = (bins: ScoreHistogramBin[]) => bins.map((b) => ({ ...b, lower: round(b.lower), upper: round(b.upper) }));
  for (const policy of Object.keys(byPolicy)) {
    scoreHistograms[policy] = rounded(verifications.scoreHistogram({ ...range, policy, of: 'rawScore' }));
    normalisedScoreHistograms[policy] = rounded(verifications.scoreHistogram({ ...range, policy, of: 'normalisedScore', ...normalisedScoreRange }));
  }
  const c = subjects.counts();
  return {
    from: range.from ?? null,
    to: range.to ?? null,
    verifications: { total, byDecision, byPolicy },
    scoreHistograms,
    normalisedScoreHistograms,
    enrolment: { subjects: c.subjects, enrolling: c.enrolling, enrolled: c.enrolled },
    lockouts: { lockedDecisions: byDecision.locked, verificationDisabledNow: c.verificationDisabled },
  };
}
