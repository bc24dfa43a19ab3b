/** Shapes shown to callers, built from store records. Never an embedding, never a raw customer id. */
import type { ConsentState } from '../store/index.js';
import type { PassportContext } from './context.js';

export type ConsentView =
  | { active: true; givenAt: string; noticeVersion: string; channel: string; locale: string | null }
  | { active: false; withdrawnAt: string | null };

export function consentView(state: ConsentState): ConsentView {
  return state.active
    ? { active: true, givenAt: state.givenAt, noticeVersion: state.noticeVersion, channel: state.channel, locale: state.locale }
    : { active: false, withdrawnAt: state.withdrawnAt };
}

/**
 * The customer id → pseudonym step every use case starts with (GDPR Art. 4(5), 25): the id is used
 * for nothing else. Throws `validation-failed` for an id outside 1-128 chars of [A-Za-z0-9._:-].
 */
export function pseudonymOf(ctx: PassportContext, customerId: string): string {
  return ctx.store.pseudonymise(customerId);
}

/** Figures shown to callers: 2 decimals are plenty for seconds, dB and ratios. */
export function round(value: number, decimals = 2): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

export function roundOrNull(value: number | null | undefined, decimals = 2): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : round(value, decimals);
}
