/** The service's retention sweep (src/retention-sweep.ts): what it removes, what it counts, and a failure that is logged, counted and not thrown. */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { retentionSweep } from '../src/retention-sweep.js';
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

    const r = retentionSweep({ store: h.store, settings: { retentionDays: 1095, historyRetentionDays: 30, consentRecordRetentionDays: 1826, auditRetentionDays: 60, noticeLimits: [] }, metrics, logger, now: h.clock() });
    // The history's own entry (history.purged) is newer than the audit cutoff and stays.
    expect(r).toEqual({ ok: true, voiceprints: 0, verifications: 1, consentRecords: 0, auditEntries: auditBefore });
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
    const r = retentionSweep({ store: h.store, settings: { retentionDays: 1095, historyRetentionDays: 30, consentRecordRetentionDays: 1826, auditRetentionDays: null, noticeLimits: [] }, metrics: createMetrics({ processMetrics: false }), logger, now: h.clock() });
    // The voiceprint expired (unused for 5 000 days); its erasure is audited, nothing is pruned.
    expect(r).toEqual({ ok: true, voiceprints: 1, verifications: 0, consentRecords: 0, auditEntries: 0 });
    expect(h.store.audit.prunedThrough()).toBeNull();
    expect(h.store.audit.list({ limit: 1000 })[0]!.seq).toBe(1);
    expect(h.store.audit.head()!.seq).toBe(before!.seq + 1);
    // The erasure ended the consent; its record goes 1826 days later, audited too.
    h.clock.advance(1827 * day);
    const metrics = createMetrics({ processMetrics: false });
    const later = retentionSweep({ store: h.store, settings: { retentionDays: 1095, historyRetentionDays: 30, consentRecordRetentionDays: 1826, auditRetentionDays: null, noticeLimits: [] }, metrics, logger, now: h.clock() });
    expect(later).toEqual({ ok: true, voiceprints: 0, verifications: 0, consentRecords: 1, auditEntries: 0 });
    expect(await metrics.registry.metrics()).toContain('voice_passport_retention_removed_total{kind="consent_record"} 1');
    expect(h.store.subjects.find(h.store.pseudonymise('cust-1'))).toBeUndefined();
    expect(h.store.audit.head()).toMatchObject({ seq: before!.seq + 2 });
  });

  it('logs and counts a failure instead of throwing, and keeps the last success', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const { logger, lines } = capturingLogger();
    const broken = { erasure: { purgeExpired: () => { throw new Error('disk I/O error'); } } } as unknown as Store;
    const r = retentionSweep({ store: broken, settings: { retentionDays: 1, historyRetentionDays: 1, consentRecordRetentionDays: 1, auditRetentionDays: null, noticeLimits: [] }, metrics, logger, now: new Date() });
    expect(r).toEqual({ ok: false, voiceprints: 0, verifications: 0, consentRecords: 0, auditEntries: 0 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('voice_passport_retention_sweeps_total{outcome="failed"} 1');
    expect(text).toContain('voice_passport_retention_last_success_timestamp_seconds 0');
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: 'retention purge failed; it runs again at the next interval', err: expect.objectContaining({ message: 'disk I/O error' }) })]);
  });
});
