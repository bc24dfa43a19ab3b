/**
 * Operator statistics: aggregates only (GDPR Art. 5(1)(c), 25(2)): counts by decision and policy,
 * score histograms, in all and per scoring channel with the reasons callers went undecided, counts
 * and reasons per transport (a recording or a stream), the enrolment funnel, lockouts, and the error
 * rates among the calls whose outcome was reported. No subject appears in them.
 */
import { z } from 'zod';
import { scoreChannels, type ScoreChannel } from '../scoring/policy.js';
import {
  emptyHistogram,
  verificationDecisions,
  verificationTransports,
  type DecisionCount,
  type HistogramGroup,
  type ReasonCount,
  type ScoreHistogramBin,
  type VerificationDecision,
  type VerificationTransport,
} from '../store/index.js';
import { instantQuery, toIsoInstant } from './instants.js';
import type { PassportContext } from './context.js';
import { outcomesByPolicy, type PolicyOutcomes } from './outcomes.js';
import { round } from './views.js';

export const statsQuerySchema = z
  .object({
    from: instantQuery.optional(),
    to: instantQuery.optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) < Date.parse(q.to), { message: '"from" must be before "to"', path: ['from'] });

export type StatsQuery = z.infer<typeof statsQuerySchema>;

/** Verification counts by decision, in all and per policy. */
export interface DecisionTotals {
  total: number;
  byDecision: Record<VerificationDecision, number>;
  byPolicy: Record<string, Record<VerificationDecision, number>>;
}

/** Verification counts and score histograms over one set of verifications. */
export interface VerificationStats {
  verifications: DecisionTotals;
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
}

/**
 * The verifications scored on one channel. Each channel has its own calibration and policy thresholds
 * (accuracy issue 4 §3) and its own share of callers who cannot be decided, so a change on one (a
 * new phone network, a noisier contact centre) shows here before it is averaged away in the totals.
 */
export interface ChannelStats extends VerificationStats {
  /** Reason codes given with `inconclusive` decisions (too little speech, low SNR, clipping) and how often. */
  inconclusiveReasons: Record<string, number>;
}

/**
 * The verifications whose audio came one way: a recording in a request body, or a call streamed
 * as it is spoken. A stream is decided on what the caller has said when it ends or falls silent,
 * so its share of `inconclusive` (and their reasons) can differ from the recordings' and say
 * something of the platform's integration (streams cut short, silence) that totals average away.
 */
export interface TransportStats {
  verifications: DecisionTotals;
  inconclusiveReasons: Record<string, number>;
}

export interface StatsResponse extends VerificationStats {
  from: string | null;
  to: string | null;
  /** The same figures per scoring channel; verifications without analysed audio are in the totals only. */
  byChannel: Record<ScoreChannel, ChannelStats>;
  /** Counts and inconclusive reasons per transport; verifications recorded before the transport was are in the totals only. */
  byTransport: Record<VerificationTransport, TransportStats>;
  enrolment: { subjects: number; enrolling: number; enrolled: number };
  lockouts: { lockedDecisions: number; verificationDisabledNow: number };
  /**
   * Per policy, the verifications in the range whose outcome was reported (PUT
   * /v1/verifications/{id}/outcome), and the error rates among them (outcomes.ts: not a random sample).
   */
  outcomes: Record<string, PolicyOutcomes>;
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
const normalisedScoreRange = { of: 'normalisedScore', min: -4, max: 12, bins: 20 } as const;

/** The rows of one pass, for the totals (every row) or one channel. */
interface StatsRows {
  counts: readonly DecisionCount[];
  raw: readonly HistogramGroup[];
  normalised: readonly HistogramGroup[];
}

/** The cosine's whole range in 20 bins (scoreHistograms). */
const rawScoreRange = { of: 'rawScore', min: -1, max: 1, bins: 20 } as const;

/** Sums the groups of one policy into one histogram, edges rounded for the response. */
function policyHistogram(groups: readonly HistogramGroup[], policy: string, spec: { min: number; max: number; bins: number }): ScoreHistogramBin[] {
  const out = emptyHistogram(spec);
  for (const g of groups) {
    if (g.policy !== policy) continue;
    g.bins.forEach((b, i) => {
      out[i]!.accept += b.accept;
      out[i]!.reject += b.reject;
    });
  }
  return out.map((b) => ({ ...b, lower: round(b.lower), upper: round(b.upper) }));
}

function decisionTotals(counts: readonly DecisionCount[]): DecisionTotals {
  const byDecision = emptyCounts();
  const byPolicy: Record<string, Record<VerificationDecision, number>> = {};
  let total = 0;
  for (const row of counts) {
    byDecision[row.decision] += row.count;
    (byPolicy[row.policy] ??= emptyCounts())[row.decision] += row.count;
    total += row.count;
  }
  return { total, byDecision, byPolicy };
}

function verificationStats(rows: StatsRows): VerificationStats {
  const verifications = decisionTotals(rows.counts);
  const scoreHistograms: Record<string, ScoreHistogramBin[]> = {};
  const normalisedScoreHistograms: Record<string, ScoreHistogramBin[]> = {};
  for (const policy of Object.keys(verifications.byPolicy)) {
    scoreHistograms[policy] = policyHistogram(rows.raw, policy, rawScoreRange);
    normalisedScoreHistograms[policy] = policyHistogram(rows.normalised, policy, normalisedScoreRange);
  }
  return { verifications, scoreHistograms, normalisedScoreHistograms };
}

/** How often each reason was given (rows of several channels or transports summed). */
function reasonCounts(rows: readonly ReasonCount[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.reason] = (out[r.reason] ?? 0) + r.count;
  // Most frequent first, as the repository orders a single group.
  return Object.fromEntries(Object.entries(out).sort(([a, m], [b, n]) => n - m || a.localeCompare(b)));
}

export function operatorStats(ctx: PassportContext, query: StatsQuery): StatsResponse {
  const range = { ...(query.from ? { from: toIsoInstant(query.from) } : {}), ...(query.to ? { to: toIsoInstant(query.to) } : {}) };
  // One pass each, grouped by channel (and transport): the totals, the channels and the transports
  // are sums of the same rows, so the channels add up to the totals (less the calls that analysed no
  // audio), and so do the transports (less the rows from before the transport was recorded).
  const { verifications } = ctx.store;
  const all: StatsRows = {
    counts: verifications.decisionCounts(range),
    raw: verifications.scoreHistograms(range, rawScoreRange),
    normalised: verifications.scoreHistograms(range, normalisedScoreRange),
  };
  const reasons: readonly ReasonCount[] = verifications.inconclusiveReasons(range);
  const on = <T extends { channel: ScoreChannel | null }>(xs: readonly T[], channel: ScoreChannel) => xs.filter((x) => x.channel === channel);
  const by = <T extends { transport: VerificationTransport | null }>(xs: readonly T[], transport: VerificationTransport) => xs.filter((x) => x.transport === transport);
  const totals = verificationStats(all);
  const byChannel = Object.fromEntries(
    scoreChannels.map((channel) => [
      channel,
      {
        ...verificationStats({ counts: on(all.counts, channel), raw: on(all.raw, channel), normalised: on(all.normalised, channel) }),
        inconclusiveReasons: reasonCounts(on(reasons, channel)),
      },
    ]),
  ) as Record<ScoreChannel, ChannelStats>;
  const byTransport = Object.fromEntries(
    verificationTransports.map((transport) => [transport, { verifications: decisionTotals(by(all.counts, transport)), inconclusiveReasons: reasonCounts(by(reasons, transport)) }]),
  ) as Record<VerificationTransport, TransportStats>;
  const c = ctx.store.subjects.counts();
  return {
    from: range.from ?? null,
    to: range.to ?? null,
    ...totals,
    byChannel,
    byTransport,
    enrolment: { subjects: c.subjects, enrolling: c.enrolling, enrolled: c.enrolled },
    lockouts: { lockedDecisions: totals.verifications.byDecision.locked, verificationDisabledNow: c.verificationDisabled },
    outcomes: outcomesByPolicy(ctx.store.outcomes.counts(range)),
  };
}
