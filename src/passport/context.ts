/**
 * Everything a use case needs, passed explicitly: the store (repositories), the embedder, the
 * consent notices, the rules' settings and the clock. Built once at start (service.ts) or per test.
 */
import type { ApiKeyRole, Store } from '../store/index.js';
import { defaultAttemptLimits, type AttemptLimits } from '../scoring/attempts.js';
import { defaultQualityLimits, type QualityLimits } from '../scoring/decision.js';
import type { ModelCalibration } from '../model/manifest.js';
import { defaultPoliciesFor } from '../scoring/policy.js';
import { Scorer } from '../scoring/scorer.js';
import type { ConsentNotices } from './consent-notices.js';
import { rederivePolicyThresholds } from './policies.js';
import { defaultRetention, retentionSettings, type RetentionSettings } from './retention.js';
import { defaultPolicyName } from './verification.js';
import type { Embedder } from './embedder.js';

/** Who is calling: the API key's public id (audit entries) and its role. */
export interface Actor {
  keyId: string;
  role: ApiKeyRole;
}

export interface EnrolmentSettings {
  /** Net speech, summed over the samples, a voiceprint needs (VP_ENROL_MIN_SECONDS). */
  requiredSeconds: number;
  /** Samples a voiceprint needs, however long each is (VP_ENROL_MIN_SAMPLES). */
  requiredSamples: number;
  /**
   * Least net speech in one sample. Embeddings of ResNet/ECAPA speaker models from under ~2-3 s of
   * speech are markedly less reliable (the EER rises steeply below 3 s in the duration studies of
   * VoxCeleb/SITW evaluations), and a voiceprint averages whatever it is given.
   */
  minSampleSeconds: number;
  /**
   * A new sample must score at least this policy's threshold against the samples already given
   * ("not-same-speaker" otherwise): a caller's bar at verification, a target-FMR policy read at its
   * estimate even where it bounds the upper end for callers (src/passport/enrolment.ts says why).
   */
  sameSpeakerPolicy: string;
}

export const defaultEnrolmentSettings: EnrolmentSettings = {
  requiredSeconds: 20,
  requiredSamples: 2,
  minSampleSeconds: 3,
  sameSpeakerPolicy: 'standard',
};

export interface PassportContext {
  store: Store;
  embedder: Embedder;
  notices: ConsentNotices;
  /** The configured storage periods, and the notices' shorter ones (retention.ts). */
  retention: RetentionSettings;
  enrolment: EnrolmentSettings;
  attemptLimits: AttemptLimits;
  qualityLimits: QualityLimits;
  /**
   * The running model's calibration (its manifest's `calibration`): verification scores become
   * LLRs and policies can be set by target false match rate. Undefined: cosine scores only.
   */
  calibration: ModelCalibration | undefined;
  /**
   * The comparison of a voiceprint with a test embedding (src/scoring/scorer.ts): the cosine, or its
   * AS-norm score when the manifest enables `scoreNormalisation`. The calibration and the policy
   * thresholds are on its scale.
   */
  scorer: Scorer;
  /** The same clock the store uses, so attempt windows and stored times agree. */
  clock: () => Date;
}

export interface PassportOptions {
  store: Store;
  embedder: Embedder;
  notices: ConsentNotices;
  /** Default: the configuration's defaults (1095 and 400 days, the audit log kept whole), with the notices' limits. */
  retention?: RetentionSettings;
  enrolment?: Partial<EnrolmentSettings>;
  attemptLimits?: AttemptLimits;
  qualityLimits?: QualityLimits;
  calibration?: ModelCalibration;
  /** Default: plain cosines. */
  scorer?: Scorer;
  clock?: () => Date;
}

/**
 * Builds the context and seeds the default policies at first start (never overwriting or re-adding
 * what an operator changed or deleted): set
 * by false match rate when the model is calibrated, else the cosine defaults. Thresholds of
 * policies set by false match rate are re-derived from the running calibration (audited).
 */
export function createPassportContext(options: PassportOptions): PassportContext {
  options.store.policies.seedDefaults(defaultPoliciesFor(options.calibration), defaultPolicyName);
  const ctx: PassportContext = {
    store: options.store,
    embedder: options.embedder,
    notices: options.notices,
    retention: options.retention ?? retentionSettings(defaultRetention, options.notices),
    enrolment: { ...defaultEnrolmentSettings, ...options.enrolment },
    attemptLimits: options.attemptLimits ?? defaultAttemptLimits,
    qualityLimits: options.qualityLimits ?? defaultQualityLimits,
    calibration: options.calibration,
    scorer: options.scorer ?? Scorer.cosine,
    clock: options.clock ?? (() => new Date()),
  };
  rederivePolicyThresholds(ctx);
  return ctx;
}
