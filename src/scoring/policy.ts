/**
 * Verification policies: named risk tiers an operator sets. A policy says how sure we must be and
 * how much net speech a decision needs; below that the answer is "inconclusive" with the seconds
 * still needed, never a guess.
 *
 * How sure: either a target false match rate (`targetFmr`, e.g. 1 %) or an explicit raw threshold.
 * A target FMR is turned into a threshold from the running model's calibration (the measured
 * non-target scores of its dev trials, src/scoring/calibration.ts), per channel, whenever it is
 * used, so a recalibrated model never decides with a threshold derived from older data. The target
 * bounds the FMR measured on the calibration speakers, or, with `targetFmrBound: "upper-95"`, the
 * upper end of its 95 % interval over resampled speakers: new callers met about 1.3 × the measured
 * rate at 1 % (models/README.md, *Calibration and policies*; defaultTargetFmrBound, below).
 *
 * Thresholds are compared on the COMPARISON SCORE (src/scoring/scorer.ts): the cosine of the two
 * embeddings, or, when the model manifest enables `scoreNormalisation`, the AS-norm score of that
 * cosine against an impostor cohort (src/scoring/as-norm.ts). The calibration is fitted on that
 * score (LLR = a·score + b, a > 0), its operating table is measured on it, explicit thresholds are
 * on it, and the LLR is a strictly increasing function of it, so comparing LLRs would accept exactly
 * the same trials. "Raw" below means uncalibrated: on the comparison scale. The API reports the
 * threshold on both scales; its rawScore stays the cosine, and normalisedScore is the AS-norm score.
 *
 * Explicit thresholds: a cosine is in [−1, 1]; an AS-norm score is a number of standard deviations
 * and may exceed that, so the schema takes [−100, 100] and a model that compares cosines refuses
 * values outside [−1, 1] (policyInputSchemaFor).
 */
import { z } from 'zod';
import type { ChannelCalibration, ModelCalibration } from '../model/manifest.js';
import {
  applyCalibration,
  lowestSupportedTarget,
  minSpeechForEer,
  tableHasIntervals,
  targetFmrBounds,
  thresholdForFmr,
  type OperatingRow,
  type TargetFmrBound,
} from './calibration.js';
import type { RateInterval } from '../evaluation/confidence.js';
import type { ComparisonScale } from './scorer.js';

export const policyNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, 1-32 chars');

/** The widest explicit threshold accepted (AS-norm scores; a cosine model accepts [−1, 1]). */
export const POLICY_THRESHOLD_LIMIT = 100;

function policySchemaWithThreshold(threshold: z.ZodNumber) {
  return z
    .object({
      name: policyNameSchema,
      /** Target false match rate in (0, 0.5]: the threshold is derived from the calibration data. */
      targetFmr: z.number().gt(0).max(0.5).optional(),
      /** What targetFmr bounds: the measured FMR (default) or the upper end of its 95 % interval. */
      targetFmrBound: z.enum(targetFmrBounds).optional(),
      /** Explicit decision threshold on the comparison score: accept when score ≥ threshold. */
      threshold: threshold.optional(),
      /** Least net speech (seconds, after voice activity detection) for a decision; derived when omitted. */
      minNetSpeechSeconds: z.number().min(0.5).max(60).optional(),
      description: z.string().max(200).default(''),
    })
    .strict()
    .refine((p) => (p.targetFmr === undefined) !== (p.threshold === undefined), 'set either targetFmr or threshold (exactly one)')
    .refine((p) => p.targetFmrBound === undefined || p.targetFmr !== undefined, { message: 'targetFmrBound goes with targetFmr (an explicit threshold bounds nothing)', path: ['targetFmrBound'] });
}

/** A policy as an operator sends it: exactly one of targetFmr and threshold (in [−100, 100]). */
export const policyInputSchema = policySchemaWithThreshold(z.number().min(-POLICY_THRESHOLD_LIMIT).max(POLICY_THRESHOLD_LIMIT));

const cosineRangeMessage = `the running model compares cosines: an explicit threshold is in [-1, 1] (only a model with AS-norm enabled takes [-${POLICY_THRESHOLD_LIMIT}, ${POLICY_THRESHOLD_LIMIT}])`;
const cosinePolicyInputSchema = policySchemaWithThreshold(z.number().min(-1, cosineRangeMessage).max(1, cosineRangeMessage));

/** The policy schema for the running model's comparison scale: cosines take thresholds in [−1, 1]. */
export function policyInputSchemaFor(scale: ComparisonScale): typeof policyInputSchema {
  return scale === 'cosine' ? cosinePolicyInputSchema : policyInputSchema;
}

export type PolicyInput = z.infer<typeof policyInputSchema>;

/** A policy as the decision uses it (src/scoring/decision.ts): threshold on the comparison score. */
export interface Policy {
  name: string;
  threshold: number;
  minNetSpeechSeconds: number;
  description: string;
}

/**
 * Defaults without a calibration: cosine thresholds (a model with AS-norm enabled should be
 * calibrated: these figures are then read on its AS-norm scale). `high` asks for more speech and a
 * stricter match (use for payments).
 */
export const defaultPolicies: readonly Policy[] = [
  { name: 'standard', threshold: 0.5, minNetSpeechSeconds: 3, description: 'Caller authentication for account information.' },
  { name: 'high', threshold: 0.6, minNetSpeechSeconds: 5, description: 'Payments and changes to contact details.' },
];

/** Defaults with a calibration: the same tiers set by false match rate (issue 4 §3). */
export const calibratedDefaultTargets: readonly { name: string; targetFmr: number }[] = [
  { name: 'standard', targetFmr: 0.01 },
  { name: 'high', targetFmr: 0.001 },
];

/** The channels a verification is scored on, each with its own calibration and thresholds. */
export const scoreChannels = ['wideband', 'telephone'] as const;
export type ScoreChannel = (typeof scoreChannels)[number];

/** 8 kHz input (or less) is telephone audio: it gets the telephone calibration when there is one. */
export function channelOfSampleRate(sampleRate: number): ScoreChannel {
  return sampleRate > 0 && sampleRate <= 8000 ? 'telephone' : 'wideband';
}

/** The calibration for a channel: telephone falls back to wideband (one model serves both). */
export function calibrationFor(calibration: ModelCalibration | undefined, channel: ScoreChannel): { channel: ScoreChannel; calibration: ChannelCalibration } | null {
  if (calibration === undefined) return null;
  if (channel === 'telephone' && calibration.telephone !== undefined) return { channel: 'telephone', calibration: calibration.telephone };
  return { channel: 'wideband', calibration: calibration.wideband };
}

/** The channels a calibration measured: wideband always, telephone when present. */
export function calibratedChannels(calibration: ModelCalibration): ScoreChannel[] {
  return calibration.telephone === undefined ? ['wideband'] : ['wideband', 'telephone'];
}

/** True when the channel's calibration can turn a target FMR into a threshold. */
export function canDeriveThresholds(c: ChannelCalibration): c is ChannelCalibration & { operatingPoints: OperatingRow[]; trials: { target: number; nonTarget: number } } {
  return c.operatingPoints !== undefined && c.trials !== undefined && c.trials.nonTarget > 0;
}

/** What a policy's target FMR bounds (stored policies from before the choice bound the estimate). */
export function boundOf(policy: { targetFmrBound?: TargetFmrBound | null }): TargetFmrBound {
  return policy.targetFmrBound ?? 'estimate';
}

/** True when the channel's calibration can derive a threshold with this bound (upper-95 needs the rows' intervals). */
export function canDeriveWithBound(c: ChannelCalibration, bound: TargetFmrBound): boolean {
  return canDeriveThresholds(c) && (bound === 'estimate' || tableHasIntervals(c.operatingPoints));
}

export type { TargetFmrBound };

/** What deriving a threshold reads of a policy. */
export interface PolicyTarget {
  threshold: number;
  targetFmr: number | null;
  targetFmrBound?: TargetFmrBound | null;
}

/** A policy's threshold on one channel's calibration data, with what it implies. */
export interface ThresholdOnChannel {
  /** The calibration used (telephone falls back to wideband). */
  calibration: ScoreChannel;
  /** Decides: accept when the comparison score (cosine, or AS-norm score) ≥ rawThreshold. */
  rawThreshold: number;
  /** The same threshold on the LLR scale: a·rawThreshold + b. */
  llrThreshold: number;
  /**
   * FMR and FNMR on the calibration trials: exact for a threshold derived from targetFmr (measured
   * at that very threshold); for an explicit threshold, upper bounds read off the nearest table rows.
   */
  fmr: number | null;
  fnmr: number | null;
  /**
   * 95 % intervals of fmr and fnmr over resampled calibration speakers (src/evaluation/confidence.ts):
   * how far callers other than the calibration speakers may land. Null when the calibration has none.
   */
  fmrInterval: RateInterval | null;
  fnmrInterval: RateInterval | null;
  rates: 'measured' | 'at-most' | 'unknown';
  /**
   * What the target bounds on this channel: the policy's choice, or 'estimate' where this channel's
   * calibration has no intervals to bound it by (policyWarnings says so). Null for explicit thresholds.
   */
  targetFmrBound: TargetFmrBound | null;
  targetTrials: number | null;
  nonTargetTrials: number | null;
  /**
   * Pairs of calibration speakers with a false match at the threshold (for an explicit threshold,
   * at the table row whose FMR bounds it): how many people the FMR was observed on. Null when the
   * calibration does not count them.
   */
  falseMatchPairs: number | null;
  /**
   * The lowest target FMR these trials support under this bound (the estimate's for an explicit
   * threshold): 3/N non-target (ISO/IEC 19795-1 rule of three), or higher where a lower target's
   * threshold would rest on fewer than MIN_FALSE_MATCH_PAIRS pairs of speakers (lowestSupportedTarget).
   */
  lowestSupportedFmr: number | null;
}

/** The threshold a policy gets on one calibration. Null when targetFmr cannot be derived (no table). */
export function thresholdOnChannel(policy: PolicyTarget, channel: ScoreChannel, c: ChannelCalibration): ThresholdOnChannel | null {
  const base = (rawThreshold: number) => ({ calibration: channel, rawThreshold, llrThreshold: applyCalibration(c, rawThreshold) });
  if (!canDeriveThresholds(c)) {
    if (policy.targetFmr !== null) return null;
    return { ...base(policy.threshold), fmr: null, fnmr: null, fmrInterval: null, fnmrInterval: null, rates: 'unknown', targetFmrBound: null, targetTrials: c.trials?.target ?? null, nonTargetTrials: c.trials?.nonTarget ?? null, falseMatchPairs: null, lowestSupportedFmr: null };
  }
  const counts = { targetTrials: c.trials.target, nonTargetTrials: c.trials.nonTarget };
  if (policy.targetFmr !== null) {
    const t = thresholdForFmr(c.operatingPoints, policy.targetFmr, c.trials.nonTarget, boundOnChannel(policy, c));
    return {
      ...base(t.threshold),
      fmr: t.fmr,
      fnmr: t.fnmr,
      fmrInterval: t.fmrInterval ?? null,
      fnmrInterval: t.fnmrInterval ?? null,
      rates: 'measured',
      targetFmrBound: t.bound,
      ...counts,
      falseMatchPairs: t.falseMatchPairs ?? null,
      lowestSupportedFmr: t.lowestSupportedFmr,
    };
  }
  // Explicit threshold t: FMR(t) ≤ FMR of the nearest row at or below t; FNMR(t) ≤ FNMR of the nearest row at or above t.
  const rows = c.operatingPoints;
  const below = [...rows].reverse().find((r) => r.threshold <= policy.threshold);
  const above = rows.find((r) => r.threshold >= policy.threshold);
  // The intervals are those of the same rows: of the bounds, not of the rates at t itself.
  return {
    ...base(policy.threshold),
    fmr: below?.fmr ?? 1,
    fnmr: above?.fnmr ?? 1,
    fmrInterval: below?.fmrInterval ?? null,
    fnmrInterval: above?.fnmrInterval ?? null,
    rates: 'at-most',
    targetFmrBound: null,
    ...counts,
    falseMatchPairs: below === undefined ? null : (below.falseMatchPairs ?? null),
    lowestSupportedFmr: lowestSupportedTarget(rows, c.trials.nonTarget, 'estimate').fmr,
  };
}

/** The bound a target gets on this channel: a calibration from before the intervals cannot bound it by them, the estimate it can. */
export function boundOnChannel(policy: { targetFmrBound?: TargetFmrBound | null }, c: ChannelCalibration): TargetFmrBound {
  const asked = boundOf(policy);
  return canDeriveWithBound(c, asked) ? asked : 'estimate';
}

/**
 * The threshold that decides for a policy on a channel: derived from targetFmr when the running
 * model's calibration has an operating table, else the stored raw threshold.
 */
export function effectiveThreshold(policy: PolicyTarget, calibration: ModelCalibration | undefined, channel: ScoreChannel): number {
  const chosen = calibrationFor(calibration, channel);
  if (policy.targetFmr === null || chosen === null) return policy.threshold;
  return thresholdOnChannel(policy, chosen.channel, chosen.calibration)?.rawThreshold ?? policy.threshold;
}

/**
 * What a policy needs from the EER-by-duration table: policies at FMR ≥ 1 % (and explicit
 * thresholds) need an EER ≤ 5 % at the test duration; stricter ones ≤ 2 %. Without a table, the
 * defaults of the uncalibrated tiers (3 s and 5 s).
 */
export function speechNeed(targetFmr: number | null): { maxEer: number; fallbackSeconds: number } {
  return targetFmr !== null && targetFmr < 0.01 ? { maxEer: 0.02, fallbackSeconds: 5 } : { maxEer: 0.05, fallbackSeconds: 3 };
}

/**
 * Minimum net speech for a policy that does not set one: where the EER-by-duration table meets the
 * policy's need (minSpeechForEer), the largest over the calibrated channels and, where calibrate
 * measured them, their tables across channels (one number must hold for wideband and telephone
 * callers alike, and for a customer who enrolled on the other channel); the fallback when there is
 * no duration table.
 */
export function derivedMinNetSpeech(targetFmr: number | null, calibration: ModelCalibration | undefined): { seconds: number; source: 'duration-table' | 'default' } {
  const need = speechNeed(targetFmr);
  if (calibration === undefined) return { seconds: need.fallbackSeconds, source: 'default' };
  const perChannel = calibratedChannels(calibration)
    .flatMap((ch) => {
      const block = calibrationFor(calibration, ch)!.calibration;
      return [block.durations, block.acrossChannels?.durations].map((table) => minSpeechForEer(table, need.maxEer));
    })
    .filter((s): s is number => s !== null);
  if (perChannel.length === 0) return { seconds: need.fallbackSeconds, source: 'default' };
  return { seconds: Math.min(60, Math.max(0.5, ...perChannel)), source: 'duration-table' };
}

/**
 * The bound the default policies put on their target FMR: the upper end of its 95 % interval where
 * every calibrated channel has the intervals, else the estimate. Why not the estimate: it is what
 * the calibration speakers met, and new speakers meet more. With the shipped calibration, fitted on
 * the trials the service decides (20 s voiceprints against single utterances), thresholds set on
 * half of so762's speakers let the other half's impostors through at 1.25-1.28 % on average at
 * `standard`'s estimate and 0.44-0.50 % at its upper bound (at `high`: 0.27-0.37 % and
 * 0.16-0.23 %, nearer the target but still over it; models/README.md, *Calibration and policies*;
 * scripts/eval/calibration-holdout.ts).
 */
export function defaultTargetFmrBound(calibration: ModelCalibration): TargetFmrBound {
  return calibratedChannels(calibration).every((ch) => canDeriveWithBound(calibrationFor(calibration, ch)!.calibration, 'upper-95')) ? 'upper-95' : 'estimate';
}

/**
 * The default policies for a model: set by false match rate when its calibration has an operating
 * table (thresholds recorded from wideband), bounded as defaultTargetFmrBound says, else the
 * uncalibrated cosine defaults.
 */
export function defaultPoliciesFor(calibration: ModelCalibration | undefined): (Policy & { targetFmr: number | null; targetFmrBound: TargetFmrBound | null })[] {
  if (calibration === undefined || !canDeriveThresholds(calibration.wideband)) return defaultPolicies.map((p) => ({ ...p, targetFmr: null, targetFmrBound: null }));
  const targetFmrBound = defaultTargetFmrBound(calibration);
  return calibratedDefaultTargets.map(({ name, targetFmr }) => {
    const fallback = defaultPolicies.find((p) => p.name === name)!;
    return {
      name,
      targetFmr,
      targetFmrBound,
      threshold: effectiveThreshold({ threshold: fallback.threshold, targetFmr, targetFmrBound }, calibration, 'wideband'),
      minNetSpeechSeconds: derivedMinNetSpeech(targetFmr, calibration).seconds,
      description: fallback.description,
    };
  });
}
