/**
 * The retention sweep the service runs at start and every hour (GDPR Art. 5(1)(e) storage
 * limitation): expired voiceprints, then verification records older than VP_HISTORY_RETENTION_DAYS,
 * then, where VP_AUDIT_RETENTION_DAYS is set, the audit entries older than that, last so the entries
 * the first two write are the newest and stay. A failure is logged and counted, never thrown: the
 * timer tries again at the next interval, and `/metrics` shows when it last succeeded.
 */
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { purgeExpiredAudit, purgeExpiredHistory, purgeExpiredVoiceprints } from './passport/retention.js';
import type { Store } from './store/index.js';

export interface RetentionSettings {
  retentionDays: number;
  historyRetentionDays: number;
  /** Null: the audit log is kept whole. */
  auditRetentionDays: number | null;
}

export interface RetentionSweepResult {
  ok: boolean;
  voiceprints: number;
  verifications: number;
  auditEntries: number;
}

export function retentionSweep(deps: { store: Store; settings: RetentionSettings; metrics: Pick<Metrics, 'retentionSweeps' | 'retentionRemoved' | 'retentionLastSuccess'>; logger: Logger; now: Date }): RetentionSweepResult {
  const { store, settings, metrics, logger, now } = deps;
  const removed = { voiceprints: 0, verifications: 0, auditEntries: 0 };
  try {
    const v = purgeExpiredVoiceprints(store, { retentionDays: settings.retentionDays, now });
    removed.voiceprints = v.purged;
    metrics.retentionRemoved.inc({ kind: 'voiceprint' }, v.purged);
    if (v.purged > 0) logger.info({ purged: v.purged, cutoff: v.cutoff }, 'retention purge erased expired voiceprints');

    const h = purgeExpiredHistory(store, { historyRetentionDays: settings.historyRetentionDays, now });
    removed.verifications = h.erased;
    metrics.retentionRemoved.inc({ kind: 'verification' }, h.erased);
    if (h.erased > 0) logger.info({ erased: h.erased, cutoff: h.cutoff }, 'retention purge erased expired verification records');

    if (settings.auditRetentionDays !== null) {
      const a = purgeExpiredAudit(store, { auditRetentionDays: settings.auditRetentionDays, now });
      removed.auditEntries = a.pruned;
      metrics.retentionRemoved.inc({ kind: 'audit_entry' }, a.pruned);
      if (a.pruned > 0) logger.info({ pruned: a.pruned, cutoff: a.cutoff, throughSeq: a.through?.seq }, 'retention purge pruned expired audit entries');
    }
  } catch (err) {
    metrics.retentionSweeps.inc({ outcome: 'failed' });
    logger.error({ err }, 'retention purge failed; it runs again at the next interval');
    return { ok: false, ...removed };
  }
  metrics.retentionSweeps.inc({ outcome: 'ok' });
  metrics.retentionLastSuccess.set(now.getTime() / 1000);
  return { ok: true, ...removed };
}
