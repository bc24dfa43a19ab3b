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
    expect(store.audit.verify()).toEqual({ ok: true, entries: 0, head: null, firstBrokenSeq: null, problem: null });
    appendMany(25);
    const r = store.audit.verify({ pageSize: 7 });
    expect(r).toEqual({ ok: true, entries: 25, head: store.audit.head(), firstBrokenSeq: null, problem: null });
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
