/**
 * `voice-passport audit verify` as a child process: ok on an intact chain with the head printed, exit 1
 * when an entry was changed or removed, and truncation caught only with a recorded anchor (GDPR
 * Art. 5(2), 32(1)(d)). Tampering goes through the store's own Database wrapper (the only module that
 * touches SQLite), with the append-only triggers dropped as an attacker with file access could.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAnchor } from '../../src/cli/audit.js';
import { openStoreWithoutMasterKey, type AuditChainReport, type StoreWithoutMasterKey } from '../../src/store/index.js';
import { cliError, runCli, tempDir } from './run-cli.js';

let dir: string;
let store: StoreWithoutMasterKey;
let env: Record<string, string>;

beforeEach(() => {
  dir = tempDir();
  env = { VP_DATA_DIR: dir };
  store = openStoreWithoutMasterKey({ dataDir: dir });
  for (let i = 1; i <= 5; i++) {
    store.audit.append({ action: 'policy.updated', actorKeyId: 'key_op', subjectPseudonym: null, outcome: 'ok', details: { n: i } });
  }
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const dropTriggers = () => store.db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_extends_chain;');

async function verify(args: string[] = []): Promise<{ code: number | null; report: AuditChainReport }> {
  const r = await runCli(['audit', 'verify', ...args], env);
  expect(r.stderr).toBe('');
  return { code: r.code, report: JSON.parse(r.stdout) as AuditChainReport };
}

describe('voice-passport audit verify', () => {
  it('reports ok and the head (to record as an anchor) for an intact chain; the same head verifies as anchor', async () => {
    const head = store.audit.head()!;
    const plain = await verify();
    expect(plain).toEqual({ code: 0, report: { ok: true, entries: 5, prunedThrough: null, head, firstBrokenSeq: null, problem: null } });
    const anchored = await verify(['--anchor', `${head.seq}:${head.hash}`]);
    expect(anchored).toEqual(plain);
  }, 30_000);

  it('exits 1 and names the entry when one was changed', async () => {
    dropTriggers();
    store.db.run("UPDATE audit_log SET outcome = 'refused' WHERE seq = 3");
    const { code, report } = await verify();
    expect(code).toBe(1);
    expect(report).toMatchObject({ ok: false, entries: 2, firstBrokenSeq: 3 });
    expect(report.problem).toContain('hash mismatch');
  }, 30_000);

  it('exits 1 when an entry in the middle was removed', async () => {
    dropTriggers();
    store.db.run('DELETE FROM audit_log WHERE seq = 2');
    const { code, report } = await verify();
    expect(code).toBe(1);
    expect(report).toMatchObject({ ok: false, firstBrokenSeq: 2, problem: 'entry 2 is missing (next entry is 3)' });
  }, 30_000);

  it('catches removed newest entries only against a recorded anchor', async () => {
    const anchor = store.audit.head()!;
    dropTriggers();
    store.db.run('DELETE FROM audit_log WHERE seq >= 4');
    // Without the anchor the shortened chain is still a valid chain: that is why the head is printed.
    expect((await verify()).code).toBe(0);
    const { code, report } = await verify(['--anchor', `${anchor.seq}:${anchor.hash}`]);
    expect(code).toBe(1);
    expect(report).toMatchObject({ ok: false, entries: 3, firstBrokenSeq: 4 });
    expect(report.problem).toContain('newer entries were removed');
  }, 30_000);

  it('refuses a malformed anchor (exit 2) and a data dir without a database (exit 1)', async () => {
    const bad = await runCli(['audit', 'verify', '--anchor', '5:abc'], env);
    expect([bad.code, bad.stdout, cliError(bad).code]).toEqual([2, '', 'validation-failed']);
    const empty = tempDir();
    try {
      const r = await runCli(['audit', 'verify'], { VP_DATA_DIR: empty });
      expect([r.code, r.stdout, cliError(r).code]).toEqual([78, '', 'config-invalid']);
      expect(fs.readdirSync(empty)).toEqual([]); // nothing created by a mistyped VP_DATA_DIR
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('parseAnchor', () => {
  const hash = 'ab'.repeat(32);
  it('reads SEQ:HASH and lower-cases the hash', () => {
    expect(parseAnchor(`42:${hash.toUpperCase()}`)).toEqual({ seq: 42, hash });
  });
  it.each(['', '42', `0:${hash}`, `-1:${hash}`, `1.5:${hash}`, `42:${hash}0`, `42:${hash.slice(1)}`, `42:${'g'.repeat(64)}`, `${'9'.repeat(17)}:${hash}`])('refuses %j', (text) => {
    expect(() => parseAnchor(text)).toThrow(expect.objectContaining({ code: 'validation-failed' }));
  });
});
