/**
 * The retention sweep the service runs at start and every hour (GDPR Art. 5(1)(e) storage
 * limitation): the purges of src/passport/retention.ts (`purgeAllExpired`), logged and counted. A
 * failure is logged and counted, never thrown: the timer tries again at the next interval, and
 * `/metrics` shows when it last succeeded.
 */
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { purgeAllExpired, type RetentionSettings } from './passport/retention.js';
import type { Store } from './store/index.js';

export interface RetentionSweepResult {
  ok: boolean;
  voiceprints: number;
  verifications: number;
  consentRecords: number;
  auditEntries: number;
}

export function retentionSweep(deps: {
  store: Store;
  settings: RetentionSettings;
  metrics: Pick<Metrics, 'retentionSweeps' | 'retentionRemoved' | 'retentionLastSuccess'>;
  logger: Logger;
  now: Date;
}): RetentionSweepResult {
  const { store, settings, metrics, logger, now } = deps;
  let r: ReturnType<typeof purgeAllExpired>;
  try {
    r = purgeAllExpired(store, settings, { now });
  } catch (err) {
    metrics.retentionSweeps.inc({ outcome: 'failed' });
    logger.error({ err }, 'retention purge failed; it runs again at the next interval');
    return { ok: false, voiceprints: 0, verifications: 0, consentRecords: 0, auditEntries: 0 };
  }
  const { voiceprints: v, history: h, consentRecords: c, audit: a } = r;
  if (v.purged > 0) logger.info({ purged: v.purged, cutoff: v.cutoff }, 'retention purge erased expired voiceprints');
  if (h.erased > 0) logger.info({ erased: h.erased, cutoff: h.cutoff }, 'retention purge erased expired verification records');
  if (c.erased > 0) logger.info({ erased: c.erased, cutoff: c.cutoff }, 'retention purge erased the consent records of subjects whose consent ended long ago');
  if (a !== null && a.pruned > 0) logger.info({ pruned: a.pruned, cutoff: a.cutoff, throughSeq: a.through?.seq }, 'retention purge pruned expired audit entries');
  metrics.retentionRemoved.inc({ kind: 'voiceprint' }, v.purged);
  metrics.retentionRemoved.inc({ kind: 'verification' }, h.erased);
  metrics.retentionRemoved.inc({ kind: 'consent_record' }, c.erased);
  if (a !== null) metrics.retentionRemoved.inc({ kind: 'audit_entry' }, a.pruned);
  metrics.retentionSweeps.inc({ outcome: 'ok' });
  metrics.retentionLastSuccess.set(now.getTime() / 1000);
  return { ok: true, voiceprints: v.purged, verifications: h.erased, consentRecords: c.erased, auditEntries: a?.pruned ?? 0 };
}
