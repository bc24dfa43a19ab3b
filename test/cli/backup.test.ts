/**
 * `voice-passport backup FILE` while a store is open (the service running), then `restore FILE` with
 * it closed, as child processes without the master key: the receipts, the warnings on stderr, and
 * the usage errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { embedding, openTestStore } from '../store/helpers.js';
import { cliError, runCli, tempDir } from './run-cli.js';

let dir: string;
let outside: string;
beforeEach(() => {
  dir = tempDir();
  outside = tempDir();
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

/** The data directory's store, left open (the service running), with `cust-1` consented (audited, as the use case does) and enrolled. */
function storeWithOneEnrolment() {
  const store = openTestStore(dir);
  const p = store.pseudonymise('cust-1');
  store.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', actorKeyId: null });
  store.audit.append({ action: 'consent.given', actorKeyId: null, subjectPseudonym: p, outcome: 'given' });
  store.voiceprints.completeEnrolment(p, { embedding: embedding(1), modelId: 'm', sampleCount: 2, netSpeechSeconds: 20 });
  return { store, p };
}

describe('voice-passport backup / restore', () => {
  it('backs up while the store is open, and restores it with the erasure made since applied again', async () => {
    const { store, p } = storeWithOneEnrolment();
    const file = path.join(outside, 'nightly.vpbak');

    const backup = await runCli(['backup', file, '--unencrypted'], { VP_DATA_DIR: dir });
    expect([backup.code, backup.stderr]).toEqual([0, '']);
    const receipt = JSON.parse(backup.stdout) as { file: string; bytes: number; sha256: string; auditHead: { seq: number }; auditSeq: number };
    expect(receipt).toMatchObject({ file, bytes: fs.statSync(file).size, auditHead: { seq: 1 }, auditSeq: 2 });
    expect(store.audit.list({ action: 'store.backed-up' })).toHaveLength(1);

    store.erasure.erase(p, { reason: 'subject-request', actorKeyId: null });
    store.close();

    const restore = await runCli(['restore', file], { VP_DATA_DIR: dir });
    expect([restore.code, restore.stderr]).toEqual([0, '']);
    expect(JSON.parse(restore.stdout)).toMatchObject({ backup: { file, sha256: receipt.sha256 }, reapplied: { from: 'database', erasures: 1, keyRevocations: 0 }, warnings: [] });
    const restored = openTestStore(dir);
    expect(restored.consents.current(p).active).toBe(false);
    expect(restored.voiceprints.voiceprint(p)).toBeUndefined();
    restored.close();

    // Into an empty data directory: restored, with the warning on stderr.
    const empty = tempDir();
    try {
      const fresh = await runCli(['restore', file], { VP_DATA_DIR: empty });
      expect(fresh.code).toBe(0);
      expect(fresh.stderr).toMatch(/^warning: There was no database in .* to take later erasures from/);
      const s = openTestStore(empty);
      expect(s.voiceprints.voiceprint(p)?.embedding).toEqual(embedding(1));
      s.close();
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('makes an identity with backup-key, encrypts to its recipient from a recipients file, and restores with it', async () => {
    const { store, p } = storeWithOneEnrolment();
    const identityFile = path.join(outside, 'backup-identity.txt');

    const key = await runCli(['backup-key', identityFile]);
    expect([key.code, key.stderr]).toEqual([0, '']);
    const { file: written, recipient } = JSON.parse(key.stdout) as { file: string; recipient: string };
    expect(written).toBe(identityFile);
    expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
    expect(fs.statSync(identityFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(identityFile, 'utf8')).toMatch(new RegExp(`^# created: .*\\n# public key: ${recipient}\\nAGE-SECRET-KEY-1[0-9A-Z]{58}\\n$`));
    // Never overwritten: it may be the only key to last year's backups.
    const again = await runCli(['backup-key', identityFile]);
    expect([again.code, cliError(again).code]).toEqual([2, 'validation-failed']);

    const recipientsFile = path.join(outside, 'recipients.txt');
    fs.writeFileSync(recipientsFile, `# the backup key\n${recipient}\n`);
    const file = path.join(outside, 'nightly.age');
    const backup = await runCli(['backup', file, '--recipients-file', recipientsFile], { VP_DATA_DIR: dir });
    expect([backup.code, backup.stderr]).toEqual([0, '']);
    expect(JSON.parse(backup.stdout)).toMatchObject({ file, encryption: { format: 'age', recipients: [recipient] } });
    store.close();

    const refused = await runCli(['restore', file], { VP_DATA_DIR: dir });
    expect([refused.code, cliError(refused).message]).toEqual([2, `The backup ${file} is encrypted (age): give the identity file that opens it (--identity FILE). Nothing was restored.`]);
    const restore = await runCli(['restore', file, '--identity', identityFile], { VP_DATA_DIR: dir });
    expect([restore.code, restore.stderr]).toEqual([0, '']);
    expect(JSON.parse(restore.stdout)).toMatchObject({ backup: { file, encrypted: true }, reapplied: { from: 'database', erasures: 0 }, warnings: [] });
    const restored = openTestStore(dir);
    expect(restored.voiceprints.voiceprint(p)?.embedding).toEqual(embedding(1));
    restored.close();
  });

  it('answers usage errors with exit 2, and a backup of a data directory without a database with exit 1', async () => {
    for (const args of [
      ['backup', '--unencrypted'],
      ['backup', 'a', 'b', '--unencrypted'],
      ['restore'],
      ['restore', '--force', 'x'],
      ['backup', 'x', '--unencrypted', '--audit-log', 'y'],
      ['restore', 'x', '--audit-log'],
      ['backup-key'],
      ['backup-key', 'a', 'b'],
    ]) {
      const r = await runCli(args, { VP_DATA_DIR: dir });
      expect([args, r.code, cliError(r).code]).toEqual([args, 2, 'validation-failed']);
    }
    // Whether a backup is encrypted is always said, never assumed.
    const unsaid = await runCli(['backup', path.join(outside, 'x')], { VP_DATA_DIR: dir });
    expect([unsaid.code, cliError(unsaid).message]).toEqual([
      2,
      'say whom the backup is encrypted to (--recipient, --recipients-file), or --unencrypted to write it in the clear\nusage: voice-passport backup FILE (--recipient AGE1… [--recipient …] | --recipients-file FILE | --unencrypted)   (a new file; the service may run)',
    ]);
    const both = await runCli(['backup', path.join(outside, 'x'), '--unencrypted', '--recipient', 'age1x'], { VP_DATA_DIR: dir });
    expect([both.code, cliError(both).message]).toEqual([2, expect.stringMatching(/^--unencrypted contradicts the recipients given\n/)]);
    const none = await runCli(['backup', path.join(outside, 'x'), '--unencrypted'], { VP_DATA_DIR: dir });
    expect([none.code, cliError(none).code, fs.existsSync(path.join(outside, 'x'))]).toEqual([78, 'config-invalid', false]);
  });

  it('refuses a directory named as the backup to restore (validation-failed, exit 2), not with an internal error', async () => {
    const r = await runCli(['restore', outside], { VP_DATA_DIR: dir });
    expect([r.code, r.stdout, cliError(r).code]).toEqual([2, '', 'validation-failed']);
    expect(cliError(r).message).toBe(`${outside} is not a file: name the backup file made by voice-passport backup. Nothing was restored.`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
