/**
 * Verification: is the caller the enrolled subject? Every call computes afresh (no caching of
 * results) and is recorded, decision and scores only (GDPR Art. 5(1)(c)).
 *
 * Order of checks, each before the audio is even read:
 *  1. consent active (Art. 9(2)(a))        → "no-consent" ("not-enrolled" once erased, Art. 17)
 *  2. a voiceprint exists                   → "not-enrolled"
 *  3. made with the running model           → 409 model-changed: re-enrol, never score across models
 *  4. attempt limiting (NIST SP 800-63B-4 §3.2.3: ≥ 30 s between attempts after 5 consecutive
 *     rejects, disabled after 50 until reset) → "locked" (+ Retry-After while throttled)
 * Then the audio is analysed, and in one synchronous transaction the checks are repeated (the state
 * may have changed during the analysis, e.g. parallel attempts racing past the limit), the score is
 * decided against the policy, and the attempt state, history and audit entry are written. A consent
 * that ended during the analysis (withdrawn or erased, even if given again since) decides the attempt
 * as if it had come after, without the analysis's figures (Art. 7(3)).
 */
import { VoicePassportError } from '../errors.js';
import { gateAttempt, recordOutcome, type AttemptGate } from '../scoring/attempts.js';
import { applyCalibration } from '../scoring/calibration.js';
import { decideVerification } from '../scoring/decision.js';
import { calibrationFor, channelOfSampleRate, effectiveThreshold, policyNameSchema, type ScoreChannel } from '../scoring/policy.js';
import type { ConsentEvent, StoredPolicy, VerificationDecision, VerificationTransport } from '../store/index.js';
import type { Actor, PassportContext } from './context.js';
import { analyseOrNoSpeech, type AnalysisOrNoSpeech, type ReadAudio } from './embedder.js';
import { pseudonymOf, round, roundOrNull } from './views.js';

export type { VerificationDecision };

/** Why a decision was made; the scored ones come from scoring/decision.ts. */
export type VerificationReason =
  | 'score-above-threshold'
  | 'score-below-threshold'
  | 'insufficient-speech'
  | 'low-snr'
  | 'clipped-audio'
  | 'consent-not-active'
  | 'no-voiceprint'
  | 'too-many-rejects'
  | 'verification-disabled';

export interface VerificationResponse {
  verificationId: string;
  occurredAt: string;
  decision: VerificationDecision;
  reasons: VerificationReason[];
  /**
   * On the scale `scoreScale` names: the calibrated natural-log likelihood ratio (llr = a·s + b of the
   * comparison score s, > 0 favours the same speaker) when the model has a calibration, else the
   * comparison score itself: the cosine, or the AS-norm score when the manifest enables it. Null when nothing was scored.
   */
  score: number | null;
  /** The cosine similarity itself, -1 to 1. */
  rawScore: number | null;
  /**
   * The AS-norm score of rawScore when the model enables score normalisation (the comparison score);
   * null when normalisation is off or nothing was scored. Present only when the model's manifest has
   * `scoreNormalisation` (on or off), so responses of other models are as they were.
   */
  normalisedScore?: number | null;
  scoreScale: 'llr' | 'cosine' | 'as-norm';
  /** The policy threshold on the score's scale: accept when score ≥ threshold. */
  threshold: number;
  /**
   * The same threshold on the comparison scale, which is what decides: accept when the comparison
   * score (normalisedScore when it is a number, else rawScore) ≥ rawThreshold.
   */
  rawThreshold: number;
  /** The channel the audio was scored as (8 kHz or less: telephone); null when no audio was analysed. */
  channel: ScoreChannel | null;
  policy: string;
  netSpeechSeconds: number | null;
  model: string;
  /** "locked" while throttled: seconds until the next attempt is allowed (also the Retry-After header). */
  retryAfterSeconds?: number;
  /** "inconclusive" for lack of speech: how many more seconds of speech a retry needs. */
  additionalSpeechSecondsNeeded?: number;
}

export const defaultPolicyName = 'standard';

/**
 * The wait a `locked` answer asks for, counted from `now`: a replayed answer (Idempotency-Key) is
 * the first answer's body again, but its Retry-After header must say how long is left, not how long
 * was left then. 0 once the wait has passed; undefined for an answer that asked for none.
 */
export function retryAfterSecondsAt(answer: Pick<VerificationResponse, 'occurredAt' | 'retryAfterSeconds'>, now: Date): number | undefined {
  if (answer.retryAfterSeconds === undefined) return undefined;
  const until = Date.parse(answer.occurredAt) + answer.retryAfterSeconds * 1000;
  return Math.max(0, Math.ceil((until - now.getTime()) / 1000));
}

export function findPolicy(ctx: PassportContext, name: string | undefined): StoredPolicy {
  const wanted = name ?? defaultPolicyName;
  const policy = policyNameSchema.safeParse(wanted).success ? ctx.store.policies.get(wanted) : undefined;
  if (policy === undefined) {
    throw new VoicePassportError('validation-failed', `There is no policy "${wanted.slice(0, 40)}".`, { availablePolicies: ctx.store.policies.list().map((p) => p.name) });
  }
  return policy;
}

type Decided = { kind: 'decided'; decision: VerificationDecision; reasons: VerificationReason[]; retryAfterSeconds?: number };
type Precheck = Decided | { kind: 'score' };

/** Checks 1-4 (see the module comment). Throws model-changed. */
function precheck(ctx: PassportContext, pseudonym: string, modelId: string): Precheck {
  if (!ctx.store.consents.current(pseudonym).active) return withoutConsent(ctx.store.consents.history(pseudonym).at(-1));
  const voiceprint = ctx.store.voiceprints.voiceprintMetadata(pseudonym);
  if (voiceprint === undefined) return { kind: 'decided', decision: 'not-enrolled', reasons: ['no-voiceprint'] };
  if (voiceprint.modelId !== modelId) {
    throw new VoicePassportError('model-changed', `The voiceprint was made with model "${voiceprint.modelId}" and the service now runs "${modelId}"; enrol the subject again.`, {
      enrolledModel: voiceprint.modelId,
      currentModel: modelId,
    });
  }
  const gate = gateAttempt(ctx.store.subjects.attemptState(pseudonym), ctx.clock().getTime(), ctx.attemptLimits);
  return lockedDecision(gate) ?? { kind: 'score' };
}

/**
 * The answer to a caller without active consent, by how it ended (`ended`: its withdrawal event, if
 * any). After an erasure (Art. 17) or the retention purge the subject is simply not enrolled any
 * more: to use the service again they consent and enrol afresh. "no-consent" is for a subject who
 * never consented or withdrew consent (Art. 7(3)).
 */
function withoutConsent(ended: ConsentEvent | undefined): Decided {
  const erased = ended?.reason === 'erasure-request' || ended?.reason === 'retention-expired';
  return erased ? { kind: 'decided', decision: 'not-enrolled', reasons: ['no-voiceprint'] } : { kind: 'decided', decision: 'no-consent', reasons: ['consent-not-active'] };
}

function lockedDecision(gate: AttemptGate): Precheck | undefined {
  if (gate.allowed) return undefined;
  return gate.reason === 'disabled'
    ? { kind: 'decided', decision: 'locked', reasons: ['verification-disabled'] }
    : { kind: 'decided', decision: 'locked', reasons: ['too-many-rejects'], retryAfterSeconds: gate.retryAfterSeconds };
}

/**
 * Where the caller's speech comes from: called once, only after checks 1-4 let the attempt through,
 * with the policy that will decide it. A request body is read and analysed once (verify); a stream
 * is analysed as it arrives until it holds the policy's speech (src/passport/verification-stream.ts).
 * `consentHolds` says whether the consent the attempt was let through under still holds: an analysis
 * that looks at the audio more than once (a stream) asks before each look, and answers null once it
 * does not (nothing more is analysed after a withdrawal or an erasure, GDPR Art. 7(3), 17).
 */
export type CallerAnalysis = (policy: StoredPolicy, consentHolds: () => boolean) => Promise<AnalysisOrNoSpeech | null>;

/** Verification of a request body: the whole recording, read only after the checks. */
export function verify(ctx: PassportContext, actor: Actor, customerId: string, policyName: string | undefined, readAudio: ReadAudio): Promise<VerificationResponse> {
  return verifyCaller(ctx, actor, customerId, policyName, 'request', async () => {
    const audio = await readAudio();
    if (audio.bytes.length === 0) throw new VoicePassportError('audio-empty', 'The request body is empty; send the caller audio as the body.');
    return analyseOrNoSpeech(ctx.embedder, audio);
  });
}

/**
 * One verification attempt. Checks 1-4 run synchronously in the first transaction, before this
 * function first awaits, so a caller that starts it as a stream opens knows the outcome of the
 * checks before any audio of the stream is looked at.
 */
export async function verifyCaller(
  ctx: PassportContext,
  actor: Actor,
  customerId: string,
  policyName: string | undefined,
  transport: VerificationTransport,
  analyse: CallerAnalysis,
): Promise<VerificationResponse> {
  const pseudonym = pseudonymOf(ctx, customerId);
  const policy = findPolicy(ctx, policyName);
  const modelId = ctx.embedder.modelId;
  const attempt: Attempt = { actor, pseudonym, policy, modelId, transport };

  const pre = ctx.store.db.transaction(() => {
    const p = precheck(ctx, pseudonym, modelId);
    return p.kind === 'decided' ? record(ctx, attempt, p, null) : { consentId: ctx.store.consents.currentConsentId(pseudonym)! };
  });
  if ('verificationId' in pre) return pre;
  const { consentId } = pre;
  const consentHolds = () => ctx.store.consents.currentConsentId(pseudonym) === consentId;

  const analysis = await analyse(policy, consentHolds);

  return ctx.store.db.transaction(() => {
    // The consent ended while the audio was analysed (withdrawn, erased, perhaps given again since):
    // answered as if the call had come after, and the analysis discarded, its figures too.
    if (!consentHolds()) return record(ctx, attempt, { ...withoutConsent(ctx.store.consents.withdrawalAfter(pseudonym, consentId)), analysisDiscarded: true }, null);
    if (analysis === null) throw new Error('an analysis stopped although the consent holds');
    if (analysis.modelId !== modelId) {
      throw new VoicePassportError('model-changed', `The audio was analysed with model "${analysis.modelId}", not "${modelId}"; retry.`, { currentModel: modelId });
    }
    // The policy as it stands now: an operator's change during the analysis (up to a stream's
    // lifetime) applies to this decision too, as the 200 of the change says.
    const current = ctx.store.policies.get(policy.name);
    if (current === undefined) {
      throw new VoicePassportError('validation-failed', `The policy "${policy.name}" was removed while the audio was analysed; verify again with one of the policies now set.`, {
        availablePolicies: ctx.store.policies.list().map((p) => p.name),
      });
    }
    const decidedUnder: Attempt = { ...attempt, policy: current };
    const again = precheck(ctx, pseudonym, modelId);
    if (again.kind === 'decided') return record(ctx, decidedUnder, again, analysis.netSpeechSeconds);

    const voiceprint = ctx.store.voiceprints.voiceprint(pseudonym)!;
    const channel = channelOfSampleRate(analysis.sampleRate);
    const compared = analysis.embedding === null ? null : ctx.scorer.compare(voiceprint.embedding, analysis.embedding, channel);
    const rawScore = compared === null ? null : compared.cosine;
    // Decided on the comparison score (the cosine, or its AS-norm score) against the policy's
    // threshold for this channel (src/scoring/policy.ts).
    const decision = decideVerification(
      // No embedding means no speech was found: decide as "inconclusive, not enough speech".
      { score: compared?.score ?? Number.NEGATIVE_INFINITY, netSpeechSeconds: compared === null ? 0 : analysis.netSpeechSeconds, snrDb: analysis.snrDb, clippedRatio: analysis.clippedRatio },
      { ...current, threshold: effectiveThreshold(current, ctx.calibration, channel) },
      ctx.qualityLimits,
    );
    const now = ctx.clock().getTime();
    const state = ctx.store.subjects.attemptState(pseudonym);
    ctx.store.subjects.saveAttemptState(pseudonym, recordOutcome(state, decision.decision, now, ctx.attemptLimits));
    // Retention runs from the last successful use (GDPR Art. 5(1)(e)): failed attempts, possibly an
    // impostor's, must not keep a voiceprint alive.
    if (decision.decision === 'accept') ctx.store.subjects.touch(pseudonym);
    const scored: Scored = { decision: decision.decision, reasons: decision.reasons, rawScore, comparisonScore: compared?.score ?? null, channel };
    if (decision.additionalSpeechSecondsNeeded !== undefined) scored.additionalSpeechSecondsNeeded = decision.additionalSpeechSecondsNeeded;
    return record(ctx, decidedUnder, scored, analysis.netSpeechSeconds);
  });
}

interface Scored {
  decision: VerificationDecision;
  reasons: VerificationReason[];
  rawScore?: number | null;
  /** The score that decided (the cosine, or its AS-norm score). */
  comparisonScore?: number | null;
  /** Set once audio was analysed. */
  channel?: ScoreChannel;
  retryAfterSeconds?: number;
  additionalSpeechSecondsNeeded?: number;
  /** Audio was analysed, but the consent ended before the decision: the analysis was not used. */
  analysisDiscarded?: true;
}

/**
 * A stream given up before its decision (the client closed it, or the service stopped) after its
 * audio was analysed: nothing is scored or recorded, but the caller's voice went through the model,
 * and that use is audited (Art. 5(2)) as `verification.abandoned`.
 */
export function recordAbandonedStream(ctx: PassportContext, actor: Actor, customerId: string, stream: { analyses: number; receivedSeconds: number }): void {
  ctx.store.audit.append({
    action: 'verification.abandoned',
    actorKeyId: actor.keyId,
    subjectPseudonym: pseudonymOf(ctx, customerId),
    outcome: 'abandoned',
    details: { transport: 'stream', analyses: stream.analyses, receivedSeconds: round(stream.receivedSeconds, 1), model: ctx.embedder.modelId },
  });
}

/** Who is verified, by whom, under which policy and model, and how the audio came. */
interface Attempt {
  actor: Actor;
  pseudonym: string;
  policy: StoredPolicy;
  modelId: string;
  transport: VerificationTransport;
}

/** Writes the history row and the audit entry (inside the caller's transaction) and builds the answer. */
function record(ctx: PassportContext, attempt: Attempt, d: Scored, netSpeechSeconds: number | null): VerificationResponse {
  const { actor, pseudonym, policy, modelId } = attempt;
  const rawScore = d.rawScore ?? null;
  const comparisonScore = d.comparisonScore ?? null;
  const normalised = ctx.scorer.scale === 'as-norm';
  // Reported only for a model whose manifest has scoreNormalisation: other models answer as before.
  const normalisedScore = ctx.scorer.declared === null ? undefined : normalised ? comparisonScore : null;
  // Without audio there is no channel; the threshold is then shown as for wideband callers.
  const rawThreshold = effectiveThreshold(policy, ctx.calibration, d.channel ?? 'wideband');
  const calibration = calibrationFor(ctx.calibration, d.channel ?? 'wideband')?.calibration;
  const onScoreScale = (s: number) => (calibration === undefined ? s : applyCalibration(calibration, s));
  const score = comparisonScore === null ? null : onScoreScale(comparisonScore);
  const threshold = onScoreScale(rawThreshold);
  const scoreScale = calibration !== undefined ? 'llr' : normalised ? 'as-norm' : 'cosine';
  const rec = ctx.store.verifications.record(pseudonym, {
    policy: policy.name,
    decision: d.decision,
    reasons: d.reasons,
    score,
    rawScore,
    normalisedScore: normalisedScore ?? null,
    threshold,
    rawThreshold,
    netSpeechSeconds,
    channel: d.channel ?? null,
    modelId,
    actorKeyId: actor.keyId,
    transport: attempt.transport,
  });
  ctx.store.audit.append({
    action: 'verification',
    actorKeyId: actor.keyId,
    subjectPseudonym: pseudonym,
    outcome: d.decision,
    details: {
      verificationId: rec.id,
      policy: policy.name,
      reasons: d.reasons,
      score: roundOrNull(score, 4),
      threshold: round(threshold, 4),
      // Which channel's calibration and threshold decided (absent when no audio was analysed).
      ...(d.channel === undefined ? {} : { channel: d.channel }),
      ...(scoreScale !== 'cosine' ? { scoreScale, rawScore: roundOrNull(rawScore, 4), rawThreshold: round(rawThreshold, 4) } : {}),
      ...(normalisedScore === undefined ? {} : { normalisedScore: roundOrNull(normalisedScore, 4) }),
      model: modelId,
      transport: attempt.transport,
      ...(d.analysisDiscarded === true ? { analysisDiscarded: true } : {}),
    },
  });
  const response: VerificationResponse = {
    verificationId: rec.id,
    occurredAt: rec.occurredAt,
    decision: d.decision,
    reasons: d.reasons,
    score,
    rawScore,
    ...(normalisedScore === undefined ? {} : { normalisedScore }),
    scoreScale,
    threshold,
    rawThreshold,
    channel: d.channel ?? null,
    policy: policy.name,
    netSpeechSeconds: netSpeechSeconds === null ? null : round(netSpeechSeconds),
    model: modelId,
  };
  if (d.retryAfterSeconds !== undefined) response.retryAfterSeconds = d.retryAfterSeconds;
  if (d.additionalSpeechSecondsNeeded !== undefined) response.additionalSpeechSecondsNeeded = d.additionalSpeechSecondsNeeded;
  return response;
}
