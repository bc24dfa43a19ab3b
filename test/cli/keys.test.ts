/**
 * `voice-passport keys …` as a child process on a temp VP_DATA_DIR without the master key: the secret
 * is shown once and authenticates, `list` never shows it, revocation takes effect, every change is
 * audited with the actor "cli" (GDPR Art. 32(1)(b), 5(2)), and it all works while another connection
 * (the running server) writes to the same database.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKey } from '../../src/passport/api-keys.js';
import { openStoreWithoutMasterKey, type StoreWithoutMasterKey } from '../../src/store/index.js';
import { cliError, runCli, tempDir } from './run-cli.js';

let dir: string;
let store: StoreWithoutMasterKey;
let env: Record<string, string>;

beforeEach(() => {
  dir = tempDir();
  env = { VP_DATA_DIR: dir };
  // Stays open for the whole test, like the server's connection.
  store = openStoreWithoutMasterKey({ dataDir: dir });
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('voice-passport keys', () => {
  it('create → list without the secret → authenticates → revoke → no longer authenticates', async () => {
    const created = await runCli(['keys', 'create', '--role', 'telephony', '--name', 'IVR cluster A'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as Record<string, string>;
    expect(Object.keys(key).sort()).toEqual(['expiresAt', 'id', 'key', 'name', 'role']);
    expect(key).toMatchObject({ role: 'telephony', name: 'IVR cluster A' });
    expect(key.id).toMatch(/^key_[0-9a-f]{16}$/);
    expect(key.key).toMatch(/^vp_telephony_/);

    const listed = await runCli(['keys', 'list'], env);
    expect(listed.code).toBe(0);
    const keys = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(keys).toEqual([{ id: key.id, role: 'telephony', name: 'IVR cluster A', createdAt: expect.any(String), lastUsedAt: null, revokedAt: null, expiresAt: null }]);
    expect(listed.stdout).not.toContain(key.key);
    expect(listed.stdout).not.toMatch(/hash/i);

    expect(store.apiKeys.authenticate(key.key!)).toMatchObject({ id: key.id, role: 'telephony' });

    const revoked = await runCli(['keys', 'revoke', key.id!], env);
    expect(revoked.code).toBe(0);
    const body = JSON.parse(revoked.stdout) as { id: string; revokedAt: string };
    expect(Object.keys(body).sort()).toEqual(['id', 'revokedAt']);
    expect(body.id).toBe(key.id);
    expect(Date.parse(body.revokedAt)).toBeGreaterThan(0);
    expect(store.apiKeys.authenticate(key.key!)).toBeUndefined();

    expect(store.audit.list().map((e) => [e.action, e.actorKeyId, e.details.keyId])).toEqual([
      ['key.created', 'cli', key.id],
      ['key.revoked', 'cli', key.id],
    ]);
    // The secret never reaches the audit log either.
    expect(JSON.stringify(store.audit.list())).not.toContain(key.key);
  }, 30_000);

  it('may revoke the last admin key (the API refuses that; the host is the way out)', async () => {
    const admin = JSON.parse((await runCli(['keys', 'create', '--role', 'admin'], env)).stdout) as { id: string; name: string };
    expect(admin.name).toBe('admin');
    const r = await runCli(['keys', 'revoke', admin.id], env);
    expect(r.code).toBe(0);
    expect(store.apiKeys.countActive('admin')).toBe(0);
  }, 30_000);

  it('creates a key that expires after --expires-in-days, and refuses a lifetime outside 1-3650 whole days', async () => {
    const before = Date.now();
    const r = await runCli(['keys', 'create', '--role', 'operator', '--expires-in-days', '30'], env);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const { id, expiresAt } = JSON.parse(r.stdout) as { id: string; expiresAt: string };
    const thirtyDays = 30 * 86_400_000;
    expect(Date.parse(expiresAt)).toBeGreaterThanOrEqual(before + thirtyDays);
    expect(Date.parse(expiresAt)).toBeLessThanOrEqual(Date.now() + thirtyDays);
    expect(store.apiKeys.findById(id)?.expiresAt).toBe(expiresAt);
    expect(store.audit.list().at(-1)?.details).toMatchObject({ keyId: id, expiresAt });
    for (const days of ['0', '3651', '1.5', 'ten', '-3']) {
      const bad = await runCli(['keys', 'create', '--role', 'operator', `--expires-in-days=${days}`], env);
      expect([days, bad.code, cliError(bad).code, cliError(bad).message]).toEqual([days, 2, 'validation-failed', expect.stringContaining('--expires-in-days must be a whole number of days from 1 to 3650')]);
    }
    expect(store.apiKeys.list()).toHaveLength(1);
  }, 30_000);

  it('refuses an unknown key id (not-found, exit 1) and a bad role (validation-failed, exit 2)', async () => {
    const unknown = await runCli(['keys', 'revoke', 'key_0000000000000000'], env);
    expect([unknown.code, unknown.stdout, cliError(unknown).code]).toEqual([1, '', 'not-found']);
    const badRole = await runCli(['keys', 'create', '--role', 'root'], env);
    expect([badRole.code, badRole.stdout, cliError(badRole).code]).toEqual([2, '', 'validation-failed']);
    expect(cliError(badRole).message).toContain('telephony, enrolment, operator, admin');
    expect(store.apiKeys.list()).toEqual([]);
    expect(store.audit.list()).toEqual([]);
  }, 30_000);

  it('creates a key while another connection keeps writing keys and audit entries (WAL + busy timeout)', async () => {
    const child = runCli(['keys', 'create', '--role', 'operator'], env);
    let writes = 0;
    let done = false;
    void child.finally(() => (done = true));
    // The "server" appends to the same audit chain until the child exits, holding the write lock
    // ~10 ms each time, so the child must wait for it (busy_timeout) rather than fail with SQLITE_BUSY.
    while (!done) {
      store.db.transaction(() => {
        createKey(store, { keyId: 'key_server', role: 'admin' }, { role: 'enrolment' });
        for (const until = Date.now() + 10; Date.now() < until; );
      });
      writes++;
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await child;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { id } = JSON.parse(r.stdout) as { id: string };
    expect(writes).toBeGreaterThan(10);
    expect(store.apiKeys.list().map((k) => k.role).sort()).toEqual([...Array<string>(writes).fill('enrolment'), 'operator'].sort());
    expect(store.audit.list({ limit: 1000 }).filter((e) => e.actorKeyId === 'cli').map((e) => e.details.keyId)).toEqual([id]);
    expect(store.audit.verify()).toMatchObject({ ok: true, entries: writes + 1 });
  }, 30_000);

  it('refuses --role given twice (exit 2) and creates no key', async () => {
    const r = await runCli(['keys', 'create', '--role', 'admin', '--role', 'operator'], env);
    expect([r.code, r.stdout, cliError(r).code]).toEqual([2, '', 'validation-failed']);
    expect(cliError(r).message).toMatch(/^--role is given twice/);
    expect(store.apiKeys.list()).toEqual([]);
  }, 30_000);
});
