/**
 * Enrolment: samples accumulate until enough net speech is collected, then their embeddings are
 * averaged into the voiceprint (scoring/cosine.ts combineEmbeddings).
 *
 * Privacy rules served here:
 * - GDPR Art. 9(2)(a): nothing biometric without active consent. Consent is checked before the audio
 *   is read (`readAudio` is not called otherwise), and again inside the write transaction, because it
 *   may have been withdrawn while the audio was being analysed. The schema's triggers are the third line.
 * - Art. 5(1)(c) data minimisation: the audio lives only in memory for the analysis; only embeddings
 *   (encrypted by the store) survive, and the audit log holds figures, never biometric data.
 * - Re-enrolment replaces the voiceprint and stores the model id with it, so a model change is
 *   detected at verification instead of scoring across models.
 */
import { createHash } from 'node:crypto';
import { VoicePassportError } from '../errors.js';
import { combineEmbeddings } from '../scoring/cosine.js';
import { tooNoisy, type QualityLimits } from '../scoring/decision.js';
import { channelOfSampleRate, defaultPolicies, effectiveThreshold } from '../scoring/policy.js';
import type { Actor, EnrolmentSettings, PassportContext } from './context.js';
import { analyseOrNoSpeech, type AnalysisOrNoSpeech, type ReadAudio } from './embedder.js';
import { pseudonymOf, round, roundOrNull } from './views.js';

export const enrolmentFeedbackCodes = ['ok', 'too-short', 'no-speech', 'too-noisy', 'clipped', 'not-same-speaker', 'duplicate-sample'] as const;
export type EnrolmentFeedback = (typeof enrolmentFeedbackCodes)[number];

export interface SampleQuality {
  netSpeechSeconds: number;
  snrDb: number | null;
  clippedRatio: number;
  durationSeconds: number;
}

export interface EnrolmentResponse {
  /** "enrolled" when this sample completed the voiceprint; "enrolling" while more is needed. */
  status: 'enrolling' | 'enrolled';
  /** Net speech collected so far in this enrolment (all accepted samples). */
  netSpeechSeconds: number;
  requiredSeconds: number;
  samples: number;
  requiredSamples: number;
  feedback: EnrolmentFeedback[];
  /** This sample's figures. */
  sample: SampleQuality;
  model: string;
}

/**
 * What is wrong with one sample, or ['ok'] (pure: the rules, apart from the transaction).
 * The quality bars are the verification's (scoring/decision.ts), so a voiceprint is never made from
 * audio that could not be verified against.
 */
export function assessEnrolmentSample(q: SampleQuality, settings: EnrolmentSettings, limits: QualityLimits): EnrolmentFeedback[] {
  const feedback: EnrolmentFeedback[] = [];
  if (q.netSpeechSeconds <= 0) feedback.push('no-speech');
  else if (q.netSpeechSeconds < settings.minSampleSeconds) feedback.push('too-short');
  if (tooNoisy(q.snrDb, limits.minSnrDb)) feedback.push('too-noisy');
  if (q.clippedRatio > limits.maxClippedRatio) feedback.push('clipped');
  return feedback.length === 0 ? ['ok'] : feedback;
}

/**
 * Art. 9(2)(a) gate, before any audio is read: the subject must have active consent. Answers the
 * pseudonym and the consent (ConsentRepository.currentConsentId) the sample is taken under.
 */
export function assertEnrolmentAllowed(ctx: PassportContext, customerId: string): { pseudonym: string; consentId: number } {
  const pseudonym = pseudonymOf(ctx, customerId);
  const consentId = ctx.store.consents.currentConsentId(pseudonym);
  if (consentId === undefined) {
    throw new VoicePassportError('consent-required', 'The subject has no active consent; record it (PUT /v1/subjects/{id}/consent) before enrolling.');
  }
  return { pseudonym, consentId };
}

export async function enrol(ctx: PassportContext, actor: Actor, customerId: string, readAudio: ReadAudio): Promise<EnrolmentResponse> {
  const { pseudonym, consentId } = assertEnrolmentAllowed(ctx, customerId);
  const audio = await readAudio();
  if (audio.bytes.length === 0) throw new VoicePassportError('audio-empty', 'The request body is empty; send the sample as the body.');
  // The same recording again (a resend) is refused before it is analysed: counted twice it would
  // make a voiceprint of less voice than the enrolment rule asks for.
  const audioSha256 = createHash('sha256').update(audio.bytes).digest('hex');
  if (ctx.store.voiceprints.hasEnrolmentSample(pseudonym, audioSha256)) throw duplicateSample(ctx, actor, pseudonym);

  const analysis = await analyseOrNoSpeech(ctx.embedder, audio);
  const quality = qualityOf(analysis);
  const settings = ctx.enrolment;
  const feedback = analysis.embedding === null ? (['no-speech'] as EnrolmentFeedback[]) : assessEnrolmentSample(quality, settings, ctx.qualityLimits);

  if (feedback[0] !== 'ok') {
    // Not a state change, but biometric processing happened: record it (Art. 5(2) accountability).
    ctx.store.audit.append({
      action: 'enrolment.sample',
      actorKeyId: actor.keyId,
      subjectPseudonym: pseudonym,
      outcome: 'rejected',
      details: { feedback, netSpeechSeconds: round(quality.netSpeechSeconds), model: ctx.embedder.modelId },
    });
    const code = feedback.includes('no-speech') || feedback.includes('too-short') ? 'insufficient-speech' : 'poor-audio-quality';
    throw new VoicePassportError(code, rejectionMessage(feedback, settings), {
      feedback,
      ...roundedQuality(quality),
      minSampleSeconds: settings.minSampleSeconds,
      ...progressOf(ctx, pseudonym),
    });
  }

  const embedding = analysis.embedding!;
  const modelId = analysis.modelId;
  // The policy's bar on this sample's channel (a target-FMR policy is derived per channel), on the
  // same scale: the policy threshold is on the comparison score, which is the cosine unless the
  // model enables AS-norm (a cosine against an AS-norm threshold would refuse nearly everyone).
  // A target-FMR policy is read at its estimate, not at an upper bound it may set for verification:
  // that bound is a margin against impostors among callers, while here a false match needs another
  // person's sample inside an authenticated enrolment, and a false non-match makes the customer
  // start over. The comparison (a partial voiceprint against a sample of a few seconds) scores
  // genuine speakers lower than the calibration's 20 s voiceprints do, so the upper bound would
  // restart many genuine enrolments (on so762's single utterances of about 3.5 s of speech, with
  // vp-resnet-v9's `standard`, it misses 40 % of genuine pairs, the estimate 21 %: the policies of
  // `npx voice-passport eval ../shared/data/dev/so762`).
  const samePolicy = ctx.store.policies.get(settings.sameSpeakerPolicy) ?? { ...defaultPolicies[0]!, targetFmr: null };
  const channel = channelOfSampleRate(analysis.sampleRate);
  const sameSpeakerThreshold = effectiveThreshold({ ...samePolicy, targetFmrBound: 'estimate' }, ctx.calibration, channel);

  // Compute first (above), then write in one synchronous transaction (no await inside).
  const answer = ctx.store.db.transaction((): EnrolmentResponse | 'duplicate' | 'consent-ended' => {
    // The consent the sample was taken under ended while it was analysed (withdrawn or erased, even
    // if given again since): the sample belongs to no enrolment (Art. 7(3)).
    if (ctx.store.consents.currentConsentId(pseudonym) !== consentId) return 'consent-ended';
    const { voiceprints, subjects, audit } = ctx.store;
    // Sent again while this one was being analysed.
    if (voiceprints.hasEnrolmentSample(pseudonym, audioSha256)) return 'duplicate';
    let earlier = voiceprints.enrolmentSamples(pseudonym);
    if (earlier.some((s) => s.modelId !== modelId)) {
      // Samples of another model cannot be averaged with this one: that enrolment starts over.
      const n = voiceprints.discardEnrolmentSamples(pseudonym);
      audit.append({ action: 'enrolment.discarded', actorKeyId: actor.keyId, subjectPseudonym: pseudonym, outcome: 'model-changed', details: { samplesDiscarded: n, model: modelId } });
      earlier = [];
    }
    if (earlier.length > 0) {
      const reference = combineEmbeddings(earlier.map((s) => ({ embedding: s.embedding, weight: s.netSpeechSeconds })));
      if (ctx.scorer.compare(reference, embedding, channel).score < sameSpeakerThreshold) {
        // We cannot tell which sample is the odd one, so the enrolment starts over rather than
        // risk a voiceprint that mixes two voices.
        const n = voiceprints.discardEnrolmentSamples(pseudonym);
        audit.append({ action: 'enrolment.discarded', actorKeyId: actor.keyId, subjectPseudonym: pseudonym, outcome: 'not-same-speaker', details: { samplesDiscarded: n, model: modelId } });
        return response('enrolling', { sampleCount: 0, netSpeechSeconds: 0 }, ['not-same-speaker'], quality, settings, modelId);
      }
    }

    const progress = voiceprints.addEnrolmentSample(pseudonym, { embedding, modelId, netSpeechSeconds: quality.netSpeechSeconds, audioSha256 });
    audit.append({
      action: 'enrolment.sample',
      actorKeyId: actor.keyId,
      subjectPseudonym: pseudonym,
      outcome: 'accepted',
      details: { feedback: ['ok'], netSpeechSeconds: round(quality.netSpeechSeconds), sampleCount: progress.sampleCount, model: modelId },
    });
    if (progress.netSpeechSeconds < settings.requiredSeconds || progress.sampleCount < settings.requiredSamples) {
      return response('enrolling', progress, ['ok'], quality, settings, modelId);
    }

    const all = [...earlier.map((s) => ({ embedding: s.embedding, weight: s.netSpeechSeconds })), { embedding, weight: quality.netSpeechSeconds }];
    const replaced = voiceprints.voiceprintMetadata(pseudonym) !== undefined;
    voiceprints.completeEnrolment(pseudonym, { embedding: combineEmbeddings(all), modelId, sampleCount: progress.sampleCount, netSpeechSeconds: progress.netSpeechSeconds });
    // A new voiceprint clears attempt limiting (NIST SP 800-63B §3.2.3: re-enrolment resets it).
    subjects.resetAttempts(pseudonym);
    audit.append({
      action: 'enrolment.completed',
      actorKeyId: actor.keyId,
      subjectPseudonym: pseudonym,
      outcome: replaced ? 'replaced' : 'enrolled',
      details: { sampleCount: progress.sampleCount, netSpeechSeconds: round(progress.netSpeechSeconds), model: modelId },
    });
    return response('enrolled', progress, ['ok'], quality, settings, modelId);
  });
  if (answer === 'duplicate') throw duplicateSample(ctx, actor, pseudonym);
  if (answer === 'consent-ended') {
    // Biometric processing happened all the same: audited (Art. 5(2)), outside the transaction that stored nothing.
    ctx.store.audit.append({ action: 'enrolment.sample', actorKeyId: actor.keyId, subjectPseudonym: pseudonym, outcome: 'consent-ended', details: { netSpeechSeconds: round(quality.netSpeechSeconds), model: modelId } });
    throw new VoicePassportError('consent-required', 'The consent ended while the sample was being analysed; nothing was stored.');
  }
  return answer;
}

/** The refusal of a recording the enrolment already holds, audited (Art. 5(2)) like any rejected sample. */
function duplicateSample(ctx: PassportContext, actor: Actor, pseudonym: string): VoicePassportError {
  const feedback: EnrolmentFeedback[] = ['duplicate-sample'];
  ctx.store.audit.append({ action: 'enrolment.sample', actorKeyId: actor.keyId, subjectPseudonym: pseudonym, outcome: 'rejected', details: { feedback, model: ctx.embedder.modelId } });
  return new VoicePassportError('duplicate-sample', 'This recording is already a sample of this enrolment and counts once; record another.', { feedback, ...progressOf(ctx, pseudonym) });
}

function qualityOf(a: AnalysisOrNoSpeech): SampleQuality {
  return { netSpeechSeconds: a.netSpeechSeconds, snrDb: a.snrDb, clippedRatio: a.clippedRatio, durationSeconds: a.durationSeconds };
}

function roundedQuality(q: SampleQuality): SampleQuality {
  return { netSpeechSeconds: round(q.netSpeechSeconds), snrDb: roundOrNull(q.snrDb, 1), clippedRatio: round(q.clippedRatio, 4), durationSeconds: round(q.durationSeconds) };
}

function progressOf(ctx: PassportContext, pseudonym: string) {
  const p = ctx.store.voiceprints.enrolmentProgress(pseudonym);
  return { samples: p.sampleCount, enrolledNetSpeechSeconds: round(p.netSpeechSeconds), requiredSeconds: ctx.enrolment.requiredSeconds, requiredSamples: ctx.enrolment.requiredSamples };
}

function response(
  status: EnrolmentResponse['status'],
  progress: { sampleCount: number; netSpeechSeconds: number },
  feedback: EnrolmentFeedback[],
  quality: SampleQuality,
  settings: EnrolmentSettings,
  model: string,
): EnrolmentResponse {
  return {
    status,
    netSpeechSeconds: round(progress.netSpeechSeconds),
    requiredSeconds: settings.requiredSeconds,
    samples: progress.sampleCount,
    requiredSamples: settings.requiredSamples,
    feedback,
    sample: roundedQuality(quality),
    model,
  };
}

const feedbackAdvice: Record<Exclude<EnrolmentFeedback, 'ok' | 'not-same-speaker' | 'duplicate-sample'>, (s: EnrolmentSettings) => string> = {
  'no-speech': () => 'no speech was found',
  'too-short': (s) => `the sample holds less than ${s.minSampleSeconds} s of speech`,
  'too-noisy': () => 'there is too much background noise',
  clipped: () => 'the audio is clipped (too loud); lower the input level',
};

function rejectionMessage(feedback: EnrolmentFeedback[], settings: EnrolmentSettings): string {
  const why = feedback.map((f) => (f in feedbackAdvice ? feedbackAdvice[f as keyof typeof feedbackAdvice](settings) : f));
  return `The sample was not used: ${why.join('; ')}. Record it again; nothing was stored.`;
}
