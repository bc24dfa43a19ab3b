/**
 * The OpenAPI 3.1 description of the API, written by hand (the contract is designed, not derived).
 * test/http/openapi.test.ts keeps it honest: every Express route and every error catalogue code must
 * be documented here, with the roles the route really enforces.
 *
 * Extensions: `x-roles` (API key roles allowed), `x-problem-codes` (the catalogue codes a response
 * status can carry), `x-general-problem-codes` (codes not tied to one operation).
 */
import { ACCEPTED_AUDIO_CONTENT_TYPES } from '../audio/content-type.js';
import { errorCatalogue, errorCodes, type ErrorCode } from '../errors.js';
import { auditActions } from '../passport/audit.js';
import { enrolmentFeedbackCodes } from '../passport/enrolment.js';
import { scoreChannels } from '../scoring/policy.js';
import { consentChannels, outcomeSources, outcomeTruths, verificationDecisions, verificationTransports, apiKeyRoles, maxKeyLifetimeDays, type ApiKeyRole } from '../store/index.js';
import { problemContentType, problemType } from './problem.js';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const num = (extra: Schema = {}): Schema => ({ type: 'number', ...extra });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
const bool = (extra: Schema = {}): Schema => ({ type: 'boolean', ...extra });
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });
const time = (extra: Schema = {}): Schema => str({ format: 'date-time', ...extra });
/** An object with every listed property required (responses always carry every field). */
const obj = (properties: Record<string, Schema>, optional: string[] = [], extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  additionalProperties: false,
  ...extra,
});

const decisionCounts = obj(Object.fromEntries(verificationDecisions.map((d) => [d, int({ minimum: 0 })])));

/** What operator statistics report over a set of verifications: the whole range, or one channel's. */
const verificationStatsProperties = {
  verifications: obj({ total: int(), byDecision: decisionCounts, byPolicy: { type: 'object', additionalProperties: decisionCounts } }),
  scoreHistograms: { type: 'object', additionalProperties: arr(ref('HistogramBin')), description: 'Per policy: rawScore (cosine) of accepted and rejected verifications in 20 bins over [-1, 1).' },
  normalisedScoreHistograms: {
    type: 'object',
    additionalProperties: arr(ref('HistogramBin')),
    description:
      'Per policy: normalisedScore (AS-norm) of accepted and rejected verifications in 20 bins over [-4, 12); scores beyond fall in the edge bins. With a model that enables AS-norm, decisions and policy thresholds are on this scale, so accepts and rejects separate at the threshold here, not in the cosine histogram. Verifications without a normalised score are not counted.',
  },
};

const schemas: Record<string, Schema> = {
  ProblemCode: {
    type: 'string',
    enum: [...errorCodes],
    description: errorCodes.map((c) => `- \`${c}\` (${errorCatalogue[c].status}): ${errorCatalogue[c].title}`).join('\n'),
  },
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details. Extension members carry machine-readable figures, e.g. netSpeechSeconds or feedback.',
    properties: {
      type: str({ format: 'uri', description: `${problemType('internal').replace('internal', '{code}')}` }),
      title: str(),
      status: int(),
      code: ref('ProblemCode'),
      detail: str({ description: 'What went wrong and what to do about it.' }),
      instance: str(),
      requestId: str(),
      issues: {
        type: 'array',
        description: 'validation-failed: each invalid part of the request (at most 20), e.g. { "path": "body.channel", "message": "Invalid option" }.',
        items: obj({ path: str({ description: 'Where: query.…, body.… or path.….' }), message: str() }),
      },
    },
    required: ['type', 'title', 'status', 'code', 'detail'],
    additionalProperties: true,
  },
  SubjectId: str({ pattern: '^[A-Za-z0-9._:-]{1,128}$', description: "The bank's customer id. Stored only as a keyed HMAC pseudonym." }),
  ConsentInput: obj(
    {
      noticeVersion: str({ pattern: '^v[0-9]{1,4}$', description: 'The consent notice version shown: the current one (GET /v1/consent-notices).' }),
      channel: str({ enum: [...consentChannels], description: 'Where consent was captured. Telephony keys may record "ivr" only.' }),
      locale: str({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$', description: 'Language the notice was shown in; must exist for that version.' }),
      evidence: str({ minLength: 1, maxLength: 4096, description: "The bank's reference to its own proof (e.g. IVR recording id). Blanked on erasure; its SHA-256 stays." }),
    },
    ['locale', 'evidence'],
  ),
  ConsentState: {
    oneOf: [
      obj({ active: { const: true }, givenAt: time(), noticeVersion: str(), channel: str({ enum: [...consentChannels] }), locale: nullable(str()) }),
      obj({ active: { const: false }, withdrawnAt: nullable(time()) }),
    ],
  },
  ConsentResponse: obj({ consent: ref('ConsentState') }),
  WithdrawalResponse: obj({
    consent: ref('ConsentState'),
    erased: obj({ voiceprint: bool(), dataKey: bool(), enrolmentSamples: int({ minimum: 0 }), verifications: int({ minimum: 0 }) }),
    withdrawn: bool({ description: 'False when there was no active consent (the call is idempotent).' }),
    auditSeq: int(),
  }),
  ConsentNotice: obj({ version: str(), locale: str(), text: str({ description: 'Markdown.' }), sha256: str({ pattern: '^[0-9a-f]{64}$' }) }),
  NoticeRetention: obj(
    {
      voiceprintUnusedDays: nullable(int({ minimum: 1, description: 'An unused voiceprint is erased after this many days.' })),
      verificationHistoryDays: nullable(int({ minimum: 1, description: "Each verification's record is kept this many days." })),
      consentRecordDays: nullable(int({ minimum: 1, description: 'The record of a consent is kept this many days after it ended.' })),
    },
    undefined,
    { description: 'Storage periods in days (GDPR Art. 13(2)(a)); null where the notice names none.' },
  ),
  NoticeResponse: obj({
    version: str(),
    current: bool({ description: 'The version offered to customers now.' }),
    retention: ref('NoticeRetention'),
    availableLocales: arr(str()),
    notices: arr(ref('ConsentNotice'), { minItems: 1 }),
  }),
  NoticeList: obj({
    current: str({ description: 'The version to show a customer asked for consent now.' }),
    versions: arr(
      obj({
        version: str(),
        current: bool(),
        availableLocales: arr(str()),
        retention: ref('NoticeRetention'),
        appliedRetention: obj(
          { voiceprintUnusedDays: int({ minimum: 1 }), verificationHistoryDays: int({ minimum: 1 }), consentRecordDays: int({ minimum: 1 }) },
          undefined,
          { description: "What is kept to for those who agreed to this version: the shorter of the notice's period and the configuration's." },
        ),
      }),
    ),
    warnings: arr(str(), { description: 'Where the current notice and the configured periods disagree (also logged at start).' }),
  }),
  SampleQuality: obj({ netSpeechSeconds: num(), snrDb: nullable(num()), clippedRatio: num({ minimum: 0, maximum: 1 }), durationSeconds: num() }),
  EnrolmentFeedback: str({
    enum: [...enrolmentFeedbackCodes],
    description:
      'ok: sample used. too-short / no-speech: not enough speech (422). too-noisy / clipped: poor audio (422). not-same-speaker: the sample does not match the samples already given; the enrolment starts over (200). duplicate-sample: the same recording was already given in this enrolment; it counts once (409).',
  }),
  EnrolmentResponse: obj({
    status: str({ enum: ['enrolling', 'enrolled'], description: '"enrolled" when this sample completed the voiceprint.' }),
    netSpeechSeconds: num({ description: 'Net speech collected in this enrolment so far.' }),
    requiredSeconds: num(),
    samples: int(),
    requiredSamples: int(),
    feedback: arr(ref('EnrolmentFeedback'), { minItems: 1 }),
    sample: ref('SampleQuality'),
    model: str(),
  }),
  StreamMessage: {
    description: 'A server message of a verification stream (JSON text).',
    oneOf: [
      obj({ type: str({ const: 'listening' }), requiredSpeechSeconds: num(), maxAudioSeconds: num() }),
      obj({ type: str({ const: 'progress' }), receivedSeconds: num(), netSpeechSeconds: num(), requiredSpeechSeconds: num() }),
      obj({
        type: str({ const: 'result' }),
        analysedSeconds: nullable(num({ description: 'Seconds of the stream the decision was made on, from its start; null when the checks decided without audio.' })),
        verification: ref('VerificationResponse'),
      }),
      obj({ type: str({ const: 'error' }), problem: ref('Problem'), retryAfterSeconds: int({ minimum: 1 }) }, ['retryAfterSeconds']),
    ],
  },
  VerificationResponse: obj(
    {
      verificationId: str({ format: 'uuid' }),
      occurredAt: time(),
      decision: str({ enum: [...verificationDecisions] }),
      reasons: arr(
        str({
          enum: [
            'score-above-threshold',
            'score-below-threshold',
            'insufficient-speech',
            'low-snr',
            'clipped-audio',
            'consent-not-active',
            'no-voiceprint',
            'too-many-rejects',
            'verification-disabled',
          ],
        }),
      ),
      score: nullable(
        num({
          description:
            'On the scale scoreScale names. "llr" (the model has a calibration): the natural-log likelihood ratio llr = a·s + b of the model manifest, for the channel of the audio, where s is the comparison score (the cosine, or the AS-norm score when the manifest enables score normalisation); > 0 favours the same speaker, ln 10 ≈ 2.3 is 10:1 odds. "cosine": the cosine similarity, -1 to 1. "as-norm": the AS-norm score (uncalibrated). Accept when score >= threshold. Null when nothing was scored.',
        }),
      ),
      rawScore: nullable(num({ description: 'The cosine similarity of the embeddings, -1 to 1.' })),
      normalisedScore: nullable(
        num({
          description:
            'The AS-norm score of rawScore against the model\'s impostor cohort (adaptive symmetric score normalisation) when the model enables it: then it is the comparison score that decides. Null when normalisation is off or nothing was scored. Present only when the model manifest has scoreNormalisation (on or off).',
        }),
      ),
      scoreScale: str({ enum: ['llr', 'cosine', 'as-norm'] }),
      threshold: num({ description: "The policy's threshold on the score's scale." }),
      rawThreshold: num({
        description:
          'The same threshold on the comparison scale (the cosine, or the AS-norm score when the model enables it). Decisions compare comparison score >= rawThreshold, i.e. normalisedScore when it is a number, else rawScore (the LLR is a strictly increasing function of the comparison score, so both scales accept the same calls).',
      }),
      channel: nullable(
        str({ enum: ['wideband', 'telephone'], description: 'Audio at 8 kHz or less is scored as telephone (its own calibration and thresholds when the model has them). Null when no audio was analysed.' }),
      ),
      policy: str(),
      netSpeechSeconds: nullable(num()),
      model: str(),
      retryAfterSeconds: int({ description: '"locked" while throttled (also the Retry-After header).' }),
      additionalSpeechSecondsNeeded: num({ description: '"inconclusive" for lack of speech: seconds of speech still needed.' }),
    },
    ['normalisedScore', 'retryAfterSeconds', 'additionalSpeechSecondsNeeded'],
  ),
  Attempts: obj({ consecutiveRejects: int(), locked: bool(), retryAfterSeconds: nullable(int()), disabled: bool() }),
  VoiceprintSummary: obj({ sampleCount: int(), netSpeechSeconds: num(), createdAt: time() }),
  SubjectView: obj({
    createdAt: time({ description: 'When the subject was first recorded: their first consent, or for a caller who never consented, their first recorded call.' }),
    lastUsedAt: nullable(time()),
    consent: ref('ConsentState'),
    enrolment: obj({
      state: str({ enum: ['none', 'enrolling', 'enrolled'] }),
      model: nullable(str()),
      modelCurrent: nullable(bool()),
      enrolledAt: nullable(time()),
      voiceprint: nullable(ref('VoiceprintSummary')),
      inProgress: obj({ samples: int(), netSpeechSeconds: num(), requiredSeconds: num(), requiredSamples: int() }),
    }),
    attempts: ref('Attempts'),
    counts: obj({ verifications: int(), consentEvents: int() }),
    retention: obj(
      {
        voiceprintUnusedDays: int({ minimum: 1 }),
        voiceprintErasedAfter: nullable(time({ description: 'When the voiceprint is erased unless an accepted verification uses it first; null when none is held.' })),
        verificationHistoryDays: int({ minimum: 1 }),
        consentRecordDays: int({ minimum: 1, description: 'The record of consent and withdrawal is kept this many days after the consent ended.' }),
      },
      undefined,
      { description: 'How long what is held is kept (GDPR Art. 15(1)(d)): the periods of the notice agreed to, or the configuration\'s where shorter.' },
    ),
  }),
  ConsentEvent: obj({
    id: int(),
    kind: str({ enum: ['given', 'withdrawn'] }),
    noticeVersion: nullable(str()),
    channel: nullable(str({ enum: [...consentChannels] })),
    locale: nullable(str()),
    evidence: nullable(str()),
    evidenceSha256: nullable(str()),
    noticeSha256: nullable(str({ pattern: '^[0-9a-f]{64}$', description: 'The SHA-256 of the notice text agreed to (GET /v1/consent-notices/{version} gives each text\'s), where the language shown was named.' })),
    reason: nullable(str({ enum: ['subject-request', 'erasure-request', 'retention-expired'] })),
    actorKeyId: nullable(str()),
    occurredAt: time(),
  }),
  SubjectExport: {
    allOf: [
      ref('SubjectView'),
      {
        type: 'object',
        properties: {
          exportedAt: time(),
          pseudonym: str({ pattern: '^[0-9a-f]{64}$' }),
          consentHistory: arr(ref('ConsentEvent')),
          voiceprint: nullable(obj({ modelId: str(), sampleCount: int(), netSpeechSeconds: num(), formatVersion: int(), createdAt: time(), note: str() })),
          verifications: arr(
            obj({
              id: str(),
              occurredAt: time(),
              policy: str(),
              decision: str({ enum: [...verificationDecisions] }),
              reasons: arr(str()),
              score: nullable(num()),
              rawScore: nullable(num()),
              normalisedScore: nullable(num({ description: 'The AS-norm score that decided; null when the model did not normalise scores, and for verifications recorded before this field existed.' })),
              threshold: nullable(num()),
              rawThreshold: nullable(num({ description: 'The threshold on the comparison scale (cosine or AS-norm score); null for verifications recorded before this field existed.' })),
              netSpeechSeconds: nullable(num()),
              channel: nullable(str({ enum: [...scoreChannels], description: 'The channel the audio was scored on; null when no audio was analysed, and for verifications recorded before this field existed.' })),
              transport: nullable(
                str({ enum: [...verificationTransports], description: 'How the audio came: "request" (a recording in a POST body) or "stream" (the call over a WebSocket); null for verifications recorded before this field existed.' }),
              ),
              model: nullable(str()),
              outcome: nullable(ref('ReportedOutcome')),
            }),
          ),
          auditTrail: arr(obj({ seq: int(), occurredAt: time(), action: str({ enum: [...auditActions] }), actorKeyId: nullable(str()), outcome: str(), details: { type: 'object' } })),
        },
        required: ['exportedAt', 'pseudonym', 'consentHistory', 'voiceprint', 'verifications', 'auditTrail'],
      },
    ],
  },
  DeletionReceipt: obj({
    receipt: obj({
      reason: str({ enum: ['subject-request'] }),
      erasedAt: time(),
      subjectKnown: bool({ description: 'False when nothing was held.' }),
      voiceprintErased: bool(),
      dataKeyDestroyed: bool(),
      enrolmentSamplesErased: int(),
      verificationsErased: int(),
      consentWithdrawn: bool(),
      consentEvidenceRedacted: int(),
      auditSeq: int(),
      checkpointComplete: bool({ description: 'True when the erased pages also left the write-ahead log.' }),
    }),
  }),
  PolicyInput: obj(
    {
      name: str({ pattern: '^[a-z][a-z0-9-]{0,31}$' }),
      targetFmr: num({
        exclusiveMinimum: 0,
        maximum: 0.5,
        description:
          'Target false match rate, e.g. 0.01. The threshold is derived per channel from the calibration data of the running model (the lowest threshold whose measured FMR is at most the target). Needs a calibrated model (400 otherwise).',
      }),
      targetFmrBound: str({
        enum: ['estimate', 'upper-95'],
        description:
          "Only with targetFmr. What the target bounds: 'estimate', the FMR measured on the calibration speakers; 'upper-95', the upper end of its 95 % interval over resampled calibration speakers: a stricter threshold, for callers other than the calibration speakers, at the cost of more false non-matches. 'upper-95' needs a calibration with intervals (400 otherwise). Left out: 'upper-95' when every calibrated channel has intervals, else 'estimate' (the default tiers' bound).",
      }),
      threshold: num({
        minimum: -100,
        maximum: 100,
        description:
          'Explicit threshold on the comparison score: accept when score >= threshold. The comparison score is the cosine (a threshold in [-1, 1]; others are refused with 400), or the AS-norm score when the model enables score normalisation ([-100, 100]).',
      }),
      minNetSpeechSeconds: num({
        minimum: 0.5,
        maximum: 60,
        description:
          "Omitted: from the calibration's EER-by-duration table, the net speech at which its EER reaches 5 % (2 % for targetFmr below 0.01), on the chord between the two tested durations either side, rounded up to 0.1 s; the largest over the channels and their tables across channels; without a table 3 s (5 s).",
      }),
      description: str({ maxLength: 200 }),
    },
    ['targetFmr', 'targetFmrBound', 'threshold', 'minNetSpeechSeconds', 'description'],
    { oneOf: [{ required: ['targetFmr'] }, { required: ['threshold'] }] },
  ),
  RateInterval: obj(
    { low: num({ minimum: 0, maximum: 1 }), high: num({ minimum: 0, maximum: 1 }) },
    [],
    {
      description:
        "95 % interval of the rate over resampled calibration speakers (subsets bootstrap, Bolle et al. 2004): how far callers other than the calibration speakers may land. For 'at-most' rates, the interval of the bound. Null when the calibration has none.",
    },
  ),
  PolicyOnChannel: obj({
    calibration: str({ enum: ['wideband', 'telephone'], description: 'The calibration used (telephone falls back to wideband).' }),
    rawThreshold: num({ description: 'Decides: accept when the comparison score (the cosine, or the AS-norm score when the model enables it) >= rawThreshold.' }),
    llrThreshold: num({ description: 'The same threshold on the LLR scale.' }),
    fmr: nullable(num({ description: 'False match rate on the calibration trials at this threshold.' })),
    fnmr: nullable(num({ description: 'False non-match rate on the calibration trials at this threshold.' })),
    fmrInterval: nullable(ref('RateInterval')),
    fnmrInterval: nullable(ref('RateInterval')),
    rates: str({ enum: ['measured', 'at-most', 'unknown'], description: 'measured: at exactly this threshold (targetFmr policies); at-most: upper bounds from the nearest table rows (explicit thresholds); unknown: the calibration has no operating table.' }),
    targetFmrBound: nullable(
      str({ enum: ['estimate', 'upper-95'], description: "What the target bounds on this channel: the policy's targetFmrBound, or 'estimate' where this channel's calibration has no intervals (with a warning). Null for explicit thresholds." }),
    ),
    targetTrials: nullable(int()),
    nonTargetTrials: nullable(int()),
    falseMatchPairs: nullable(
      int({
        minimum: 0,
        description:
          "Pairs of calibration speakers with a non-target score at or above the threshold (for an explicit threshold, at the table row whose FMR bounds it): how many people the FMR was observed on. False matches gather in a few pairs of similar voices, so a rate made by fewer than 3 pairs is not supported. Null when the calibration does not count them.",
      }),
    ),
    lowestSupportedFmr: nullable(
      num({
        description:
          "The lowest target FMR these calibration trials support under this bound (the estimate's for an explicit threshold): 3/N non-target trials (ISO/IEC 19795-1 rule of three), or higher where a lower target's threshold would rest on the false matches of fewer than 3 pairs of speakers.",
      }),
    ),
  }),
  Policy: obj({
    name: str(),
    threshold: num({ description: 'Threshold on the comparison score (the cosine, or the AS-norm score when the model enables it) that decides for wideband callers now (derived from targetFmr when set).' }),
    minNetSpeechSeconds: num(),
    description: str(),
    targetFmr: nullable(num()),
    targetFmrBound: nullable(str({ enum: ['estimate', 'upper-95'], description: 'What targetFmr bounds; null with an explicit threshold.' })),
    thresholdSource: str({ enum: ['target-fmr', 'explicit'] }),
    channels: nullable(
      obj({ wideband: ref('PolicyOnChannel'), telephone: ref('PolicyOnChannel') }, ['wideband', 'telephone'], {
        description: 'Per channel of the calibration: the threshold and the FMR/FNMR it implies, with the trials behind them. Null without calibration.',
      }),
    ),
    updatedBy: nullable(str()),
    updatedAt: time(),
  }),
  PoliciesInput: obj({ policies: arr(ref('PolicyInput'), { minItems: 1, maxItems: 32, description: 'The whole set; must include "standard".' }) }),
  CalibrationChannel: obj({
    a: num({ exclusiveMinimum: 0 }),
    b: num(),
    targetTrials: nullable(int()),
    nonTargetTrials: nullable(int()),
    operatingTable: bool(),
    protocol: nullable(str({ description: "How the calibration trials were formed (the model manifest's calibration data.protocol): what the policies' rates rest on. Null when the calibration does not record it." })),
  }),
  PoliciesResponse: obj({
    policies: arr(ref('Policy')),
    scoreScale: str({ enum: ['llr', 'cosine', 'as-norm'] }),
    comparisonScale: str({
      enum: ['cosine', 'as-norm'],
      description: "The comparison score's scale: policies' explicit thresholds and channels' rawThreshold are on it, and so are the statistics' histograms (scoreHistograms for cosine, normalisedScoreHistograms for as-norm).",
    }),
    explanation: str(),
    calibration: nullable(
      obj({
        model: str(),
        method: str({ enum: ['logistic'] }),
        channels: obj({ wideband: ref('CalibrationChannel'), telephone: ref('CalibrationChannel') }, ['telephone']),
      }),
    ),
    warnings: arr(str(), {
      description: 'E.g. a targetFmr below what the calibration supports (3/N non-target trials, the rule of three, or a threshold resting on the false matches of fewer than 3 pairs of speakers); also written to the audit log when a policy is set.',
    }),
  }),
  HistogramBin: obj({ lower: num(), upper: num(), accept: int(), reject: int() }),
  OutcomeInput: obj({
    truth: str({ enum: [...outcomeTruths], description: '"genuine": the caller was the customer; "impostor": they were not.' }),
    source: str({
      enum: [...outcomeSources],
      description: 'How it became known: step-up (another factor passed or failed), agent (the agent\'s judgement), customer-report, fraud-case. Telephony keys may report step-up and agent only, and cannot replace an outcome an operator reported (403).',
    }),
  }),
  ReportedOutcome: obj({ truth: str({ enum: [...outcomeTruths] }), source: str({ enum: [...outcomeSources] }), reportedAt: time() }),
  OutcomeResponse: obj({
    verificationId: str({ format: 'uuid' }),
    policy: str(),
    decision: str({ enum: ['accept', 'reject', 'inconclusive'] }),
    outcome: ref('ReportedOutcome'),
    assessment: str({ enum: ['correct', 'false-match', 'false-non-match', 'undecided'], description: 'What the outcome makes of the decision; "undecided" for an inconclusive one.' }),
    verificationDisabled: bool({
      description: "True when the subject's voice verification is disabled: a reported false match disables it (verifications answer locked, verification-disabled) until an operator reset or a new enrolment.",
    }),
  }),
  ObservedRate: obj(
    { errors: int({ minimum: 0 }), decided: int({ minimum: 1 }), rate: num({ minimum: 0, maximum: 1 }), low95: num({ minimum: 0, maximum: 1 }), high95: num({ minimum: 0, maximum: 1 }) },
    [],
    { description: 'Errors among the reported calls that were accepted or rejected, with the 95 % Wilson score interval.' },
  ),
  GenuineOutcomes: obj(
    { reported: int(), accepted: int(), rejected: int(), inconclusive: int(), falseNonMatchRate: nullable(ref('ObservedRate')) },
    [],
    { description: 'Calls reported to be the customer, by the decision they got; a reject was a false non-match.' },
  ),
  ImpostorOutcomes: obj(
    { reported: int(), accepted: int(), rejected: int(), inconclusive: int(), falseMatchRate: nullable(ref('ObservedRate')) },
    [],
    { description: 'Calls reported not to be the customer, by the decision they got; an accept was a false match.' },
  ),
  OutcomeRates: obj({ genuine: ref('GenuineOutcomes'), impostor: ref('ImpostorOutcomes') }),
  PolicyOutcomes: obj({
    genuine: ref('GenuineOutcomes'),
    impostor: ref('ImpostorOutcomes'),
    byChannel: obj(Object.fromEntries(scoreChannels.map((c) => [c, ref('OutcomeRates')])), [], {
      description: 'The same per scoring channel, whose calibrations and thresholds differ; calls recorded before the channel was kept are in the totals only.',
    }),
  }),
  StatsResponse: obj({
    from: nullable(time()),
    to: nullable(time()),
    ...verificationStatsProperties,
    byChannel: obj(
      Object.fromEntries(scoreChannels.map((c) => [c, ref('ChannelStats')])),
      [],
      {
        description:
          'The same figures for the verifications scored on each channel (its own calibration and policy thresholds); verifications without analysed audio (not-enrolled, no-consent, locked) and those recorded before the channel was kept are in the totals only.',
      },
    ),
    byTransport: obj(
      Object.fromEntries(verificationTransports.map((t) => [t, ref('TransportStats')])),
      [],
      {
        description:
          'Counts and inconclusive reasons for the verifications whose audio came each way: "request" (a recording in a POST body) or "stream" (a call over the WebSocket); those recorded before the transport was kept are in the totals only.',
      },
    ),
    enrolment: obj({ subjects: int(), enrolling: int(), enrolled: int() }),
    lockouts: obj({ lockedDecisions: int(), verificationDisabledNow: int() }),
    outcomes: {
      type: 'object',
      additionalProperties: ref('PolicyOutcomes'),
      description:
        'Per policy, the verifications in the range whose outcome was reported, and the error rates among them. Reported calls are not a random sample (fraud is found mostly among accepted calls): the rates show drift and gross failures, not an unbiased estimate.',
    },
  }),
  TransportStats: obj({
    verifications: verificationStatsProperties.verifications,
    inconclusiveReasons: {
      type: 'object',
      additionalProperties: int({ minimum: 1 }),
      description: 'How often each reason code was given with an inconclusive decision, most frequent first.',
    },
  }),
  ChannelStats: obj({
    ...verificationStatsProperties,
    inconclusiveReasons: {
      type: 'object',
      additionalProperties: int({ minimum: 1 }),
      description: 'How often each reason code was given with an inconclusive decision (insufficient-speech, low-snr, clipped-audio): why callers on this channel could not be decided.',
    },
  }),
  AuditEntry: obj({
    seq: int({ minimum: 1 }),
    occurredAt: time(),
    action: str({ enum: [...auditActions] }),
    actorKeyId: nullable(str()),
    subjectPseudonym: nullable(str({ pattern: '^[0-9a-f]{64}$' })),
    outcome: str(),
    details: { type: 'object' },
    prevHash: str({ pattern: '^[0-9a-f]{64}$' }),
    hash: str({ pattern: '^[0-9a-f]{64}$' }),
  }),
  AuditPage: obj({
    entries: arr(ref('AuditEntry')),
    nextAfterSeq: nullable(int()),
    head: nullable(obj({ seq: int(), hash: str() })),
    prunedThrough: nullable(
      obj({ seq: int(), hash: str() }, [], {
        description: 'The entry the log continues from once its oldest entries were pruned (VP_AUDIT_RETENTION_DAYS; an audit.pruned entry records each pruning); null when none were. The first entry held links to it.',
      }),
    ),
  }),
  LockoutResponse: obj({ attempts: ref('Attempts') }),
  ApiKey: obj({
    id: str({ pattern: '^key_[0-9a-f]{16}$' }),
    role: str({ enum: [...apiKeyRoles] }),
    name: str(),
    createdAt: time(),
    lastUsedAt: nullable(time()),
    revokedAt: nullable(time()),
    expiresAt: nullable(time({ description: 'When the key stops working (401 after it); null: it does not expire.' })),
  }),
  CreateKeyInput: obj(
    {
      role: str({ enum: [...apiKeyRoles] }),
      name: str({ minLength: 1, maxLength: 200 }),
      expiresAt: time({ description: `When the key stops working: after now, at most ${maxKeyLifetimeDays} days ahead. Omitted: it does not expire.` }),
    },
    ['name', 'expiresAt'],
  ),
  CreatedKey: {
    allOf: [ref('ApiKey'), { type: 'object', properties: { key: str({ description: 'The secret, shown only in this response.' }) }, required: ['key'] }],
  },
  KeyList: obj({ keys: arr(ref('ApiKey')) }),
  Health: obj({ status: { const: 'ok' } }),
  Readiness: obj({ status: str({ enum: ['ready', 'not-ready'] }), checks: { type: 'object', additionalProperties: bool() } }),
};

interface OpOptions {
  summary: string;
  description?: string;
  roles: readonly ApiKeyRole[] | null;
  params?: Schema[];
  query?: Schema[];
  body?: { contentType: 'json'; schema: string } | { contentType: 'audio' };
  ok: { status: number; description: string; schema?: string; contentType?: string; headers?: Schema };
  problems: ErrorCode[];
}

const subjectIdParam: Schema = { name: 'id', in: 'path', required: true, schema: ref('SubjectId') };
const retryAfter: Schema = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: int({ minimum: 1 }) } };
const idempotencyKeyParam: Schema = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'draft-ietf-httpapi-idempotency-key-header: a Structured Field string (a bare key of letters, digits and -._~:/+= is taken too), 1-255 characters, unique per request of this API key. A retry with the same key and the same request (subject, query, audio) within 24 h gets the first answer again, with Idempotent-Replayed: true, instead of being processed twice; the same key for another request is 422 idempotency-key-reused, and a retry while the first still runs 409 idempotency-key-in-use (Retry-After). A request that failed frees its key.',
  schema: str({ maxLength: 255, example: '"8e03978e-40d5-43e8-bc93-6894a57f9324"' }),
};
const idempotentReplayed: Schema = { 'Idempotent-Replayed': { description: 'Present ("true") when this is the kept answer to an earlier request with the same Idempotency-Key.', schema: str({ enum: ['true'] }) } };
const idempotencyProblems: ErrorCode[] = ['idempotency-key-in-use', 'idempotency-key-reused'];
const policiesEtag: Schema = { ETag: { description: 'The version of the policy set (RFC 9110 §8.8.3): send it as If-Match with the PUT that changes it.', schema: str() } };
const ifMatchParam: Schema = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'RFC 9110 §13.1.1: the ETag of the set the change was made on; when the set changed since, 412 precondition-failed and nothing is changed. Without it the PUT replaces whatever set is current.',
  schema: str({ example: '"0d5c2f6e9a1b4c7d8e3f2a1b0c9d8e7f"' }),
};

/** Problem responses grouped by status, each listing the codes it can carry. */
function problemResponses(codes: ErrorCode[]): Record<string, Schema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) byStatus.set(errorCatalogue[c].status, [...(byStatus.get(errorCatalogue[c].status) ?? []), c]);
  const out: Record<string, Schema> = {};
  for (const [status, cs] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const r: Schema = {
      description: cs.map((c) => `\`${c}\`: ${errorCatalogue[c].title}`).join('; '),
      'x-problem-codes': cs,
      content: { [problemContentType]: { schema: ref('Problem') } },
    };
    if (cs.some((c) => c === 'rate-limited' || c === 'overloaded')) r.headers = retryAfter;
    // 409 idempotency-key-in-use: the first request with the key still runs (Retry-After: 1).
    if (cs.includes('idempotency-key-in-use')) r.headers = { 'Retry-After': { description: 'With idempotency-key-in-use: seconds to wait before retrying (1).', schema: int({ minimum: 1 }) } };
    // RFC 9110 §15.5.22: a 426 names the protocol to switch to (and RFC 6455 §4.4 the versions spoken).
    if (cs.includes('upgrade-required')) {
      r.headers = {
        Upgrade: { description: 'websocket', schema: str({ enum: ['websocket'] }) },
        'Sec-WebSocket-Version': { description: 'The WebSocket version spoken (13), when the handshake asked for another.', schema: str({ enum: ['13'] }) },
      };
    }
    if (cs.includes('unauthorized')) {
      r.headers = { 'WWW-Authenticate': { description: 'Bearer realm="voice-passport" without a key; with error="invalid_token" added for a malformed, unknown, revoked or expired one (RFC 6750 §3).', schema: str() } };
    }
    out[String(status)] = r;
  }
  return out;
}

function op(o: OpOptions): Schema {
  const authProblems: ErrorCode[] = o.roles === null ? [] : ['unauthorized', 'forbidden', 'rate-limited'];
  const parameters = [...(o.params ?? []), ...(o.query ?? [])];
  const ok: Schema = { description: o.ok.description };
  if (o.ok.schema) ok.content = { [o.ok.contentType ?? 'application/json']: { schema: ref(o.ok.schema) } };
  else if (o.ok.contentType) ok.content = { [o.ok.contentType]: { schema: str() } };
  if (o.ok.headers) ok.headers = o.ok.headers;
  const operation: Schema = {
    summary: o.summary,
    ...(o.description ? { description: o.description } : {}),
    'x-roles': o.roles === null ? [] : [...o.roles],
    security: o.roles === null ? [] : [{ apiKey: [] }],
    ...(parameters.length ? { parameters } : {}),
    // Open routes take no input, so they cannot fail validation.
    // Any request may meet the HTTP server's own refusals (408, 431) before it reaches a route.
    responses: { [String(o.ok.status)]: ok, ...problemResponses([...new Set([...o.problems, ...authProblems, ...(o.roles === null ? [] : ['validation-failed']), 'request-timeout', 'request-headers-too-large', 'internal'] as ErrorCode[])]) },
  };
  if (o.body?.contentType === 'json') {
    operation.requestBody = { required: true, content: { 'application/json': { schema: ref(o.body.schema) } } };
  } else if (o.body?.contentType === 'audio') {
    operation.requestBody = {
      required: true,
      description: `The audio, as received from the caller. Accepted types: ${ACCEPTED_AUDIO_CONTENT_TYPES.join(', ')}. Kept in memory only; never stored or logged.`,
      content: Object.fromEntries(['audio/wav', 'audio/basic', 'audio/PCMU', 'audio/PCMA', 'audio/L16'].map((t) => [t, { schema: str({ format: 'binary' }) }])),
    };
  }
  return operation;
}

const audioProblems: ErrorCode[] = [
  'audio-empty',
  'audio-malformed',
  'audio-unsupported',
  'audio-too-long',
  'audio-invalid-samples',
  'audio-sample-rate-unsupported',
  // A compressed body (Content-Encoding) is refused before it is read: bodies are taken as sent.
  'unsupported-media-type',
  'payload-too-large',
  'overloaded',
  'not-ready',
];

/** The page is at /console/ (with the slash, under which its relative links resolve); /console redirects there. */
function consolePageOperation(): Schema {
  const operation = op({
    summary: 'Operator console: the page, at /console/',
    roles: null,
    ok: { status: 200, description: 'The console page, served at /console/ when VP_CONSOLE is on.', contentType: 'text/html' },
    problems: [],
  });
  (operation.responses as Record<string, Schema>)['301'] = { description: 'Without the trailing slash: moved to /console/.', headers: { Location: { schema: str({ enum: ['/console/'] }) } } };
  return operation;
}

/** /readyz answers 503 with the same body (not a problem) while a check fails. */
function readinessOperation(): Schema {
  const operation = op({ summary: 'Readiness: not stopping, model loaded, database open, master key current', roles: null, ok: { status: 200, description: 'Ready.', schema: 'Readiness' }, problems: [] });
  (operation.responses as Record<string, Schema>)['503'] = { description: 'Not ready: the failing checks are false (running is false once the service is stopping).', content: { 'application/json': { schema: ref('Readiness') } } };
  return operation;
}

const paths: Record<string, Record<string, Schema>> = {
  '/healthz': { get: op({ summary: 'Liveness', roles: null, ok: { status: 200, description: 'The process answers.', schema: 'Health' }, problems: [] }) },
  '/readyz': { get: readinessOperation() },
  '/openapi.json': { get: op({ summary: 'This document', roles: null, ok: { status: 200, description: 'OpenAPI 3.1', contentType: 'application/json' }, problems: [] }) },
  // The operator console (VP_CONSOLE): static files, no data; the page reads the operator API with a key the operator types in.
  '/console': { get: consolePageOperation() },
  '/console/console.js': { get: op({ summary: 'Operator console: its script', roles: null, ok: { status: 200, description: 'The console script.', contentType: 'text/javascript' }, problems: [] }) },
  '/console/console.css': { get: op({ summary: 'Operator console: its style sheet', roles: null, ok: { status: 200, description: 'The console style sheet.', contentType: 'text/css' }, problems: [] }) },
  '/v1/subjects/{id}/consent': {
    put: op({
      summary: 'Record explicit consent (GDPR Art. 9(2)(a), 7(1))',
      description: 'Records the notice version shown, channel, time and calling key. The version must be the current one (GET /v1/consent-notices): consent to a superseded notice is refused with notice-superseded. Unknown fields are refused.',
      roles: ['telephony', 'enrolment'],
      params: [subjectIdParam],
      body: { contentType: 'json', schema: 'ConsentInput' },
      ok: { status: 200, description: 'Consent is active.', schema: 'ConsentResponse' },
      problems: ['notice-superseded', 'unsupported-media-type', 'payload-too-large'],
    }),
    delete: op({
      summary: 'Withdraw consent (Art. 7(3)); erases the voiceprint in the same transaction',
      roles: ['telephony', 'enrolment'],
      params: [subjectIdParam],
      ok: { status: 200, description: 'Consent is withdrawn and biometric data erased. Idempotent.', schema: 'WithdrawalResponse' },
      problems: [],
    }),
  },
  '/v1/consent-notices': {
    get: op({
      summary: 'The consent notice versions, the current one, and their storage periods',
      description:
        "Every version stays: consents given under it remain valid, and their data is kept no longer than it says. appliedRetention is what the service keeps to for those who agreed to each: the notice's period where the configuration's is longer.",
      roles: ['telephony', 'enrolment', 'operator'],
      ok: { status: 200, description: 'The versions, oldest first.', schema: 'NoticeList' },
      problems: [],
    }),
  },
  '/v1/consent-notices/{version}': {
    get: op({
      summary: 'A consent notice text, English and Dutch',
      description: 'Both languages, or the one chosen by ?locale (404 if absent) or Accept-Language (all languages if none matches).',
      roles: ['telephony', 'enrolment', 'operator'],
      params: [{ name: 'version', in: 'path', required: true, schema: str({ example: 'v1' }) }],
      query: [{ name: 'locale', in: 'query', required: false, schema: str({ example: 'nl' }) }],
      ok: {
        status: 200,
        description: 'The notice.',
        schema: 'NoticeResponse',
        headers: { 'Content-Language': { description: 'The language of the text, when one language is answered (?locale, or an Accept-Language that matched).', schema: str() } },
      },
      problems: ['not-found'],
    }),
  },
  '/v1/subjects/{id}/enrolments': {
    post: op({
      summary: 'Add an enrolment sample',
      description:
        'Samples accumulate until enough net speech is collected (VP_ENROL_MIN_SECONDS over at least VP_ENROL_MIN_SAMPLES samples); then the voiceprint is made, replacing any earlier one. Consent is checked before the audio is read (403 consent-required).',
      roles: ['enrolment'],
      params: [subjectIdParam, idempotencyKeyParam],
      body: { contentType: 'audio' },
      ok: { status: 200, description: 'The sample was processed; see status and feedback.', schema: 'EnrolmentResponse', headers: idempotentReplayed },
      problems: ['consent-required', 'insufficient-speech', 'poor-audio-quality', 'duplicate-sample', ...idempotencyProblems, ...audioProblems],
    }),
  },
  '/v1/subjects/{id}/verifications': {
    post: op({
      summary: 'Verify a caller against the voiceprint',
      description:
        'Always 200 with a decision for a valid request: accept, reject, inconclusive (with additionalSpeechSecondsNeeded), not-enrolled, no-consent, locked (Retry-After while throttled after 5 consecutive rejects; disabled after 50 until an operator reset or re-enrolment). Never cached: each call computes afresh, unless it is a retry with the Idempotency-Key of an earlier call (the answer kept for it). A voiceprint of another model gives 409 model-changed: re-enrol.',
      roles: ['telephony'],
      params: [subjectIdParam, idempotencyKeyParam],
      query: [{ name: 'policy', in: 'query', required: false, schema: str({ default: 'standard' }) }],
      body: { contentType: 'audio' },
      ok: { status: 200, description: 'The decision.', schema: 'VerificationResponse', headers: { ...retryAfter, ...idempotentReplayed } },
      problems: ['model-changed', ...idempotencyProblems, ...audioProblems],
    }),
  },
  '/v1/verifications/{verificationId}/outcome': {
    put: op({
      summary: 'Report what a verification really was',
      description:
        'Once the bank knows whether the caller was the customer, it says so; a later report replaces an earlier one. The operator statistics then show the false match and false non-match rates among reported calls per policy. The outcome is part of the customer\'s export and goes with the verification record (history retention, erasure). Audited as verification.outcome-reported.',
      roles: ['telephony', 'operator'],
      params: [{ name: 'verificationId', in: 'path', required: true, schema: str({ format: 'uuid' }) }],
      body: { contentType: 'json', schema: 'OutcomeInput' },
      ok: { status: 200, description: 'The outcome as held, and what it makes of the decision.', schema: 'OutcomeResponse' },
      problems: ['not-found', 'verification-not-scored', 'unsupported-media-type', 'payload-too-large'],
    }),
  },
  '/v1/subjects/{id}/verifications/stream': {
    get: op({
      summary: 'Verify a caller as the call\'s audio streams in (WebSocket, RFC 6455)',
      description:
        'Open as a WebSocket with the same telephony key. The handshake is refused in plain HTTP like any request (401, 403, 429, 400; 426 without "Upgrade: websocket"; 503 overloaded when VP_STREAM_MAX_OPEN streams are open, 503 not-ready while the service stops). No subprotocol is selected. After the upgrade the consent, voiceprint and attempt checks run first: when they decide (no-consent, not-enrolled, locked) the server sends the result at once. Otherwise it sends `listening`, and the client sends the audio as binary messages (raw samples in `codec`; 20 ms frames are typical) and, optionally, the text message {"type":"end"} when the caller has finished. The server analyses the growing audio about once a second of new audio (once a tenth more beyond 10 s), sending `progress`, and scores it once, as soon as it holds the policy\'s net speech (or speechSeconds), or on what it holds when the client ends it, falls silent for VP_STREAM_IDLE_SECONDS, reaches VP_MAX_AUDIO_SECONDS of audio or has run VP_MAX_AUDIO_SECONDS + 30 s. It sends `result` (the same body as POST …/verifications: one attempt, recorded and audited alike) and closes 1000. An `error` message carries a problem (model-changed, audio-*, validation-failed for a text message other than end, unauthorized when the key is revoked or expires before the decision: nothing decided or recorded; overloaded with retryAfterSeconds, not-ready) and is followed by close 1008 (the client\'s fault), 1013 (overloaded, not-ready: try again later) or 1011. A message over 1 MiB closes the stream with 1009, and a service that stops closes it with 1001. A stream the client closes before its result is abandoned: nothing is scored or recorded. Audio is held in memory only and overwritten when the stream ends.',
      roles: ['telephony'],
      params: [subjectIdParam],
      query: [
        { name: 'policy', in: 'query', required: false, schema: str({ default: 'standard' }) },
        { name: 'codec', in: 'query', required: false, schema: str({ enum: ['PCMU', 'PCMA', 'L16'], default: 'PCMU', description: 'G.711 µ-law or A-law at 8 kHz, or 16-bit big-endian PCM at rate (RFC 3551).' }) },
        { name: 'rate', in: 'query', required: false, schema: int({ minimum: 8000, maximum: 48000, default: 8000, description: 'Sample rate of L16 audio only.' }) },
        { name: 'speechSeconds', in: 'query', required: false, schema: num({ exclusiveMinimum: 0, description: "Net speech to wait for before deciding, when more than the policy's minimum (never less); at most VP_MAX_AUDIO_SECONDS." }) },
      ],
      ok: { status: 101, description: 'Switching protocols: the stream is open. Server messages are JSON texts, each a StreamMessage.', schema: 'StreamMessage' },
      problems: ['upgrade-required', 'overloaded', 'not-ready'],
    }),
  },
  '/v1/subjects/{id}': {
    get: op({
      summary: 'What is held about a subject (Art. 15); never the template',
      roles: ['enrolment'],
      params: [subjectIdParam],
      ok: { status: 200, description: 'Consent, enrolment, attempts, counts.', schema: 'SubjectView' },
      problems: ['not-found'],
    }),
    delete: op({
      summary: 'Erase the subject (Art. 17); returns a deletion receipt',
      roles: ['enrolment'],
      params: [subjectIdParam],
      ok: { status: 200, description: 'Erased (idempotent).', schema: 'DeletionReceipt' },
      problems: [],
    }),
  },
  '/v1/subjects/{id}/export': {
    get: op({
      summary: 'Everything held about the subject, as JSON (Art. 15(3), 20)',
      roles: ['enrolment'],
      params: [subjectIdParam],
      ok: { status: 200, description: 'The export.', schema: 'SubjectExport' },
      problems: ['not-found'],
    }),
  },
  '/v1/operator/policies': {
    get: op({ summary: 'Verification policies', roles: ['operator'], ok: { status: 200, description: 'Policies.', schema: 'PoliciesResponse', headers: policiesEtag }, problems: [] }),
    put: op({
      summary: 'Replace the set of policies',
      description:
        'Each policy sets either targetFmr (the threshold is derived from the calibration data of the running model, per channel, whenever it is used; targetFmrBound "upper-95" bounds the upper end of the FMR\'s 95 % interval instead of the estimate) or an explicit threshold on the comparison score: a cosine in [-1, 1], or the AS-norm score in [-100, 100] when the model enables score normalisation (400 for a cosine model\'s threshold outside [-1, 1]). A targetFmr below what the calibration trials support (3/N, or a threshold resting on the false matches of fewer than 3 pairs of speakers) is accepted with a warning in the response and in the audit entry.',
      roles: ['operator'],
      params: [ifMatchParam],
      body: { contentType: 'json', schema: 'PoliciesInput' },
      ok: { status: 200, description: 'The new set.', schema: 'PoliciesResponse', headers: policiesEtag },
      problems: ['precondition-failed', 'unsupported-media-type', 'payload-too-large'],
    }),
  },
  '/v1/operator/stats': {
    get: op({
      summary: 'Aggregates: decisions by policy, score histograms, enrolment funnel, lockouts',
      roles: ['operator'],
      query: [
        { name: 'from', in: 'query', required: false, description: 'Inclusive; ISO 8601 date or date-time (with offset).', schema: str({ example: '2026-03-01' }) },
        { name: 'to', in: 'query', required: false, description: 'Exclusive; ISO 8601 date or date-time (with offset).', schema: str({ example: '2026-04-01T00:00:00Z' }) },
      ],
      ok: { status: 200, description: 'Statistics.', schema: 'StatsResponse' },
      problems: [],
    }),
  },
  '/v1/audit': {
    get: op({
      summary: 'The hash-chained audit log, paginated by sequence number',
      roles: ['operator'],
      query: [
        { name: 'afterSeq', in: 'query', required: false, schema: int({ minimum: 0 }) },
        { name: 'limit', in: 'query', required: false, schema: int({ minimum: 1, maximum: 1000, default: 100 }) },
        { name: 'action', in: 'query', required: false, schema: str({ enum: [...auditActions] }) },
        { name: 'from', in: 'query', required: false, description: 'Inclusive; ISO 8601 date or date-time (with offset).', schema: str({ example: '2026-03-01' }) },
        { name: 'to', in: 'query', required: false, description: 'Exclusive; ISO 8601 date or date-time (with offset).', schema: str({ example: '2026-04-01T00:00:00Z' }) },
      ],
      ok: { status: 200, description: 'One page.', schema: 'AuditPage' },
      problems: [],
    }),
  },
  '/v1/operator/subjects/{id}/reset-lockout': {
    post: op({
      summary: 'Re-enable verification for a subject after lockout (NIST SP 800-63B-4 §3.2.3)',
      roles: ['operator'],
      params: [subjectIdParam],
      ok: { status: 200, description: 'Attempt limiting reset.', schema: 'LockoutResponse' },
      problems: ['not-found'],
    }),
  },
  '/metrics': {
    get: op({
      summary: 'Prometheus metrics (operator key: decision rates and traffic are operational information)',
      roles: ['operator'],
      ok: { status: 200, description: 'Prometheus text format.', contentType: 'text/plain' },
      problems: [],
    }),
  },
  '/v1/admin/keys': {
    get: op({ summary: 'API keys (never their secrets)', roles: ['admin'], ok: { status: 200, description: 'Keys.', schema: 'KeyList' }, problems: [] }),
    post: op({
      summary: 'Create an API key; the secret is in this response only',
      roles: ['admin'],
      body: { contentType: 'json', schema: 'CreateKeyInput' },
      ok: { status: 201, description: 'Created.', schema: 'CreatedKey' },
      problems: ['unsupported-media-type', 'payload-too-large'],
    }),
  },
  '/v1/admin/keys/{keyId}': {
    delete: op({
      summary: 'Revoke an API key',
      roles: ['admin'],
      params: [{ name: 'keyId', in: 'path', required: true, schema: str() }],
      ok: { status: 200, description: 'Revoked (idempotent).', schema: 'ApiKey' },
      problems: ['not-found'],
    }),
  },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Voice Passport',
    version: '0.1.0',
    description:
      'Privacy-first voice biometrics: explicit consent, enrolment, verification, access and erasure (GDPR Art. 7, 9, 15, 17). Errors are application/problem+json with a stable `code`.',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  'x-general-problem-codes': {
    description:
      'Codes not tied to one operation: unknown paths (not-found), wrong methods (method-not-allowed, with Allow), bytes the HTTP server cannot read as HTTP/1.1 (validation-failed, 400, answered before any route, without instance), start-up failures (config-invalid, model-invalid: CLI/process only), unexpected failures (internal). not-enrolled is reserved: verification reports a missing voiceprint as the 200 decision "not-enrolled".',
    codes: ['not-found', 'method-not-allowed', 'validation-failed', 'config-invalid', 'model-invalid', 'internal', 'not-enrolled'] satisfies ErrorCode[],
  },
  security: [{ apiKey: [] }],
  paths,
  components: {
    securitySchemes: {
      apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer vp_<role>_…`. Roles: telephony, enrolment, operator, admin.' },
    },
    schemas,
  },
} as const;
