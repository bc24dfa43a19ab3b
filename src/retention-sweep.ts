/**
 * The retention sweep the service runs at start and every hour (GDPR Art. 5(1)(e) storage
 * limitation): the purges of src/passport/retention.ts (`purgeAllExpired`), logged and counted. They
 * run in slices (src/passport/steps.ts), so verifications are served while much falls due at once.
 * A failure is logged and counted, never thrown: the timer tries again at the next interval, and
 * `/metrics` shows when it last succeeded.
 */
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { purgeAllExpired, type AllPurgeResult, type RetentionSettings } from './passport/retention.js';
import { runInSlices, StepsStopped } from './passport/steps.js';
import type { Store } from './store/index.js';

/**
 * How long the sweep works before it lets requests through: a caller's request waits at most about
 * this long (plus one step) behind it, small beside a verification's own inference.
 */
export const sweepSliceMs = 20;

export interface RetentionSweepResult {
  /** `stopped`: the service began to close mid-sweep; what was erased stays erased, the rest goes at the next start. */
  outcome: 'ok' | 'failed' | 'stopped';
  voiceprints: number;
  /** Enrolled subjects whose abandoned re-enrolment's samples were discarded. */
  reEnrolments: number;
  verifications: number;
  consentRecords: number;
  idempotentAnswers: number;
  auditEntries: number;
}

export interface RetentionSweepDeps {
  store: Store;
  settings: RetentionSettings;
  metrics: Pick<Metrics, 'retentionSweeps' | 'retentionRemoved' | 'retentionLastSuccess'>;
  logger: Logger;
}

export async function retentionSweep(deps: RetentionSweepDeps & { now: Date; signal?: AbortSignal; sliceMs?: number }): Promise<RetentionSweepResult> {
  const { store, settings, metrics, logger, now } = deps;
  const none = { voiceprints: 0, reEnrolments: 0, verifications: 0, consentRecords: 0, idempotentAnswers: 0, auditEntries: 0 };
  let r: AllPurgeResult;
  try {
    r = await runInSlices(purgeAllExpired(store, settings, { now }), { sliceMs: deps.sliceMs ?? sweepSliceMs, ...(deps.signal ? { signal: deps.signal } : {}) });
  } catch (err) {
    if (err instanceof StepsStopped) {
      metrics.retentionSweeps.inc({ outcome: 'stopped' });
      // Each erasure and batch done is committed with its audit entry; the next start's sweep finds the rest.
      logger.info('retention purge stopped because the service is closing; it resumes at the next start');
      return { outcome: 'stopped', ...none };
    }
    metrics.retentionSweeps.inc({ outcome: 'failed' });
    logger.error({ err }, 'retention purge failed; it runs again at the next interval');
    return { outcome: 'failed', ...none };
  }
  const { voiceprints: v, history: h, consentRecords: c, audit: a } = r;
  if (v.purged > 0) logger.info({ purged: v.purged, cutoff: v.cutoff }, 'retention purge erased expired voiceprints');
  if (v.reEnrolmentsDiscarded > 0) logger.info({ discarded: v.reEnrolmentsDiscarded, cutoff: v.cutoff }, 'retention purge discarded the samples of abandoned re-enrolments');
  if (h.erased > 0) logger.info({ erased: h.erased, cutoff: h.cutoff }, 'retention purge erased expired verification records');
  if (c.erased > 0) logger.info({ erased: c.erased, cutoff: c.cutoff }, 'retention purge erased the consent records of subjects whose consent ended long ago');
  if (a !== null && a.pruned > 0) logger.info({ pruned: a.pruned, cutoff: a.cutoff, throughSeq: a.through?.seq }, 'retention purge pruned expired audit entries');
  metrics.retentionRemoved.inc({ kind: 'voiceprint' }, v.purged);
  metrics.retentionRemoved.inc({ kind: 're_enrolment' }, v.reEnrolmentsDiscarded);
  metrics.retentionRemoved.inc({ kind: 'verification' }, h.erased);
  metrics.retentionRemoved.inc({ kind: 'consent_record' }, c.erased);
  metrics.retentionRemoved.inc({ kind: 'idempotent_answer' }, r.idempotentAnswers);
  if (a !== null) metrics.retentionRemoved.inc({ kind: 'audit_entry' }, a.pruned);
  metrics.retentionSweeps.inc({ outcome: 'ok' });
  metrics.retentionLastSuccess.set(now.getTime() / 1000);
  return { outcome: 'ok', voiceprints: v.purged, reEnrolments: v.reEnrolmentsDiscarded, verifications: h.erased, consentRecords: c.erased, idempotentAnswers: r.idempotentAnswers, auditEntries: a?.pruned ?? 0 };
}

/**
 * Runs the sweep at start and then every `intervalMs`, one at a time (an interval that comes while a
 * sweep still runs is skipped), and stops it between two steps when the service closes, before the
 * store is closed under it.
 */
export class RetentionSweeper {
  private readonly stopping = new AbortController();
  private running: Promise<RetentionSweepResult> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: RetentionSweepDeps & { intervalMs: number; clock?: () => Date; sliceMs?: number },
  ) {}

  /** The first sweep, awaited (the service listens after it: nothing past its retention is served); then the timer. */
  async start(): Promise<RetentionSweepResult> {
    const first = await this.sweep();
    if (!this.stopping.signal.aborted) {
      // unref: the timer must never keep the process alive on its own.
      this.timer = setInterval(() => void this.sweep(), this.deps.intervalMs).unref();
    }
    return first;
  }

  /** One sweep now, or the one already running. */
  sweep(): Promise<RetentionSweepResult> {
    if (this.running !== undefined) {
      this.deps.logger.warn('the previous retention purge is still running; this interval is skipped');
      return this.running;
    }
    const now = (this.deps.clock ?? (() => new Date()))();
    this.running = retentionSweep({ ...this.deps, now, signal: this.stopping.signal }).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and a running sweep (between two steps), and waits for it. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }
}
