/**
 * Retention (GDPR Art. 5(1)(e) storage limitation): a voiceprint not used for `retentionDays` — and
 * an enrolment abandoned that long — is erased. The service runs this on a timer; the CLI's
 * `voice-passport purge` runs the same use case.
 */
import type { ErasureReceipt, Store } from '../store/index.js';

export interface PurgeResult {
  cutoff: string;
  purged: number;
  /** One per erased subject (pseudonym, what was removed, audit seq); no biometric data. */
  receipts: ErasureReceipt[];
  /** False when a long reader kept erased pages in the WAL; the next checkpoint removes them. */
  checkpointComplete: boolean;
}

const dayMs = 86_400_000;

/** Voiceprints last used before this instant are due for erasure. */
export function retentionCutoff(options: { retentionDays: number; now: Date }): Date {
  if (!Number.isFinite(options.retentionDays) || options.retentionDays < 1) throw new RangeError('retentionDays must be at least 1');
  return new Date(options.now.getTime() - options.retentionDays * dayMs);
}

/** What a purge would erase now, erasing nothing (`voice-passport purge --dry-run`). */
export function findExpiredVoiceprints(store: Pick<Store, 'erasure'>, options: { retentionDays: number; now: Date }): { cutoff: string; subjectPseudonyms: string[] } {
  const cutoff = retentionCutoff(options);
  return { cutoff: cutoff.toISOString(), subjectPseudonyms: store.erasure.findExpired(cutoff) };
}

/** `actorKeyId` goes into each erasure's audit entry: null for the service's timer, "cli" for the command. */
export function purgeExpiredVoiceprints(store: Pick<Store, 'erasure'>, options: { retentionDays: number; now: Date; actorKeyId?: string | null }): PurgeResult {
  const cutoff = retentionCutoff(options);
  const { receipts, checkpoint } = store.erasure.purgeExpired(cutoff, options.actorKeyId ?? null);
  return { cutoff: cutoff.toISOString(), purged: receipts.length, receipts, checkpointComplete: checkpoint.complete };
}
