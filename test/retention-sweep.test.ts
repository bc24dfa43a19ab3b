/** The service's retention sweep (src/retention-sweep.ts): what it removes, what it counts, and a failure that is logged, counted and not thrown. */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { RetentionSweeper, retentionSweep } from '../src/retention-sweep.js';
import type { Store } from '../src/store/index.js';
import { consentAndEnrol, createHarness, verifyCall, type Harness } from './http/harness.js';
import { toneWav } from './passport/fakes.js';

let h: Harness;
afterEach(() => h?.close());
const day = 86_400_000;

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        cb();
      },
    }),
  );
  return { logger, lines };
}

describe('retentionSweep', () => {
  it('erases the expired history and prunes the expired audit entries, counting what went and when it succeeded', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
    const auditBefore = h.store.audit.list({ limit: 1000 }).length;
    h.clock.advance(100 * day);
    const metrics = createMetrics({ processMetrics: false });
    const { logger, lines } = capturingLogger();

    const r = await retentionSweep({ store: h.store, settings: { retentionDays: 1095, historyRetentionDays: 30, consentRecordRetentionDays: 1826, auditRetentionDays: 60, noticeLimits: [] }, metrics, logger, now: h.clock() });
    // The history's own entry (history.purged) is newer than the audit cutoff and stays.
    expect(r).toEqual({ outcome: 'ok', voiceprints: 0, reEnrolments: 0, verifications: 1, consentRecords: 0, idempotentAnswers: 0, auditEntries: auditBefore });
    expect(h.store.audit.list({ limit: 1000 }).map((e) => e.action)).toEqual(['history.purged', 'audit.pruned']);
    const text = await metrics.registry.metrics();
    expect(text).toContain('voice_passport_retention_sweeps_total{outcome="ok"} 1');
    expect(text).toContain('voice_passport_retention_removed_total{kind="verification"} 1');
    expect(text).toContain(`voice_passport_retention_removed_total{kind="audit_entry"} ${auditBefore}`);
    expect(text).toContain('voice_passport_retention_removed_total{kind="voiceprint"} 0');
    expect(text).toContain(`voice_passport_retention_last_success_timestamp_seconds ${h.clock().getTime() / 1000}`);
    expect(lines.map((l) => l.msg)).toEqual(['retention purge erased expired verification records', 'retention purge pruned expired audit entries']);
  });

  it('leaves the audit log whole without an audit retention, and erases a consent record once its period after the consent ended has passed', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    h.clock.advance(5000 * day);
    const before = h.store.audit.head();
    const { logger } = capturingLogger();
    const r = await retentionSweep({ store: h.store, settings: { retentionDays: 1095, historyRetentionDays: 30, consentRecordRetentionDays: 1826, auditRetentionDays: null, noticeLimits: [] }, metrics: createMetrics({ processMetrics: false }), logger, now: h.clock() });
    // The voiceprint expired (unused for 5 000 days); its erasure is audited, nothing is pruned.
    expect(r).toEqual({ outcome: 'ok', voiceprints: 1, reEnrolments: 0, verifications: 0, consentRecords: 0, idempotentAnswers: 0, auditEntries: 0 });
    expect(h.store.audit.prunedThrough()).toBeNull();
    expect(h.store.audit.list({ limit: 1000 })[0]!.seq).toBe(1);
    expect(h.store.audit.head()!.seq).toBe(before!.seq + 1);
    // The erasure ended the consent; its record goes 1826 days later, audited too.
    h.clock.advance(1827 * day);
    const metrics = createMetrics({ processMetrics: false });
    const later = await retentionSweep({ store: h.store, settings: { retentionDays: 1095, historyRetentionDays: 30, consentRecordRetentionDays: 1826, auditRetentionDays: null, noticeLimits: [] }, metrics, logger, now: h.clock() });
    expect(later).toEqual({ outcome: 'ok', voiceprints: 0, reEnrolments: 0, verifications: 0, consentRecords: 1, idempotentAnswers: 0, auditEntries: 0 });
    expect(await metrics.registry.metrics()).toContain('voice_passport_retention_removed_total{kind="consent_record"} 1');
    expect(h.store.subjects.find(h.store.pseudonymise('cust-1'))).toBeUndefined();
    expect(h.store.audit.head()).toMatchObject({ seq: before!.seq + 2 });
  });

  it('logs and counts a failure instead of throwing, and keeps the last success', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const { logger, lines } = capturingLogger();
    const broken = { erasure: { findExpired: () => { throw new Error('disk I/O error'); } } } as unknown as Store;
    const r = await retentionSweep({ store: broken, settings: { retentionDays: 1, historyRetentionDays: 1, consentRecordRetentionDays: 1, auditRetentionDays: null, noticeLimits: [] }, metrics, logger, now: new Date() });
    expect(r).toEqual({ outcome: 'failed', voiceprints: 0, reEnrolments: 0, verifications: 0, consentRecords: 0, idempotentAnswers: 0, auditEntries: 0 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('voice_passport_retention_sweeps_total{outcome="failed"} 1');
    expect(text).toContain('voice_passport_retention_last_success_timestamp_seconds 0');
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: 'retention purge failed; it runs again at the next interval', err: expect.objectContaining({ message: 'disk I/O error' }) })]);
  });

  it('lets other work run between its steps, and stops between two when asked, each erasure done staying done', async () => {
    h = createHarness();
    for (const id of ['a', 'b', 'c', 'd']) await consentAndEnrol(h, id);
    h.clock.advance(1096 * day);
    const held = () => ['a', 'b', 'c', 'd'].filter((id) => h.store.voiceprints.voiceprint(h.store.pseudonymise(id)) !== undefined).length;
    const settings = { retentionDays: 1095, historyRetentionDays: 400, consentRecordRetentionDays: 1826, auditRetentionDays: null, noticeLimits: [] };
    const metrics = createMetrics({ processMetrics: false });
    const { logger, lines } = capturingLogger();

    // What a request handled mid-sweep would see: some voiceprints erased, not yet all.
    const stop = new AbortController();
    const seen: number[] = [];
    const sweep = retentionSweep({ store: h.store, settings, metrics, logger, now: h.clock(), sliceMs: 0, signal: stop.signal });
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        seen.push(held());
        stop.abort();
        resolve();
      }),
    );
    expect(await sweep).toEqual({ outcome: 'stopped', voiceprints: 0, reEnrolments: 0, verifications: 0, consentRecords: 0, idempotentAnswers: 0, auditEntries: 0 });
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[0]).toBeLessThan(4);
    const left = held();
    expect(left).toBeLessThan(4);
    expect(left).toBeGreaterThan(0);
    // Each erasure done was committed with its audit entry.
    expect(h.store.audit.list({ limit: 1000 }).filter((e) => e.action === 'retention.purged')).toHaveLength(4 - left);
    expect(await metrics.registry.metrics()).toContain('voice_passport_retention_sweeps_total{outcome="stopped"} 1');
    expect(lines.map((l) => l.msg)).toEqual(['retention purge stopped because the service is closing; it resumes at the next start']);

    // The next sweep erases the rest.
    expect(await retentionSweep({ store: h.store, settings, metrics, logger, now: h.clock() })).toMatchObject({ outcome: 'ok', voiceprints: left });
    expect(held()).toBe(0);
  });
});

describe('RetentionSweeper', () => {
  it('sweeps at start, runs one sweep at a time, and stops a running one before the store closes', async () => {
    h = createHarness();
    const settings = { retentionDays: 1095, historyRetentionDays: 400, consentRecordRetentionDays: 1826, auditRetentionDays: null, noticeLimits: [] };
    const metrics = createMetrics({ processMetrics: false });
    const { logger, lines } = capturingLogger();
    const sweeper = new RetentionSweeper({ store: h.store, settings, metrics, logger, intervalMs: 3_600_000, clock: h.clock, sliceMs: 0 });
    await consentAndEnrol(h, 'x');
    h.clock.advance(1096 * day);
    expect(await sweeper.start()).toMatchObject({ outcome: 'ok', voiceprints: 1 });

    for (const id of ['a', 'b', 'c']) await consentAndEnrol(h, id);
    h.clock.advance(1096 * day);
    const running = sweeper.sweep();
    // An interval that comes while a sweep runs joins it instead of starting another.
    expect(sweeper.sweep()).toBe(running);
    await sweeper.stop();
    expect((await running).outcome).toBe('stopped');
    expect(lines.map((l) => l.msg)).toEqual([
      'retention purge erased expired voiceprints',
      'the previous retention purge is still running; this interval is skipped',
      'retention purge stopped because the service is closing; it resumes at the next start',
    ]);
    // Stopped for good: a later call erases nothing (the store may be closed by then).
    const before = h.store.audit.head()!.seq;
    expect((await sweeper.sweep()).outcome).toBe('stopped');
    expect(h.store.audit.head()!.seq).toBe(before);
  });
});
