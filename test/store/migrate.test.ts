/** Versioned migrations: fresh schema, idempotent restart, all-or-nothing steps (GDPR Art. 32(1)(b) integrity). */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/store/audit-log.js';
import { Database } from '../../src/store/database.js';
import { loadMigrations, migrate } from '../../src/store/migrate.js';
import { PolicyRepository } from '../../src/store/policy-repository.js';
import { removeDir, tempDataDir } from './helpers.js';

const expectedTables = ['api_keys', 'audit_log', 'audit_pruned', 'consent_events', 'enrolment_samples', 'idempotent_requests', 'meta', 'model_fingerprints', 'policies', 'schema_version', 'subject_keys', 'subjects', 'templates', 'verification_outcomes', 'verifications'];

describe('migrate', () => {
  let dir: string;
  let db: Database;
  beforeEach(() => {
    dir = tempDataDir();
    db = Database.open({ dataDir: dir });
  });
  afterEach(() => {
    db.close();
    removeDir(dir);
  });

  it('loads 001_initial as version 1 from src/store/migrations', () => {
    const ms = loadMigrations();
    expect(ms[0]).toMatchObject({ version: 1, name: 'initial' });
    expect(ms[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('creates the whole schema on a fresh data dir, then is a no-op', () => {
    const first = migrate(db);
    expect(first.applied).toEqual(loadMigrations().map((m) => m.version));
    expect(first.version).toBe(loadMigrations().length);
    const tables = db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => r.name);
    expect(tables).toEqual(expectedTables);
    const triggers = db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").map((r) => r.name);
    expect(triggers).toEqual([
      'audit_log_extends_chain',
      'audit_log_no_delete',
      'audit_log_no_update',
      'audit_pruned_moves_forward',
      'audit_pruned_names_an_entry',
      'audit_pruned_no_delete',
      'consent_given_sets_subject_notice',
      'consent_withdrawal_requires_erasure',
      'enrolment_samples_require_consent',
      'subject_keys_require_consent',
      'templates_require_consent',
      'templates_update_require_consent',
    ]);
    const second = migrate(db);
    expect(second).toEqual({ applied: [], version: first.version });
    expect(db.integrityCheck()).toEqual([]);
  });

  it('applies only the newer migrations, in order', () => {
    const custom = fs.mkdtempSync(path.join(dir, 'm-'));
    fs.writeFileSync(path.join(custom, '001_one.sql'), 'CREATE TABLE one (x INTEGER) STRICT;');
    expect(migrate(db, loadMigrations(custom)).applied).toEqual([1]);
    fs.writeFileSync(path.join(custom, '002_two.sql'), 'CREATE TABLE two (x INTEGER) STRICT; INSERT INTO one VALUES (2);');
    expect(migrate(db, loadMigrations(custom))).toEqual({ applied: [2], version: 2 });
    expect(db.get('SELECT x FROM one')).toEqual({ x: 2 });
  });

  it('rolls back a failing migration completely, leaving the earlier version', () => {
    const custom = fs.mkdtempSync(path.join(dir, 'm-'));
    fs.writeFileSync(path.join(custom, '001_one.sql'), 'CREATE TABLE one (x INTEGER) STRICT;');
    fs.writeFileSync(path.join(custom, '002_bad.sql'), 'CREATE TABLE half (x INTEGER); INSERT INTO missing VALUES (1);');
    expect(() => migrate(db, loadMigrations(custom))).toThrow(/no such table: missing/);
    expect(db.get('SELECT max(version) AS v FROM schema_version')).toEqual({ v: 1 });
    expect(db.get("SELECT name FROM sqlite_master WHERE name = 'half'")).toBeUndefined();
  });

  it('refuses an applied migration whose text changed', () => {
    const custom = fs.mkdtempSync(path.join(dir, 'm-'));
    fs.writeFileSync(path.join(custom, '001_one.sql'), 'CREATE TABLE one (x INTEGER) STRICT;');
    migrate(db, loadMigrations(custom));
    fs.writeFileSync(path.join(custom, '001_one.sql'), 'CREATE TABLE one (x INTEGER, y TEXT) STRICT;');
    expect(() => migrate(db, loadMigrations(custom))).toThrow(/changed after it was applied/);
  });

  it('refuses a database newer than the program with config-invalid', () => {
    const custom = fs.mkdtempSync(path.join(dir, 'm-'));
    fs.writeFileSync(path.join(custom, '001_one.sql'), 'SELECT 1;');
    fs.writeFileSync(path.join(custom, '002_two.sql'), 'SELECT 2;');
    migrate(db, loadMigrations(custom));
    fs.rmSync(path.join(custom, '002_two.sql'));
    expect(() => migrate(db, loadMigrations(custom))).toThrow(expect.objectContaining({ code: 'config-invalid' }));
  });

  it('upgrades a version-1 database: existing verifications keep their row, the comparison-scale columns read null', () => {
    const [initial] = loadMigrations();
    migrate(db, [initial!]);
    db.run(
      `INSERT INTO verifications (id, subject_id, occurred_at, policy, decision, reasons, score, raw_score, threshold, net_speech_seconds, model_id, actor_key_id)
       VALUES ('v1', NULL, '2026-01-01T00:00:00.000Z', 'standard', 'accept', '[]', 1.2, 0.61, 0.9, 6.5, 'm', NULL)`,
    );
    expect(migrate(db)).toEqual({ applied: loadMigrations().slice(1).map((m) => m.version), version: loadMigrations().length });
    expect(db.get('SELECT score, raw_score, normalised_score, threshold, raw_threshold FROM verifications')).toEqual({
      score: 1.2,
      raw_score: 0.61,
      normalised_score: null,
      threshold: 0.9,
      raw_threshold: null,
    });
  });

  it('upgrades a version-3 database: existing verifications have no channel, and only the two channels can be stored', () => {
    migrate(db, loadMigrations().slice(0, 3));
    db.run(
      `INSERT INTO verifications (id, subject_id, occurred_at, policy, decision, reasons, score, raw_score, threshold, net_speech_seconds, model_id, actor_key_id)
       VALUES ('v1', NULL, '2026-01-01T00:00:00.000Z', 'standard', 'accept', '[]', 1.2, 0.61, 0.9, 6.5, 'm', NULL)`,
    );
    expect(migrate(db, loadMigrations().slice(0, 4))).toEqual({ applied: [4], version: 4 });
    expect(db.get('SELECT decision, channel FROM verifications')).toEqual({ decision: 'accept', channel: null });
    db.run(`UPDATE verifications SET channel = 'telephone'`);
    expect(() => db.run(`UPDATE verifications SET channel = 'app'`)).toThrow(/CHECK constraint/);
  });

  it('upgrades a version-4 database: existing API keys do not expire', () => {
    migrate(db, loadMigrations().slice(0, 4));
    db.run(`INSERT INTO api_keys (id, role, name, key_hash, created_at) VALUES ('key_0000000000000001', 'admin', 'old', zeroblob(32), '2026-01-01T00:00:00.000Z')`);
    expect(migrate(db, loadMigrations().slice(0, 5))).toEqual({ applied: [5], version: 5 });
    expect(db.get('SELECT id, expires_at FROM api_keys')).toEqual({ id: 'key_0000000000000001', expires_at: null });
  });

  it('upgrades a version-5 database: existing verifications have no transport, and only the two transports can be stored', () => {
    migrate(db, loadMigrations().slice(0, 5));
    db.run(
      `INSERT INTO verifications (id, subject_id, occurred_at, policy, decision, reasons, model_id, actor_key_id)
       VALUES ('v1', NULL, '2026-01-01T00:00:00.000Z', 'standard', 'no-consent', '[]', NULL, NULL)`,
    );
    expect(migrate(db, loadMigrations().slice(0, 6))).toEqual({ applied: [6], version: 6 });
    expect(db.get('SELECT decision, transport FROM verifications')).toEqual({ decision: 'no-consent', transport: null });
    db.run(`UPDATE verifications SET transport = 'stream'`);
    expect(() => db.run(`UPDATE verifications SET transport = 'carrier-pigeon'`)).toThrow(/CHECK constraint/);
  });

  it('upgrades a version-6 database: its audit log stays append-only until an anchor is recorded, then prunable up to it only', () => {
    migrate(db, loadMigrations().slice(0, 6));
    const log = new AuditLog(db, () => new Date('2026-01-01T00:00:00Z'));
    for (let i = 0; i < 3; i++) log.append({ action: 'consent.given', actorKeyId: null, subjectPseudonym: null, outcome: 'given' });
    expect(() => db.run('DELETE FROM audit_log WHERE seq = 1')).toThrow(/audit-log-append-only/);
    expect(migrate(db)).toEqual({ applied: [7, 8, 9, 10, 11, 12, 13, 14, 15], version: 15 });
    expect(() => db.run('DELETE FROM audit_log WHERE seq = 1')).toThrow(/audit-log-append-only/);
    expect(log.pruneBefore(new Date('2026-01-02T00:00:00Z'), { actorKeyId: null, retentionDays: 1 })).toMatchObject({ through: { seq: 3 }, pruned: 3 });
    expect(log.verify()).toMatchObject({ ok: true, entries: 1, prunedThrough: { seq: 3 } });
  });

  it("upgrades a version-9 database: each subject's row names the notice they last agreed to, and follows the consents given since", () => {
    migrate(db, loadMigrations().slice(0, 9));
    const at = '2026-01-01T00:00:00.000Z';
    for (const [id, pseudonym] of [[1, 'a'], [2, 'b'], [3, 'c']] as const) db.run('INSERT INTO subjects (id, pseudonym, created_at) VALUES (?, ?, ?)', [id, pseudonym.repeat(64), at]);
    const give = (subject: number, notice: string) =>
      db.run(`INSERT INTO consent_events (subject_id, kind, notice_version, channel, occurred_at) VALUES (?, 'given', ?, 'app', ?)`, [subject, notice, at]);
    const withdraw = (subject: number) => db.run(`INSERT INTO consent_events (subject_id, kind, reason, occurred_at) VALUES (?, 'withdrawn', 'subject-request', ?)`, [subject, at]);
    give(1, 'v1');
    withdraw(1);
    give(1, 'v2');
    give(2, 'v1');
    withdraw(2);
    expect(migrate(db)).toEqual({ applied: [10, 11, 12, 13, 14, 15], version: 15 });
    const notices = () => db.all('SELECT id, notice_version FROM subjects ORDER BY id');
    // The latest given consent's notice, withdrawn since or not; none for a subject who never consented.
    expect(notices()).toEqual([
      { id: 1, notice_version: 'v2' },
      { id: 2, notice_version: 'v1' },
      { id: 3, notice_version: null },
    ]);
    give(2, 'v3');
    withdraw(2);
    give(3, 'v2');
    expect(notices()).toEqual([
      { id: 1, notice_version: 'v2' },
      { id: 2, notice_version: 'v3' },
      { id: 3, notice_version: 'v2' },
    ]);
  });

  it('upgrades a version-13 database: consents recorded before hold no notice text hash; later ones may, on a given event only', () => {
    migrate(db, loadMigrations().slice(0, 13));
    const at = '2026-01-01T00:00:00.000Z';
    db.run('INSERT INTO subjects (id, pseudonym, created_at) VALUES (1, ?, ?)', ['a'.repeat(64), at]);
    db.run(`INSERT INTO consent_events (subject_id, kind, notice_version, channel, locale, occurred_at) VALUES (1, 'given', 'v1', 'app', 'nl', ?)`, [at]);
    expect(migrate(db)).toEqual({ applied: [14, 15], version: 15 });
    expect(db.all('SELECT id, notice_version, notice_sha256 FROM consent_events')).toEqual([{ id: 1, notice_version: 'v1', notice_sha256: null }]);
    db.run(`INSERT INTO consent_events (subject_id, kind, notice_version, channel, locale, notice_sha256, occurred_at) VALUES (1, 'given', 'v2', 'app', 'nl', ?, ?)`, ['c'.repeat(64), at]);
    expect(() => db.run(`INSERT INTO consent_events (subject_id, kind, notice_version, channel, notice_sha256, occurred_at) VALUES (1, 'given', 'v2', 'app', 'short', ?)`, [at])).toThrow(/CHECK constraint/);
  });

  it("upgrades a version-12 database: a call recorded for no subject is linked to its caller's pseudonym from its audit entry", () => {
    migrate(db, loadMigrations().slice(0, 12));
    const at = '2026-01-01T00:00:00.000Z';
    db.run('INSERT INTO subjects (id, pseudonym, created_at) VALUES (1, ?, ?)', ['a'.repeat(64), at]);
    const call = (id: string, subjectId: number | null) =>
      db.run(`INSERT INTO verifications (id, subject_id, occurred_at, policy, decision) VALUES (?, ?, ?, 'standard', 'no-consent')`, [id, subjectId, at]);
    call('v-subject', 1);
    call('v-stranger', null);
    call('v-unaudited', null);
    const log = new AuditLog(db, () => new Date(at));
    log.append({ action: 'verification', actorKeyId: null, subjectPseudonym: 'a'.repeat(64), outcome: 'no-consent', details: { verificationId: 'v-subject' } });
    log.append({ action: 'verification', actorKeyId: null, subjectPseudonym: 'b'.repeat(64), outcome: 'no-consent', details: { verificationId: 'v-stranger' } });
    expect(migrate(db)).toEqual({ applied: [13, 14, 15], version: 15 });
    expect(db.all('SELECT id, subject_id, caller_pseudonym FROM verifications ORDER BY id')).toEqual([
      { id: 'v-stranger', subject_id: null, caller_pseudonym: 'b'.repeat(64) },
      { id: 'v-subject', subject_id: 1, caller_pseudonym: null },
      { id: 'v-unaudited', subject_id: null, caller_pseudonym: null },
    ]);
    // A record linked to a subject never carries a caller pseudonym as well.
    expect(() => db.run("UPDATE verifications SET caller_pseudonym = ? WHERE id = 'v-subject'", ['c'.repeat(64)])).toThrow(/CHECK constraint/);
  });

  it('upgrades a version-2 database: stored target policies bound the estimate, explicit ones nothing', () => {
    migrate(db, loadMigrations().slice(0, 2));
    db.run(`INSERT INTO policies (name, threshold, target_fmr, min_net_speech_seconds, updated_at) VALUES ('standard', 2.1, 0.01, 5, '2026-01-01T00:00:00.000Z')`);
    db.run(`INSERT INTO policies (name, threshold, target_fmr, min_net_speech_seconds, updated_at) VALUES ('legacy', 0.6, NULL, 3, '2026-01-01T00:00:00.000Z')`);
    expect(migrate(db)).toEqual({ applied: loadMigrations().slice(2).map((m) => m.version), version: loadMigrations().length });
    expect(db.all('SELECT name, target_fmr_bound FROM policies ORDER BY name')).toEqual([
      { name: 'legacy', target_fmr_bound: null },
      { name: 'standard', target_fmr_bound: null },
    ]);
    const policies = new PolicyRepository(db, () => new Date('2026-01-02T00:00:00Z'));
    expect(policies.list().map((p) => [p.name, p.targetFmr, p.targetFmrBound])).toEqual([
      ['legacy', null, null],
      ['standard', 0.01, 'estimate'],
    ]);
    expect(() => db.run(`UPDATE policies SET target_fmr_bound = 'upper-99' WHERE name = 'standard'`)).toThrow(/CHECK constraint/);
  });

  it('refuses gaps and badly named files', () => {
    const gap = fs.mkdtempSync(path.join(dir, 'gap-'));
    fs.writeFileSync(path.join(gap, '001_one.sql'), 'SELECT 1;');
    fs.writeFileSync(path.join(gap, '003_three.sql'), 'SELECT 3;');
    expect(() => loadMigrations(gap)).toThrow(/out of sequence; expected version 2/);
    const bad = fs.mkdtempSync(path.join(dir, 'bad-'));
    fs.writeFileSync(path.join(bad, '1-First.sql'), 'SELECT 1;');
    expect(() => loadMigrations(bad)).toThrow(/NNN_lower_snake/);
  });
});
