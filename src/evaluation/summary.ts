/**
 * The figures of one trial set as they appear in the evaluation report: counts, EER with its
 * speaker-bootstrap 95 % interval, minDCF, and FMR/FNMR at each policy threshold quoted under
 * the rule of three, with their speaker-bootstrap intervals and the pairs of speakers the false
 * matches come from. Pure.
 */
import { falseMatchPairs, speakerBootstrapEer, speakerBootstrapRates, type BootstrapInterval, type RateInterval, type SpeakerTrials } from './confidence.js';
import {
  equalErrorRate,
  errorCountsAt,
  minDetectionCost,
  operatingPoints,
  quoteRate,
  sreCostModel,
  type CostModel,
  type OperatingPoints,
  type QuotedRate,
} from './metrics.js';
import { speakerTrials, splitScores, trialCounts, type TrialSet } from './trials.js';

export interface BootstrapOptions {
  replicates: number;
  seed: number;
}

export const defaultBootstrap: BootstrapOptions = { replicates: 1000, seed: 1 };

export interface TrialSummary {
  speakers: number;
  targetTrials: number;
  nonTargetTrials: number;
  eer: {
    value: number;
    percent: number;
    /** Cosine threshold at the crossing. */
    threshold: number;
    ci95: BootstrapInterval;
  };
  minDcf: CostModel & {
    value: number;
    /** Null where no threshold beats rejecting every trial (value 1): the minimum is reject-all. */
    threshold: number | null;
    fmr: number;
    fnmr: number;
    /** The two rates as they may be quoted (quoteRate: never a rate below 3/N). */
    fmrText: string;
    fnmrText: string;
  };
}

/** 6 significant decimals: enough for any rate from these trial counts, short in JSON. */
export function round6(v: number): number {
  return Number.isFinite(v) ? Number(v.toFixed(6)) : v;
}

export function roundInterval(i: RateInterval): RateInterval {
  return { low: round6(i.low), high: round6(i.high) };
}

export function summariseTrials(
  set: TrialSet,
  speakers: number,
  bootstrap: BootstrapOptions = defaultBootstrap,
): { summary: TrialSummary; points: OperatingPoints; bySpeaker: SpeakerTrials } {
  const bySpeaker = speakerTrials(set, speakers);
  const points = operatingPoints(bySpeaker.sorted);
  const eer = equalErrorRate(points);
  const dcf = minDetectionCost(points, sreCostModel);
  const ci = speakerBootstrapEer(bySpeaker, bootstrap);
  const counts = trialCounts(set);
  return {
    points,
    bySpeaker,
    summary: {
      speakers,
      targetTrials: counts.target,
      nonTargetTrials: counts.nonTarget,
      eer: {
        value: round6(eer.eer),
        percent: Number((eer.eer * 100).toFixed(2)),
        threshold: round6(eer.threshold),
        ci95: { ...ci, low: round6(ci.low), high: round6(ci.high) },
      },
      minDcf: {
        ...sreCostModel,
        value: round6(dcf.minDcf),
        threshold: Number.isFinite(dcf.threshold) ? round6(dcf.threshold) : null,
        fmr: round6(dcf.fmr),
        fnmr: round6(dcf.fnmr),
        // Unweighted trials: each rate is a count over its trials, recovered exactly by rounding.
        fmrText: quoteRate(Math.round(dcf.fmr * counts.nonTarget), counts.nonTarget).text,
        fnmrText: quoteRate(Math.round(dcf.fnmr * counts.target), counts.target).text,
      },
    },
  };
}

export interface PolicyRates {
  policy: string;
  threshold: number;
  falseMatches: number;
  nonTargetTrials: number;
  /** Null when below 3/N (see `fmrText`). */
  fmr: number | null;
  fmrText: string;
  falseNonMatches: number;
  targetTrials: number;
  fnmr: number | null;
  fnmrText: string;
  /** 95 % intervals over resampled speakers (confidence.ts), as calibrate stores them. */
  fmrInterval: RateInterval;
  fnmrInterval: RateInterval;
  /**
   * Pairs of speakers the false matches come from (confidence.ts, falseMatchPairs): a rate made by
   * fewer than three says little about other speakers (src/scoring/calibration.ts, MIN_FALSE_MATCH_PAIRS).
   */
  falseMatchPairs: number;
}

/**
 * FMR and FNMR at each policy threshold (accept when cosine ≥ threshold). Both rates follow the
 * rule of three: a rate below 3/N is given as "< 3/N", not as a number. `trials` are the sorted
 * trials summariseTrials returns (`bySpeaker`), so they are not sorted again.
 */
export function policyRates(trials: SpeakerTrials, policies: readonly { name: string; threshold: number }[], bootstrap: BootstrapOptions = defaultBootstrap): PolicyRates[] {
  const { scores: all, isTarget } = trials.sorted;
  const scores = { target: all.filter((_, i) => isTarget[i] === 1), nonTarget: all.filter((_, i) => isTarget[i] === 0) };
  const thresholds = policies.map((p) => p.threshold);
  const { intervals } = speakerBootstrapRates(trials, thresholds, bootstrap);
  const pairs = falseMatchPairs(trials, thresholds);
  return policies.map((p, k) => {
    const c = errorCountsAt(scores, p.threshold);
    const fmr: QuotedRate = quoteRate(c.falseMatches, c.nonTargetTrials);
    const fnmr: QuotedRate = quoteRate(c.falseNonMatches, c.targetTrials);
    return {
      policy: p.name,
      threshold: p.threshold,
      falseMatches: c.falseMatches,
      nonTargetTrials: c.nonTargetTrials,
      fmr: fmr.value === null ? null : round6(fmr.value),
      fmrText: fmr.text,
      falseNonMatches: c.falseNonMatches,
      targetTrials: c.targetTrials,
      fnmr: fnmr.value === null ? null : round6(fnmr.value),
      fnmrText: fnmr.text,
      fmrInterval: roundInterval(intervals[k]!.fmr),
      fnmrInterval: roundInterval(intervals[k]!.fnmr),
      falseMatchPairs: pairs[k]!,
    };
  });
}
