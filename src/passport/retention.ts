/**
 * Retention (GDPR Art. 5(1)(e) storage limitation): a voiceprint not used for `retentionDays` — and
 * an enrolment abandoned that long — is erased. The service runs this on a timer; the CLI's
 * `voice-passport purge` runs the same use case.
 */
import type { Store } from '../store/index.js';

export interface PurgeResult {
  cutoff: string;
  purged: number;
  /** False when a long reader kept erased pages in the WAL; the next checkpoint removes them. */
  checkpointComplete: boolean;
}

const dayMs = 86_400_000;

export function purgeExpiredVoiceprints(store: Pick<Store, 'erasure'>, options: { retentionDays: number; now: Date }): PurgeResult {
  if (!Number.isFinite(options.retentionDays) || options.retentionDays < 1) throw new RangeError('retentionDays must be at least 1');
  const cutoff = new Date(options.now.getTime() - options.retentionDays * dayMs);
  const { receipts, checkpoint } = store.erasure.purgeExpired(cutoff, null);
  return { cutoff: cutoff.toISOString(), purged: receipts.length, checkpointComplete: checkpoint.complete };
}
