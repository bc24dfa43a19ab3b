/**
 * Operators set the verification policies: named risk tiers with a target false match rate or an
 * explicit raw threshold, and a minimum net speech. A change is attributed and audited (GDPR
 * Art. 5(2) accountability; Art. 32(1)(d)). How a target FMR becomes a threshold, and on which
 * scale thresholds are compared, is in src/scoring/policy.ts.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import type { ModelCalibration } from '../model/manifest.js';
import { MIN_FALSE_MATCH_PAIRS, thresholdForFmr } from '../scoring/calibration.js';
import {
  boundOf,
  boundOnChannel,
  calibratedChannels,
  calibrationFor,
  canDeriveThresholds,
  canDeriveWithBound,
  defaultTargetFmrBound,
  derivedMinNetSpeech,
  effectiveThreshold,
  policyInputSchemaFor,
  thresholdOnChannel,
  type ScoreChannel,
  type TargetFmrBound,
  type ThresholdOnChannel,
} from '../scoring/policy.js';
import type { ComparisonScale } from '../scoring/scorer.js';
import type { StoredPolicy } from '../store/index.js';
import type { Actor, PassportContext } from './context.js';
import { defaultPolicyName } from './verification.js';

/** The PUT body for the running model's comparison scale (a cosine model takes thresholds in [-1, 1]). */
export function replacePoliciesSchemaFor(scale: ComparisonScale) {
  return z
    .object({
      policies: z
        .array(policyInputSchemaFor(scale))
        .min(1)
        .max(32)
        .refine((ps) => new Set(ps.map((p) => p.name)).size === ps.length, 'policy names must be unique')
        .refine((ps) => ps.some((p) => p.name === defaultPolicyName), `the default policy "${defaultPolicyName}" must stay`),
    })
    .strict();
}

export const replacePoliciesSchema = replacePoliciesSchemaFor('cosine');

export type ReplacePoliciesInput = z.infer<typeof replacePoliciesSchema>;

export interface PolicyView extends StoredPolicy {
  /** How the threshold is set: from `targetFmr` and the calibration data, or explicitly. */
  thresholdSource: 'target-fmr' | 'explicit';
  /** Per channel of the running model's calibration: the threshold and what it implies. Null without calibration. */
  channels: Partial<Record<ScoreChannel, ThresholdOnChannel>> | null;
}

export interface PoliciesResponse {
  policies: PolicyView[];
  /** The scale of verification scores: "llr" with a calibration, else the comparison score's ("cosine", or "as-norm"). */
  scoreScale: 'llr' | 'cosine' | 'as-norm';
  /** The scale of the comparison score that thresholds (`threshold`, `rawThreshold`) and the statistics' histograms are on. */
  comparisonScale: 'cosine' | 'as-norm';
  /** How scores and thresholds are to be read. */
  explanation: string;
  calibration: CalibrationView | null;
  /** Targets the calibration data cannot support (rule of three, too few pairs of speakers), targets without calibration. */
  warnings: string[];
}

export interface CalibrationView {
  model: string;
  method: 'logistic';
  /** protocol: how the calibration trials were formed (the manifest's data.protocol), so an operator sees what the rates rest on; null when not recorded. */
  channels: Partial<Record<ScoreChannel, { a: number; b: number; targetTrials: number | null; nonTargetTrials: number | null; operatingTable: boolean; protocol: string | null }>>;
}

const targetRule =
  'A policy set by targetFmr gets, per channel, the lowest threshold whose false match rate on the calibration trials is at most the target; ' +
  'with targetFmrBound "upper-95" (the default where every channel has intervals), the lowest whose 95 % interval of that rate over resampled calibration speakers ends at most at the target ' +
  '(stricter: callers other than the calibration speakers tend to meet more false matches than the calibration trials did). ' +
  'The rates shown are those of the calibration trials; calibration.channels.<channel>.protocol says how they were formed.';
const explanationLlr =
  'score: calibrated natural-log likelihood ratio, llr = a·cosine + b (> 0 favours the same speaker; ln 10 ≈ 2.3 is 10:1 odds); rawScore: cosine similarity, -1 to 1. ' +
  'Decisions compare the raw cosine with the policy threshold (accept when cosine ≥ threshold; on the LLR scale the same trials clear llrThreshold). ' +
  targetRule;
const explanationCosine =
  'score and rawScore: cosine similarity of speaker embeddings, -1 to 1 (accept when score ≥ threshold). The running model has no calibration: policies need explicit thresholds.';
const explanationAsNorm = (calibrated: boolean) =>
  'The running model enables AS-norm: the comparison score is the adaptive symmetric normalisation of the cosine against an impostor cohort (normalisedScore; rawScore stays the cosine), and every threshold is on that scale. ' +
  (calibrated
    ? 'score: calibrated natural-log likelihood ratio, llr = a·(AS-norm score) + b (> 0 favours the same speaker). Decisions compare the AS-norm score with the policy threshold (on the LLR scale the same trials clear llrThreshold). ' +
      targetRule
    : 'score: the AS-norm score (accept when score ≥ threshold). The running model has no calibration: policies need explicit thresholds, in [-100, 100].');

function calibrationView(modelId: string, calibration: ModelCalibration | undefined): CalibrationView | null {
  if (calibration === undefined) return null;
  const channels: CalibrationView['channels'] = {};
  for (const ch of calibratedChannels(calibration)) {
    const c = calibrationFor(calibration, ch)!.calibration;
    channels[ch] = { a: c.a, b: c.b, targetTrials: c.trials?.target ?? null, nonTargetTrials: c.trials?.nonTarget ?? null, operatingTable: canDeriveThresholds(c), protocol: c.data?.protocol ?? null };
  }
  return { model: modelId, method: calibration.method, channels };
}

function policyView(p: StoredPolicy, calibration: ModelCalibration | undefined): PolicyView {
  let channels: PolicyView['channels'] = null;
  if (calibration !== undefined) {
    channels = {};
    for (const ch of calibratedChannels(calibration)) {
      const t = thresholdOnChannel(p, ch, calibrationFor(calibration, ch)!.calibration);
      if (t !== null) channels[ch] = t;
    }
  }
  // The threshold shown is the one that decides for wideband callers now.
  return { ...p, threshold: effectiveThreshold(p, calibration, 'wideband'), thresholdSource: p.targetFmr === null ? 'explicit' : 'target-fmr', channels };
}

const percent = (rate: number) => `${(rate * 100).toPrecision(3)} %`;

/** Warnings about one policy against the running model's calibration. */
export function policyWarnings(p: { name: string; targetFmr: number | null; targetFmrBound?: TargetFmrBound | null }, modelId: string, calibration: ModelCalibration | undefined): string[] {
  if (p.targetFmr === null) return [];
  if (calibration === undefined || !canDeriveThresholds(calibration.wideband)) {
    return [`Policy "${p.name}": targetFmr ${p.targetFmr} cannot be derived, because model "${modelId}" has no calibration with an operating table; the threshold stored when it was set decides. Run \`voice-passport calibrate --write\` or set an explicit threshold.`];
  }
  const bound = boundOf(p);
  const out: string[] = [];
  for (const ch of calibratedChannels(calibration)) {
    const c = calibrationFor(calibration, ch)!.calibration;
    if (!canDeriveThresholds(c)) {
      // A hand-written or older manifest: the channel has a score calibration but no table to place
      // a target on, so its calls are decided at the threshold stored from the wideband table.
      out.push(
        `Policy "${p.name}": targetFmr ${p.targetFmr} cannot be placed on the ${ch} channel, because model "${modelId}"'s ${ch} calibration has no operating table; ` +
          `${ch} calls are decided at the threshold derived from the wideband calibration. Recalibrate the channel (\`voice-passport calibrate DEV_SET --channel ${ch} --write\`) and restart.`,
      );
      continue;
    }
    const onChannel = boundOnChannel(p, c);
    if (onChannel !== bound) {
      out.push(
        `Policy "${p.name}": targetFmrBound "${bound}" cannot be applied on the ${ch} channel, because model "${modelId}"'s ${ch} calibration has no FMR intervals; ` +
          'there the target bounds the estimate. Recalibrate with this version (`voice-passport calibrate --write`) and restart.',
      );
    }
    const n = c.trials.nonTarget;
    const t = thresholdForFmr(c.operatingPoints, p.targetFmr, n, onChannel);
    if (t.supported) continue;
    if (t.limitedBy === 'trials') {
      out.push(
        `Policy "${p.name}": targetFmr ${p.targetFmr} (${percent(p.targetFmr)}) is below what the ${ch} calibration data can support: ` +
          `${n} non-target trials show FMRs down to 3/${n} = ${percent(3 / n)} (ISO/IEC 19795-1 rule of three). ` +
          'The threshold is the strictest these trials can place, but the actual FMR is not known to meet the target; calibrate on more non-target trials.',
      );
    } else {
      const pairs = t.falseMatchPairs ?? 0;
      out.push(
        `Policy "${p.name}": targetFmr ${p.targetFmr} (${percent(p.targetFmr)}) is below what the ${ch} calibration data can support: ` +
          `its threshold rests on the false matches of ${pairs} pair${pairs === 1 ? '' : 's'} of calibration speakers, fewer than ${MIN_FALSE_MATCH_PAIRS}. ` +
          'False matches gather in a few pairs of similar voices, so callers other than the calibration speakers may meet more of them than the target. ' +
          `The lowest target these data support with targetFmrBound "${t.bound}" is ${percent(t.lowestSupportedFmr)}. The threshold stays; calibrate on more speakers to rely on the target.`,
      );
    }
  }
  return out;
}

export function listPolicies(ctx: PassportContext): PoliciesResponse {
  const { calibration } = ctx;
  const modelId = ctx.embedder.modelId;
  const stored = ctx.store.policies.list();
  return {
    policies: stored.map((p) => policyView(p, calibration)),
    scoreScale: calibration !== undefined ? 'llr' : ctx.scorer.scale,
    comparisonScale: ctx.scorer.scale,
    explanation: ctx.scorer.scale === 'as-norm' ? explanationAsNorm(calibration !== undefined) : calibration === undefined ? explanationCosine : explanationLlr,
    calibration: calibrationView(modelId, calibration),
    warnings: storedPolicyWarnings(ctx, stored),
  };
}

/** The warnings about the stored policies against the running model's calibration (policy view, and the log at start). */
export function storedPolicyWarnings(ctx: PassportContext, stored: readonly StoredPolicy[] = ctx.store.policies.list()): string[] {
  return stored.flatMap((p) => policyWarnings(p, ctx.embedder.modelId, ctx.calibration));
}

/** The policy to store: threshold recorded (derived from wideband for a target FMR), minimum speech resolved. */
function resolveInput(ctx: PassportContext, p: ReplacePoliciesInput['policies'][number]): StoredPolicyInput {
  const targetFmr = p.targetFmr ?? null;
  if (targetFmr !== null && (ctx.calibration === undefined || !canDeriveThresholds(ctx.calibration.wideband))) {
    throw new VoicePassportError(
      'validation-failed',
      `Policy "${p.name}" sets targetFmr, but model "${ctx.embedder.modelId}" has no calibration to derive a threshold from; set an explicit threshold, or calibrate the model (voice-passport calibrate --write) and restart.`,
      { policy: p.name },
    );
  }
  // A target without a bound takes the default tiers' bound, so a PUT that leaves it out does not
  // quietly loosen a seeded policy (src/scoring/policy.ts, defaultTargetFmrBound).
  const targetFmrBound = targetFmr === null ? null : (p.targetFmrBound ?? defaultTargetFmrBound(ctx.calibration!));
  if (targetFmrBound === 'upper-95' && !canDeriveWithBound(ctx.calibration!.wideband, targetFmrBound)) {
    throw new VoicePassportError(
      'validation-failed',
      `Policy "${p.name}" sets targetFmrBound "upper-95", but model "${ctx.embedder.modelId}"'s calibration has no FMR intervals to bound the target by; recalibrate it with this version (voice-passport calibrate --write) and restart, or leave targetFmrBound out.`,
      { policy: p.name },
    );
  }
  const threshold = targetFmr === null ? p.threshold! : effectiveThreshold({ threshold: 0, targetFmr, targetFmrBound }, ctx.calibration, 'wideband');
  const minNetSpeechSeconds = p.minNetSpeechSeconds ?? derivedMinNetSpeech(targetFmr, ctx.calibration).seconds;
  return { name: p.name, threshold, targetFmr, targetFmrBound, minNetSpeechSeconds, description: p.description };
}

interface StoredPolicyInput {
  name: string;
  threshold: number;
  targetFmr: number | null;
  targetFmrBound: TargetFmrBound | null;
  minNetSpeechSeconds: number;
  description: string;
}

/** Audit figures of a policy: the stored settings, targetFmr and its bound only when set. */
function auditFigures(p: { threshold: number; targetFmr: number | null; targetFmrBound: TargetFmrBound | null; minNetSpeechSeconds: number }): Record<string, number | string> {
  return {
    threshold: p.threshold,
    ...(p.targetFmr === null ? {} : { targetFmr: p.targetFmr, targetFmrBound: boundOf(p) }),
    minNetSpeechSeconds: p.minNetSpeechSeconds,
  };
}

/**
 * The version of the stored set, as an HTTP entity tag (RFC 9110 §8.8.3): a digest of every stored
 * field, who changed it and when included, so any change (a PUT, a re-derived threshold at start)
 * gives another one.
 */
export function policiesVersion(stored: readonly StoredPolicy[]): string {
  return createHash('sha256').update(JSON.stringify(stored)).digest('hex').slice(0, 32);
}

/** The current set's version (sent as ETag with the policies). */
export function currentPoliciesVersion(ctx: PassportContext): string {
  return policiesVersion(ctx.store.policies.list());
}

/**
 * PUT semantics: the body is the whole set. Listed policies are created or replaced, others deleted
 * (except the default, which the body must contain: verification without ?policy uses it).
 * One audit entry per policy that changed; warnings (rule of three) go into it and the response.
 */
export function replacePolicies(ctx: PassportContext, actor: Actor, input: ReplacePoliciesInput, ifMatch?: { versions: readonly string[] } | 'any'): PoliciesResponse {
  const { policies, audit, db } = ctx.store;
  const resolved = input.policies.map((p) => resolveInput(ctx, p));
  db.transaction(() => {
    const stored = policies.list();
    // Optimistic concurrency (RFC 9110 §13.1.1): an operator's editor saves over the set it was
    // opened on, never over one another operator changed since (which would delete their policies).
    if (ifMatch !== undefined && ifMatch !== 'any' && !ifMatch.versions.includes(policiesVersion(stored))) {
      throw new VoicePassportError('precondition-failed', 'The policies were changed since this version was read (If-Match); read them again (GET /v1/operator/policies) and make the change on the current set.');
    }
    const before = new Map(stored.map((p) => [p.name, p]));
    for (const p of resolved) {
      const old = before.get(p.name);
      before.delete(p.name);
      if (old && old.threshold === p.threshold && old.targetFmr === p.targetFmr && old.targetFmrBound === p.targetFmrBound && old.minNetSpeechSeconds === p.minNetSpeechSeconds && old.description === p.description) continue;
      policies.put(p, actor.keyId);
      const warnings = policyWarnings(p, ctx.embedder.modelId, ctx.calibration);
      audit.append({
        action: 'policy.updated',
        actorKeyId: actor.keyId,
        subjectPseudonym: null,
        outcome: old ? 'changed' : 'created',
        details: {
          name: p.name,
          ...auditFigures(p),
          previous: old ? auditFigures(old) : null,
          ...(p.targetFmr === null ? {} : { model: ctx.embedder.modelId }),
          ...(warnings.length > 0 ? { warnings } : {}),
        },
      });
    }
    for (const old of before.values()) {
      if (!policies.delete(old.name)) throw new VoicePassportError('internal', `Policy ${old.name} vanished during the update.`);
      audit.append({
        action: 'policy.updated',
        actorKeyId: actor.keyId,
        subjectPseudonym: null,
        outcome: 'deleted',
        details: { name: old.name, previous: auditFigures(old) },
      });
    }
  });
  return listPolicies(ctx);
}

/**
 * At start: a policy set by targetFmr keeps its target, but its threshold follows the running
 * model's calibration (src/scoring/policy.ts derives it whenever it is used). When that moves the
 * stored wideband threshold (the model was recalibrated), the stored figure is brought up to date
 * and the change audited (`policy.updated`, outcome `recalibrated`, actor null: the service), so
 * the log shows when and why the accepted FMR's threshold changed. Returns the policies updated.
 */
export function rederivePolicyThresholds(ctx: PassportContext): string[] {
  const { calibration } = ctx;
  if (calibration === undefined || !canDeriveThresholds(calibration.wideband)) return [];
  const { policies, audit, db } = ctx.store;
  return db.transaction(() => {
    const updated: string[] = [];
    for (const p of policies.list()) {
      if (p.targetFmr === null) continue;
      const threshold = effectiveThreshold(p, calibration, 'wideband');
      if (threshold === p.threshold) continue;
      policies.put({ ...p, threshold }, null);
      const warnings = policyWarnings(p, ctx.embedder.modelId, calibration);
      audit.append({
        action: 'policy.updated',
        actorKeyId: null,
        subjectPseudonym: null,
        outcome: 'recalibrated',
        details: { name: p.name, ...auditFigures({ ...p, threshold }), previous: auditFigures(p), model: ctx.embedder.modelId, ...(warnings.length > 0 ? { warnings } : {}) },
      });
      updated.push(p.name);
    }
    return updated;
  });
}
