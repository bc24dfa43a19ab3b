/** Turns a score and a policy into a decision with reasons a caller can act on. */
import type { Policy } from './policy.js';

export type ScoredDecision = 'accept' | 'reject' | 'inconclusive';

export type DecisionReason =
  | 'score-above-threshold'
  | 'score-below-threshold'
  | 'insufficient-speech'
  | 'low-snr'
  | 'clipped-audio';

export interface DecisionInput {
  score: number;
  netSpeechSeconds: number;
  snrDb: number | null;
  clippedRatio: number;
}

export interface Decision {
  decision: ScoredDecision;
  reasons: DecisionReason[];
  /** Set when inconclusive for lack of speech: how many more seconds a retry needs. */
  additionalSpeechSecondsNeeded?: number;
}

export interface QualityLimits {
  /** Below this estimated SNR the audio is too noisy to decide. */
  minSnrDb: number;
  /** Above this fraction of clipped samples the audio is too distorted to decide. */
  maxClippedRatio: number;
}

export const defaultQualityLimits: QualityLimits = { minSnrDb: 5, maxClippedRatio: 0.01 };

/** The SNR gate, one rule for verification, enrolment and evaluation: under the bar is too noisy; no estimate is not. */
export function tooNoisy(snrDb: number | null, minSnrDb: number): boolean {
  return snrDb !== null && snrDb < minSnrDb;
}

export function decideVerification(input: DecisionInput, policy: Policy, limits: QualityLimits = defaultQualityLimits): Decision {
  const reasons: DecisionReason[] = [];
  if (input.netSpeechSeconds < policy.minNetSpeechSeconds) reasons.push('insufficient-speech');
  if (tooNoisy(input.snrDb, limits.minSnrDb)) reasons.push('low-snr');
  if (input.clippedRatio > limits.maxClippedRatio) reasons.push('clipped-audio');
  if (reasons.length > 0) {
    const decision: Decision = { decision: 'inconclusive', reasons };
    if (reasons.includes('insufficient-speech')) {
      // Tenths, rounded up; the epsilon keeps float noise (3 − 2.9 = 0.10000000000000009) from asking for a tenth more.
      decision.additionalSpeechSecondsNeeded = Math.ceil((policy.minNetSpeechSeconds - input.netSpeechSeconds) * 10 - 1e-9) / 10;
    }
    return decision;
  }
  return input.score >= policy.threshold
    ? { decision: 'accept', reasons: ['score-above-threshold'] }
    : { decision: 'reject', reasons: ['score-below-threshold'] };
}
