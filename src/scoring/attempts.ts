/**
 * Attempt limiting for biometric verification (NIST SP 800-63B-4 §3.2.3 "Use of Biometrics",
 * §5.2.3 in revision 3: at most 5 consecutive failures, then a delay of at least 30 s per
 * attempt, or disabling biometric authentication). After `throttleAfter` consecutive
 * rejects each further attempt must wait `throttleSeconds`; after `disableAfter` consecutive
 * rejects biometric verification is disabled until an operator or a re-enrolment resets it.
 * An accept resets the count. The state lives in the database so a restart does not reset it.
 */

export interface AttemptLimits {
  throttleAfter: number; // 5
  throttleSeconds: number; // 30
  disableAfter: number; // 50
}

export const defaultAttemptLimits: AttemptLimits = { throttleAfter: 5, throttleSeconds: 30, disableAfter: 50 };

export interface AttemptState {
  consecutiveRejects: number;
  /** Epoch ms of the last reject, or null. */
  lastRejectAt: number | null;
  disabled: boolean;
}

/** No reject counted, not disabled: a new subject's state, and the state after an accept or a reset. */
export const freshAttempts: Readonly<AttemptState> = Object.freeze({ consecutiveRejects: 0, lastRejectAt: null, disabled: false });

export type AttemptGate = { allowed: true } | { allowed: false; reason: 'throttled'; retryAfterSeconds: number } | { allowed: false; reason: 'disabled' };

/** May a verification attempt run now? */
export function gateAttempt(state: AttemptState, now: number, limits: AttemptLimits = defaultAttemptLimits): AttemptGate {
  if (state.disabled || state.consecutiveRejects >= limits.disableAfter) return { allowed: false, reason: 'disabled' };
  if (state.consecutiveRejects >= limits.throttleAfter && state.lastRejectAt !== null) {
    const waitMs = state.lastRejectAt + limits.throttleSeconds * 1000 - now;
    if (waitMs > 0) return { allowed: false, reason: 'throttled', retryAfterSeconds: Math.ceil(waitMs / 1000) };
  }
  return { allowed: true };
}

/** State after an attempt that produced a decision ("inconclusive" does not count either way). */
export function recordOutcome(
  state: AttemptState,
  outcome: 'accept' | 'reject' | 'inconclusive',
  now: number,
  limits: AttemptLimits = defaultAttemptLimits,
): AttemptState {
  if (outcome === 'accept') return { ...freshAttempts };
  if (outcome === 'inconclusive') return state;
  const consecutiveRejects = state.consecutiveRejects + 1;
  return { consecutiveRejects, lastRejectAt: now, disabled: state.disabled || consecutiveRejects >= limits.disableAfter };
}
