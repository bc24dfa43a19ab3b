/**
 * Reported outcomes: the bank tells the service what a verification really was, once it knows, so
 * operators can watch the error rates the service makes in production, not only those the
 * calibration measured on dev speakers (ISO/IEC 19795-1's operational evaluation, as against the
 * technology evaluation of the dev sets: a threshold that holds on the dev set can drift on a new
 * phone network or population).
 *
 * The rates are of the calls that were reported, which are not a random sample: fraud is found
 * mostly when an impostor was let in, and a rejected customer is known as genuine when a further
 * check passes. They show drift and gross failures; they are not an unbiased estimate.
 */
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import { wilsonInterval } from '../evaluation/confidence.js';
import { scoreChannels, type ScoreChannel } from '../scoring/policy.js';
import {
  outcomeSources,
  outcomeTruths,
  type OutcomeCount,
  type OutcomeSource,
  type OutcomeTruth,
  type VerificationDecision,
  type VerificationOutcome,
} from '../store/index.js';
import type { Actor, PassportContext } from './context.js';
import { round } from './views.js';

export const reportOutcomeSchema = z.object({ truth: z.enum(outcomeTruths), source: z.enum(outcomeSources) }).strict();
export type ReportOutcomeInput = z.infer<typeof reportOutcomeSchema>;

/** An outcome as shown to callers and in the customer's export: the reporting key is in the audit trail. */
export type OutcomeView = Omit<VerificationOutcome, 'actorKeyId'>;

export function outcomeView(o: VerificationOutcome): OutcomeView {
  return { truth: o.truth, source: o.source, reportedAt: o.reportedAt };
}

/** What the outcome makes of the decision. */
export type OutcomeAssessment = 'correct' | 'false-match' | 'false-non-match' | 'undecided';

export interface OutcomeResponse {
  verificationId: string;
  policy: string;
  decision: VerificationDecision;
  outcome: OutcomeView;
  assessment: OutcomeAssessment;
  /**
   * True when the subject's voice verification is now disabled: someone else was let in, so they
   * can be again. It stays disabled, whatever later reports say, until an operator resets it
   * (POST /v1/operator/subjects/{id}/reset-lockout) or the customer enrols again.
   */
  verificationDisabled: boolean;
}

/** The findings a telephony platform makes itself (least privilege); investigations and customers' reports come through operators. */
const telephonySources: readonly OutcomeSource[] = ['step-up', 'agent'];

const scoredDecisions: readonly VerificationDecision[] = ['accept', 'reject', 'inconclusive'];

export function assess(decision: VerificationDecision, truth: OutcomeTruth): OutcomeAssessment {
  if (decision === 'inconclusive') return 'undecided';
  if (decision === 'accept') return truth === 'genuine' ? 'correct' : 'false-match';
  return truth === 'impostor' ? 'correct' : 'false-non-match';
}

/**
 * Records (or corrects) what one verification really was, audited with the assessment. Only
 * verifications that compared a voice with a voiceprint can be wrong about it (409 otherwise). A
 * reported false match disables the subject's voice verification, as 50 rejects in a row do (NIST SP
 * 800-63B-4 §3.2.3 attempt limiting; an impostor who passed once is the stronger sign): the bank's
 * other checks take over until an operator or a new enrolment restores it.
 */
export function reportOutcome(ctx: PassportContext, actor: Actor, verificationId: string, input: ReportOutcomeInput): OutcomeResponse & { assessmentChanged: boolean } {
  if (actor.role === 'telephony' && !telephonySources.includes(input.source)) {
    throw new VoicePassportError('forbidden', `A telephony key reports what the call itself showed only (source ${telephonySources.map((s) => `"${s}"`).join(' or ')}).`);
  }
  return ctx.store.db.transaction(() => {
    const found = ctx.store.verifications.find(verificationId);
    if (found === undefined) {
      throw new VoicePassportError('not-found', 'There is no such verification: the id is unknown, or its record has passed the history\'s retention or was erased with the voiceprint.');
    }
    const { record } = found;
    if (!scoredDecisions.includes(record.decision)) {
      throw new VoicePassportError('verification-not-scored', `The verification was decided without comparing a voice (${record.decision}), so it can be neither a false match nor a false non-match.`);
    }
    // An operator's finding (an investigation, a customer's report) outranks what a call showed: a
    // telephony key may correct its own kind of report, never replace theirs.
    // Whose report it is decides, not its source: an operator may report a step-up or an agent's
    // finding too. A report without a key (none is made so today) counts as an operator's.
    const held = ctx.store.outcomes.find(verificationId);
    const heldByTelephony = held !== undefined && held.actorKeyId !== null && ctx.store.apiKeys.findById(held.actorKeyId)?.role === 'telephony';
    if (actor.role === 'telephony' && held !== undefined && !heldByTelephony) {
      throw new VoicePassportError('forbidden', `This verification's outcome was reported by an operator (source "${held.source}"); a telephony key cannot replace it.`);
    }
    const outcome = ctx.store.outcomes.report(verificationId, { truth: input.truth, source: input.source, actorKeyId: actor.keyId });
    const assessment = assess(record.decision, input.truth);
    // A PUT may be retried: what was assessed already is not news (for the metric that alerts on it).
    const assessmentChanged = held === undefined || assess(record.decision, held.truth) !== assessment;
    const subject = found.subjectPseudonym;
    const attempts = subject === null ? null : ctx.store.subjects.attemptState(subject);
    const disabledBefore = attempts?.disabled ?? false;
    const disables = assessment === 'false-match' && subject !== null && attempts !== null && !disabledBefore;
    if (disables) ctx.store.subjects.saveAttemptState(subject, { ...attempts, disabled: true });
    ctx.store.audit.append({
      action: 'verification.outcome-reported',
      actorKeyId: actor.keyId,
      subjectPseudonym: subject,
      outcome: assessment,
      details: { verificationId, policy: record.policy, decision: record.decision, truth: input.truth, source: input.source, ...(disables ? { verificationDisabled: true } : {}) },
    });
    return {
      verificationId,
      policy: record.policy,
      decision: record.decision,
      outcome: outcomeView(outcome),
      assessment,
      verificationDisabled: disabledBefore || disables,
      assessmentChanged,
    };
  });
}

/** An error rate among reported calls: `errors` of `decided`, with its 95 % Wilson interval. */
export interface ObservedRate {
  errors: number;
  decided: number;
  rate: number;
  low95: number;
  high95: number;
}

/** The reported calls of one truth under one policy, by the decision they got. */
export interface ReportedCalls {
  reported: number;
  accepted: number;
  rejected: number;
  inconclusive: number;
}

/** The reported calls of one set (a policy, or its calls on one channel) and the error rates among them. */
export interface OutcomeRates {
  /** Callers reported to be the customer: a reject was a false non-match. */
  genuine: ReportedCalls & { falseNonMatchRate: ObservedRate | null };
  /** Callers reported not to be: an accept was a false match. */
  impostor: ReportedCalls & { falseMatchRate: ObservedRate | null };
}

/** A policy's, in all and per scoring channel, whose calibrations and thresholds differ. */
export interface PolicyOutcomes extends OutcomeRates {
  byChannel: Record<ScoreChannel, OutcomeRates>;
}

function observedRate(errors: number, decided: number): ObservedRate | null {
  if (decided === 0) return null;
  const { low, high } = wilsonInterval(errors, decided);
  // The interval rounded outwards: a bound rounded to nearest could read 0 where the data allow more.
  // Four significant figures, not four decimals: 1 error in 30 000 calls must not read 0.
  return { errors, decided, rate: Number((errors / decided).toPrecision(4)), low95: Math.floor(low * 1e4) / 1e4, high95: Math.ceil(high * 1e4) / 1e4 };
}

function outcomeRates(counts: readonly OutcomeCount[]): OutcomeRates {
  const calls: Record<OutcomeTruth, ReportedCalls> = {
    genuine: { reported: 0, accepted: 0, rejected: 0, inconclusive: 0 },
    impostor: { reported: 0, accepted: 0, rejected: 0, inconclusive: 0 },
  };
  for (const c of counts) {
    const r = calls[c.truth];
    r.reported += c.count;
    if (c.decision === 'accept') r.accepted += c.count;
    else if (c.decision === 'reject') r.rejected += c.count;
    else if (c.decision === 'inconclusive') r.inconclusive += c.count;
  }
  const { genuine, impostor } = calls;
  return {
    genuine: { ...genuine, falseNonMatchRate: observedRate(genuine.rejected, genuine.accepted + genuine.rejected) },
    impostor: { ...impostor, falseMatchRate: observedRate(impostor.accepted, impostor.accepted + impostor.rejected) },
  };
}

/** Per policy, in all and per channel: the reported calls and the error rates among them (operator statistics). */
export function outcomesByPolicy(counts: readonly OutcomeCount[]): Record<string, PolicyOutcomes> {
  const policies = [...new Set(counts.map((c) => c.policy))].sort();
  return Object.fromEntries(
    policies.map((policy) => {
      const own = counts.filter((c) => c.policy === policy);
      const byChannel = Object.fromEntries(scoreChannels.map((channel) => [channel, outcomeRates(own.filter((c) => c.channel === channel))])) as Record<ScoreChannel, OutcomeRates>;
      return [policy, { ...outcomeRates(own), byChannel }];
    }),
  );
}
