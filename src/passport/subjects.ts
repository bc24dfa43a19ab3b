/**
 * Seeing and erasing what is held (GDPR Art. 15 right of access, Art. 17 right to erasure), and the
 * operator's lockout reset (NIST SP 800-63B-4 §3.2.3: disabled biometric verification is re-enabled
 * by an administrator or a re-enrolment). Never the template itself.
 */
import { VoicePassportError } from '../errors.js';
import { freshAttempts, gateAttempt } from '../scoring/attempts.js';
import type { AuditEntry, ConsentEvent, ErasureReceipt, SubjectRecord, VerificationRecord, VoiceprintMetadata } from '../store/index.js';
import type { Actor, PassportContext } from './context.js';
import { outcomeView, type OutcomeView } from './outcomes.js';
import { appliedRetention } from './retention.js';
import { consentView, pseudonymOf, round, type ConsentView } from './views.js';

export interface AttemptsView {
  consecutiveRejects: number;
  /** True while throttled or disabled. */
  locked: boolean;
  retryAfterSeconds: number | null;
  disabled: boolean;
}

export interface SubjectView {
  /** When the subject was first recorded: their first consent, or for a caller who never consented, their first recorded call. */
  createdAt: string;
  lastUsedAt: string | null;
  consent: ConsentView;
  enrolment: {
    state: 'none' | 'enrolling' | 'enrolled';
    model: string | null;
    /** False when the voiceprint was made with another model than the one running: re-enrol. */
    modelCurrent: boolean | null;
    enrolledAt: string | null;
    voiceprint: { sampleCount: number; netSpeechSeconds: number; createdAt: string } | null;
    inProgress: { samples: number; netSpeechSeconds: number; requiredSeconds: number; requiredSamples: number };
  };
  attempts: AttemptsView;
  counts: { verifications: number; consentEvents: number };
  /**
   * How long what is held is kept (Art. 15(1)(d)): the periods of the notice agreed to, or the
   * configuration's where shorter, and when the voiceprint goes unless it is used (accepted) first.
   */
  retention: { voiceprintUnusedDays: number; voiceprintErasedAfter: string | null; verificationHistoryDays: number; consentRecordDays: number };
}

function requireSubject(ctx: PassportContext, pseudonym: string) {
  const subject = ctx.store.subjects.find(pseudonym);
  if (subject === undefined) throw nothingHeld();
  return subject;
}

const nothingHeld = () => new VoicePassportError('not-found', 'Nothing is held about this subject.');

/**
 * The subject, or for a caller who never consented but whose calls are recorded (answered
 * no-consent; no subject row is made for them) a subject holding only those: what Art. 15 shows of
 * them, from their first recorded call.
 */
function subjectOrCaller(ctx: PassportContext, pseudonym: string): SubjectRecord {
  const subject = ctx.store.subjects.find(pseudonym);
  if (subject !== undefined) return subject;
  const first = ctx.store.verifications.listForSubject(pseudonym)[0];
  if (first === undefined) throw nothingHeld();
  return {
    pseudonym,
    createdAt: first.occurredAt,
    lastUsedAt: null,
    enrolmentState: 'none',
    modelId: null,
    enrolledAt: null,
    attempts: { ...freshAttempts },
    noticeVersion: null,
  };
}

function attemptsView(ctx: PassportContext, pseudonym: string): AttemptsView {
  const state = ctx.store.subjects.attemptState(pseudonym);
  const gate = gateAttempt(state, ctx.clock().getTime(), ctx.attemptLimits);
  return {
    consecutiveRejects: state.consecutiveRejects,
    locked: !gate.allowed,
    retryAfterSeconds: !gate.allowed && gate.reason === 'throttled' ? gate.retryAfterSeconds : null,
    disabled: !gate.allowed && gate.reason === 'disabled',
  };
}

function voiceprintView(v: VoiceprintMetadata | undefined): SubjectView['enrolment']['voiceprint'] {
  return v === undefined ? null : { sampleCount: v.sampleCount, netSpeechSeconds: round(v.netSpeechSeconds), createdAt: v.createdAt };
}

/**
 * The periods of the notice last agreed to (the subject row's, as the purge reads it), and the
 * purge's own rule (store/erasure.ts, findExpired): unused since the later of the last use and the
 * voiceprint's making.
 */
function retentionView(ctx: PassportContext, noticeVersion: string | null, lastUsedAt: string | null, voiceprint: VoiceprintMetadata | undefined): SubjectView['retention'] {
  const periods = appliedRetention(ctx.retention, noticeVersion === null ? undefined : ctx.notices.retention(noticeVersion));
  const since = voiceprint === undefined ? null : Math.max(Date.parse(voiceprint.createdAt), lastUsedAt === null ? 0 : Date.parse(lastUsedAt));
  return {
    voiceprintUnusedDays: periods.voiceprintUnusedDays,
    voiceprintErasedAfter: since === null ? null : new Date(since + periods.voiceprintUnusedDays * 86_400_000).toISOString(),
    verificationHistoryDays: periods.verificationHistoryDays,
    consentRecordDays: periods.consentRecordDays,
  };
}

/** The view, and what it was built from that the export shows whole (read once). */
function buildView(ctx: PassportContext, pseudonym: string): { view: SubjectView; consentEvents: ConsentEvent[]; voiceprint: VoiceprintMetadata | undefined } {
  const s = subjectOrCaller(ctx, pseudonym);
  const { voiceprints, consents, verifications } = ctx.store;
  const progress = voiceprints.enrolmentProgress(pseudonym);
  const consentEvents = consents.history(pseudonym);
  const voiceprint = voiceprints.voiceprintMetadata(pseudonym);
  const view: SubjectView = {
    createdAt: s.createdAt,
    lastUsedAt: s.lastUsedAt,
    consent: consentView(consents.current(pseudonym)),
    enrolment: {
      state: s.enrolmentState,
      model: s.modelId,
      modelCurrent: s.modelId === null ? null : s.modelId === ctx.embedder.modelId,
      enrolledAt: s.enrolledAt,
      voiceprint: voiceprintView(voiceprint),
      inProgress: { samples: progress.sampleCount, netSpeechSeconds: round(progress.netSpeechSeconds), requiredSeconds: ctx.enrolment.requiredSeconds, requiredSamples: ctx.enrolment.requiredSamples },
    },
    attempts: attemptsView(ctx, pseudonym),
    counts: { verifications: verifications.countForSubject(pseudonym), consentEvents: consentEvents.length },
    retention: retentionView(ctx, s.noticeVersion, s.lastUsedAt, voiceprint),
  };
  return { view, consentEvents, voiceprint };
}

/** Art. 15: consent, enrolment state, model, times, counts. Reading personal data is audited too. */
export function viewSubject(ctx: PassportContext, actor: Actor, customerId: string): SubjectView {
  const pseudonym = pseudonymOf(ctx, customerId);
  return ctx.store.db.transaction(() => {
    const { view } = buildView(ctx, pseudonym);
    ctx.store.audit.append({ action: 'subject.viewed', actorKeyId: actor.keyId, subjectPseudonym: pseudonym, outcome: 'ok' });
    return view;
  });
}

export interface SubjectExport extends SubjectView {
  exportedAt: string;
  /** The keyed pseudonym under which the subject is stored (the database never holds the customer id). */
  pseudonym: string;
  consentHistory: ConsentEvent[];
  voiceprint: (VoiceprintMetadata & { note: string }) | null;
  /** Each verification as recorded, the model named as the API names it; the key that asked is in the audit trail. */
  verifications: Array<Omit<VerificationRecord, 'modelId' | 'actorKeyId'> & { model: string | null; outcome: OutcomeView | null }>;
  /** Audit entries about the subject (what was done with the data, when and by which key). */
  auditTrail: Array<Pick<AuditEntry, 'seq' | 'occurredAt' | 'action' | 'actorKeyId' | 'outcome' | 'details'>>;
}

/** Art. 15(3) / Art. 20: everything held about the subject, as JSON. The template is described, not included. */
export function exportSubject(ctx: PassportContext, actor: Actor, customerId: string): SubjectExport {
  const pseudonym = pseudonymOf(ctx, customerId);
  return ctx.store.db.transaction(() => {
    const { view, consentEvents, voiceprint: metadata } = buildView(ctx, pseudonym);
    const { verifications, audit } = ctx.store;
    const outcomes = ctx.store.outcomes.forSubject(pseudonym);
    const trail: SubjectExport['auditTrail'] = [];
    for (let after = 0; ; ) {
      const page = audit.list({ subjectPseudonym: pseudonym, afterSeq: after, limit: 1000 });
      for (const e of page) trail.push({ seq: e.seq, occurredAt: e.occurredAt, action: e.action, actorKeyId: e.actorKeyId, outcome: e.outcome, details: e.details });
      if (page.length < 1000) break;
      after = page[page.length - 1]!.seq;
    }
    const entry = audit.append({ action: 'subject.exported', actorKeyId: actor.keyId, subjectPseudonym: pseudonym, outcome: 'ok' });
    return {
      exportedAt: entry.occurredAt,
      pseudonym,
      ...view,
      consentHistory: consentEvents,
      voiceprint:
        metadata === undefined
          ? null
          : { ...metadata, note: 'The voiceprint is an encrypted list of numbers derived from your speech; it is not a recording and is not included here.' },
      // Each with what the bank later reported the call to have been (outcomes.ts), without the reporting key.
      verifications: verifications.listForSubject(pseudonym).map((v) => ({
        id: v.id,
        occurredAt: v.occurredAt,
        policy: v.policy,
        decision: v.decision,
        reasons: v.reasons,
        score: v.score,
        rawScore: v.rawScore,
        normalisedScore: v.normalisedScore,
        threshold: v.threshold,
        rawThreshold: v.rawThreshold,
        netSpeechSeconds: v.netSpeechSeconds,
        channel: v.channel,
        transport: v.transport,
        model: v.modelId,
        outcome: outcomes.has(v.id) ? outcomeView(outcomes.get(v.id)!) : null,
      })),
      auditTrail: trail,
    };
  });
}

export type DeletionReceipt = Omit<ErasureReceipt, 'subjectPseudonym'> & { checkpointComplete: boolean };

/**
 * Art. 17: erases voiceprint, data key, samples and verification history in one transaction, ends
 * consent, and returns a receipt. Idempotent: erasing a subject with nothing held says so.
 */
export function eraseSubject(ctx: PassportContext, actor: Actor, customerId: string): DeletionReceipt {
  const pseudonym = pseudonymOf(ctx, customerId);
  const { subjectPseudonym: _p, checkpoint, ...receipt } = ctx.store.erasure.erase(pseudonym, { reason: 'subject-request', actorKeyId: actor.keyId });
  return { ...receipt, checkpointComplete: checkpoint.complete };
}

/** Operator: clears throttling and re-enables verification for one subject. */
export function resetLockout(ctx: PassportContext, actor: Actor, customerId: string): { attempts: AttemptsView } {
  const pseudonym = pseudonymOf(ctx, customerId);
  return ctx.store.db.transaction(() => {
    const before = requireSubject(ctx, pseudonym).attempts;
    ctx.store.subjects.resetAttempts(pseudonym);
    ctx.store.audit.append({
      action: 'attempts.reset',
      actorKeyId: actor.keyId,
      subjectPseudonym: pseudonym,
      outcome: 'ok',
      details: { consecutiveRejectsBefore: before.consecutiveRejects, disabledBefore: before.disabled },
    });
    return { attempts: attemptsView(ctx, pseudonym) };
  });
}
