/** Hash-chained append-only audit log: triggers and tamper detection (GDPR Art. 5(2), 30, 32(1)(d)). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEntryHash, genesisHash, type AuditEntryInput } from '../../src/store/audit-log.js';
import type { Store } from '../../src/store/index.js';
import { movableClock, openTestStore, removeDir, tempDataDir, type MovableClock } from './helpers.js';

let dir: string;
let clock: MovableClock;
let store: Store;

const entry = (i: number): AuditEntryInput => ({
  action: i % 2 === 0 ? 'verification' : 'consent.given',
  actorKeyId: 'key_1',
  subjectPseudonym: 'a'.repeat(64),
  outcome: i % 2 === 0 ? 'accept' : 'ok',
  details: { policy: 'standard', score: 0.5 + i / 100, n: i },
});

function appendMany(n: number): void {
  for (let i = 1; i <= n; i++) {
    store.audit.append(entry(i));
    clock.advance(1000);
  }
}

/** Simulates someone with write access to the file: the triggers are dropped first. */
function asAttacker(sql: string, params: (string | number)[] = []): void {
  store.db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_extends_chain;');
  store.db.run(sql, params);
}

beforeEach(() => {
  dir = tempDataDir();
  clock = movableClock();
  store = openTestStore(dir, { clock });
});
afterEach(() => {
  store.close();
  removeDir(dir);
});

describe('AuditLog.append', () => {
  it('chains entries: seq from 1, prev_hash = previous hash, hash over the canonical entry', () => {
    const first = store.audit.append(entry(1));
    clock.advance(1000);
    const second = store.audit.append(entry(2));
    expect(first).toMatchObject({ seq: 1, occurredAt: '2026-01-01T00:00:00.000Z', prevHash: genesisHash, details: { n: 1, policy: 'standard', score: 0.51 } });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    const { hash, ...unsigned } = second;
    expect(hash).toBe(auditEntryHash(unsigned));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(store.db.get<{ details: string }>('SELECT details FROM audit_log WHERE seq = 1')?.details).toBe('{"n":1,"policy":"standard","score":0.51}');
    expect(store.audit.head()).toEqual({ seq: 2, hash });
    expect(store.audit.list()).toEqual([first, second]);
  });

  it('filters and pages the list', () => {
    appendMany(6);
    expect(store.audit.list({ action: 'verification' }).map((e) => e.seq)).toEqual([2, 4, 6]);
    expect(store.audit.list({ afterSeq: 2, limit: 2 }).map((e) => e.seq)).toEqual([3, 4]);
    expect(store.audit.list({ from: '2026-01-01T00:00:02.000Z', to: '2026-01-01T00:00:04.000Z' }).map((e) => e.seq)).toEqual([3, 4]);
    expect(store.audit.list({ subjectPseudonym: 'b'.repeat(64) })).toEqual([]);
  });

  it('refuses details that could carry biometric data or customer ids', () => {
    const bad: Array<Record<string, unknown>> = [
      { embedding: [0.1] },
      { nested: { Template: 'x' } },
      { customerId: 'cust-1' },
      { scores: Array.from({ length: 17 }, (_, i) => i / 17) },
      { blob: new Float32Array(4) },
    ];
    for (const details of bad) {
      expect(() => store.audit.append({ ...entry(1), details: details as never })).toThrow(expect.objectContaining({ code: 'internal' }));
    }
    expect(store.audit.head()).toBeNull();
    expect(() => store.audit.append({ ...entry(1), details: { reasons: ['a', 'b'], counts: [1, 2, 3] } })).not.toThrow();
  });

  it('rolls back with the caller transaction it belongs to', () => {
    expect(() =>
      store.db.transaction(() => {
        store.audit.append(entry(1));
        throw new Error('the change it records failed');
      }),
    ).toThrow();
    expect(store.audit.head()).toBeNull();
  });
});

describe('audit log triggers', () => {
  it('refuse UPDATE and DELETE', () => {
    appendMany(2);
    expect(() => store.db.run("UPDATE audit_log SET outcome = 'x' WHERE seq = 1")).toThrow(/audit-log-append-only/);
    expect(() => store.db.run('DELETE FROM audit_log WHERE seq = 2')).toThrow(/audit-log-append-only/);
    expect(() => store.db.run('DELETE FROM audit_log')).toThrow(/audit-log-append-only/);
    expect(store.audit.verify()).toMatchObject({ ok: true, entries: 2 });
  });

  it('refuse an INSERT that does not extend the chain', () => {
    appendMany(1);
    const head = store.audit.head()!;
    const insert = 'INSERT INTO audit_log (seq, occurred_at, action, outcome, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)';
    expect(() => store.db.run(insert, [3, 't', 'verification', 'ok', '{}', head.hash, 'f'.repeat(64)])).toThrow(/audit-log-chain-broken/);
    expect(() => store.db.run(insert, [2, 't', 'verification', 'ok', '{}', genesisHash, 'f'.repeat(64)])).toThrow(/audit-log-chain-broken/);
  });
});

describe('AuditLog.verify', () => {
  it('accepts an intact chain and an empty one', () => {
    expect(store.audit.verify()).toEqual({ ok: true, entries: 0, prunedThrough: null, head: null, firstBrokenSeq: null, problem: null });
    appendMany(25);
    const r = store.audit.verify({ pageSize: 7 });
    expect(r).toEqual({ ok: true, entries: 25, prunedThrough: null, head: store.audit.head(), firstBrokenSeq: null, problem: null });
  });

  it('detects an edited field', () => {
    appendMany(10);
    asAttacker("UPDATE audit_log SET outcome = 'reject' WHERE seq = 4");
    expect(store.audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 4, problem: expect.stringMatching(/changed after it was written/) });
  });

  it('detects edited details, even an edit that keeps valid JSON', () => {
    appendMany(10);
    asAttacker(`UPDATE audit_log SET details = '{"n":6,"policy":"high","score":0.56}' WHERE seq = 6`);
    expect(store.audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 6 });
  });

  it('detects an edit whose hash was recomputed, at the next entry', () => {
    appendMany(10);
    const row = store.audit.list({ afterSeq: 4, limit: 1 })[0]!;
    const forged = { ...row, outcome: 'reject' };
    const { hash: _h, ...unsigned } = forged;
    asAttacker('UPDATE audit_log SET outcome = ?, hash = ? WHERE seq = 5', ['reject', auditEntryHash(unsigned)]);
    expect(store.audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 6, problem: expect.stringMatching(/does not link/) });
  });

  it('detects a removed entry', () => {
    appendMany(10);
    asAttacker('DELETE FROM audit_log WHERE seq = 3');
    expect(store.audit.verify()).toMatchObject({ ok: false, entries: 2, head: { seq: 2 }, firstBrokenSeq: 3, problem: 'entry 3 is missing (next entry is 4)' });
  });

  it('detects a removed entry whose successors were renumbered', () => {
    appendMany(10);
    asAttacker('DELETE FROM audit_log WHERE seq = 3');
    store.db.run('UPDATE audit_log SET seq = seq - 1 WHERE seq > 3');
    expect(store.audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 3 });
  });

  it('detects reordered entries', () => {
    appendMany(10);
    asAttacker('UPDATE audit_log SET seq = seq + 1000 WHERE seq IN (7, 8)');
    store.db.run('UPDATE audit_log SET seq = 8 WHERE seq = 1007');
    store.db.run('UPDATE audit_log SET seq = 7 WHERE seq = 1008');
    expect(store.audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 7 });
  });

  it('detects removal of the newest entries against a recorded anchor', () => {
    appendMany(10);
    const anchor = store.audit.head()!;
    expect(store.audit.verify({ anchor })).toMatchObject({ ok: true });
    asAttacker('DELETE FROM audit_log WHERE seq > 8');
    expect(store.audit.verify()).toMatchObject({ ok: true, entries: 8 }); // the chain alone cannot tell
    expect(store.audit.verify({ anchor })).toMatchObject({ ok: false, firstBrokenSeq: 9, problem: expect.stringMatching(/before the recorded anchor 10/) });
    expect(store.audit.verify({ anchor: { seq: 5, hash: 'f'.repeat(64) } })).toMatchObject({ ok: false, firstBrokenSeq: 5 });
  });
});

describe('AuditLog.pruneBefore (retention)', () => {
  // appendMany writes an entry a second from 2026-01-01T00:00:00Z: entry i at i - 1 seconds.
  const at = (seconds: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + seconds * 1000);

  it('removes the oldest entries as a prefix, after recording the entry the rest continues from; the rest verifies', () => {
    appendMany(10);
    const through = store.audit.list({ afterSeq: 5, limit: 1 })[0]!; // entry 6, written at 5 s
    expect(store.audit.countPrunable(at(5.5))).toBe(6);

    const r = store.audit.pruneBefore(at(5.5), { actorKeyId: null, retentionDays: 30 })!;
    expect(r).toEqual({ through: { seq: 6, hash: through.hash }, pruned: 6, entry: expect.objectContaining({ seq: 11, action: 'audit.pruned', outcome: 'pruned' }) });
    expect(r.entry.details).toEqual({ cutoff: '2026-01-01T00:00:05.500Z', retentionDays: 30, throughSeq: 6, throughHash: through.hash, entries: 6 });
    expect(store.audit.list({ limit: 1000 }).map((e) => e.seq)).toEqual([7, 8, 9, 10, 11]);
    expect(store.audit.prunedThrough()).toEqual({ seq: 6, hash: through.hash });
    expect(store.audit.verify({ pageSize: 2 })).toEqual({ ok: true, entries: 5, prunedThrough: { seq: 6, hash: through.hash }, head: store.audit.head(), firstBrokenSeq: null, problem: null });
    // The chain goes on from its head, and nothing as old is left.
    store.audit.append(entry(12));
    expect(store.audit.verify()).toMatchObject({ ok: true, entries: 6 });
    expect(store.audit.pruneBefore(at(5.5), { actorKeyId: null, retentionDays: 30 })).toBeNull();
    expect(store.audit.countPrunable(at(5.5))).toBe(0);
  });

  it('prunes everything older, the head included, and again later from where it left off', () => {
    appendMany(4);
    clock.advance(3_600_000);
    const first = store.audit.pruneBefore(at(100), { actorKeyId: 'cli', retentionDays: 1 })!;
    expect([first.through.seq, first.pruned, store.audit.list().map((e) => e.seq)]).toEqual([4, 4, [5]]);
    appendMany(3);
    clock.advance(3_600_000);
    const second = store.audit.pruneBefore(clock(), { actorKeyId: 'cli', retentionDays: 1 })!;
    expect([second.through.seq, second.pruned, second.entry.seq, store.audit.list().map((e) => e.seq)]).toEqual([8, 4, 9, [9]]);
    expect(store.audit.verify()).toMatchObject({ ok: true, entries: 1, prunedThrough: second.through });
  });

  it('prunes only the run of entries from the oldest that were written before the cutoff: a clock set back does not reach past a newer entry', () => {
    appendMany(4); // at 0, 1, 2 and 3 s
    clock.set('2025-12-31T00:00:00.000Z'); // set back a day
    store.audit.append(entry(5));
    expect(store.audit.countPrunable(at(2.5))).toBe(3);
    expect(store.audit.pruneBefore(at(2.5), { actorKeyId: null, retentionDays: 1 })?.through.seq).toBe(3);
    // Entry 5, dated before the cutoff, stays behind entry 4, dated after it.
    expect(store.audit.list().map((e) => e.seq)).toEqual([4, 5, 6]);
  });

  it('keeps the rest append-only, and the anchor moving forward only, to an entry that exists', () => {
    appendMany(10);
    expect(() => store.db.run('DELETE FROM audit_log WHERE seq = 1')).toThrow(/audit-log-append-only/);
    store.audit.pruneBefore(at(2.5), { actorKeyId: null, retentionDays: 30 });
    expect(() => store.db.run('DELETE FROM audit_log WHERE seq = 4')).toThrow(/audit-log-append-only/);
    expect(() => store.db.run('UPDATE audit_pruned SET through_seq = 2')).toThrow(/audit-log-anchor-invalid/);
    expect(() => store.db.run("UPDATE audit_pruned SET through_seq = 5, through_hash = ?", ['f'.repeat(64)])).toThrow(/audit-log-anchor-invalid/);
    expect(() => store.db.run('DELETE FROM audit_pruned')).toThrow(/audit-log-append-only/);
    expect(store.audit.verify()).toMatchObject({ ok: true, prunedThrough: { seq: 3 } });
  });

  it('detects an edit at the front of what stays, and entries removed from the front without an audit.pruned entry', () => {
    appendMany(10);
    store.audit.pruneBefore(at(2.5), { actorKeyId: null, retentionDays: 30 });
    const front = store.audit.list({ limit: 1 })[0]!;
    const { hash: _h, ...unsigned } = { ...front, prevHash: 'e'.repeat(64) };
    asAttacker('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = 4', ['e'.repeat(64), auditEntryHash(unsigned)]);
    expect(store.audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 4, problem: 'entry 4 does not link to entry 3 (removed, inserted or reordered)' });
  });

  it('says so when the anchor was moved on with more entries removed, but no audit.pruned entry records it', () => {
    appendMany(10);
    store.audit.pruneBefore(at(2.5), { actorKeyId: null, retentionDays: 30 });
    const six = store.audit.list({ afterSeq: 5, limit: 1 })[0]!;
    store.db.run('UPDATE audit_pruned SET through_seq = 6, through_hash = ?', [six.hash]);
    asAttacker('DELETE FROM audit_log WHERE seq <= 6');
    expect(store.audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 7, problem: 'the log starts after entry 6, but no audit.pruned entry records pruning through it' });
  });

  it('checks a recorded anchor at the pruning point, and says when one was pruned', () => {
    appendMany(10);
    const old = store.audit.list({ afterSeq: 1, limit: 1 })[0]!; // entry 2
    const at3 = store.audit.list({ afterSeq: 2, limit: 1 })[0]!;
    store.audit.pruneBefore(at(2.5), { actorKeyId: null, retentionDays: 30 });
    expect(store.audit.verify({ anchor: { seq: 3, hash: at3.hash } })).toMatchObject({ ok: true });
    expect(store.audit.verify({ anchor: { seq: 3, hash: 'f'.repeat(64) } })).toMatchObject({ ok: false, firstBrokenSeq: 3, problem: 'entry 3 differs from the recorded anchor' });
    expect(store.audit.verify({ anchor: { seq: 2, hash: old.hash } })).toMatchObject({
      ok: false,
      firstBrokenSeq: 2,
      problem: 'the recorded anchor, entry 2, was pruned with the entries through 3 (audit.pruned), so it can no longer be checked: record a newer head',
    });
  });
});
