/** The `voice-passport` dispatcher: usage on stdout for help, exit 2 and usage on stderr for an unknown command. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliError, runCli, tempDir } from './run-cli.js';

describe('voice-passport dispatch', () => {
  it('exits 2 for an unknown command and prints the usage to stderr', async () => {
    const r = await runCli(['enroll'], {});
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown command "enroll"');
    expect(r.stderr).toContain('usage: voice-passport <command>');
  }, 30_000);

  it('lists every command for --help (exit 0)', async () => {
    const r = await runCli(['--help'], {});
    expect(r.code).toBe(0);
    for (const command of ['features <audio>', 'embed <audio|folder>', 'compare <audioA>', 'keys create --role', 'keys list', 'keys revoke KEY_ID', 'purge [--dry-run]', 'audit verify [--anchor SEQ:HASH]', 'serve']) {
      expect(r.stdout).toContain(command);
    }
  }, 30_000);

  it('exits 2 with validation-failed for a wrong argument count', async () => {
    const r = await runCli(['compare', 'only-one.wav'], {});
    expect([r.code, r.stdout, cliError(r).code]).toEqual([2, '', 'validation-failed']);
  }, 30_000);

  it('exits 2 with validation-failed and the usage for an unknown option, on every command', async () => {
    for (const [command, usage] of [
      ['embed', 'usage: voice-passport embed'],
      ['compare', 'usage: voice-passport compare'],
      ['features', 'usage: voice-passport features'],
    ] as const) {
      const r = await runCli([command, 'a.wav', '--frobnicate'], {});
      expect([r.code, r.stdout, cliError(r).code], command).toEqual([2, '', 'validation-failed']);
      expect(cliError(r).message).toMatch(new RegExp(`^Unknown option '--frobnicate'[^]*\n${usage}`));
    }
  }, 60_000);

  it('prints a command\'s usage for --help or -h after it (stdout, exit 0), without running it', async () => {
    for (const [args, expected] of [
      [['keys', '--help'], 'keys create --role'],
      [['keys', 'create', '-h'], 'keys revoke KEY_ID'],
      [['purge', '--help'], 'purge [--dry-run]'],
      [['backup', '--help'], 'backup FILE'],
      [['embed', '--help'], 'embed <audio|folder>'],
    ] as const) {
      const r = await runCli([...args], {});
      expect([r.code, r.stderr], args.join(' ')).toEqual([0, '']);
      expect(r.stdout, args.join(' ')).toContain(expected);
      expect(r.stdout, args.join(' ')).not.toContain('cohort <folder>');
    }
  }, 60_000);

  it('serve refuses arguments (exit 2) instead of starting the service; serve --help prints its usage', async () => {
    const dir = tempDir();
    try {
      const env = { VP_DATA_DIR: dir, PORT: '0' };
      const help = await runCli(['serve', '--help'], env, 10_000);
      expect([help.code, help.stderr]).toEqual([0, '']);
      expect(help.stdout).toContain('serve');
      const extra = await runCli(['serve', '--port', '9000'], env, 10_000);
      expect([extra.code, extra.stdout, cliError(extra).code]).toEqual([2, '', 'validation-failed']);
      // Nothing started: no master key or database was written.
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('without a command prints the usage to stderr, as for any usage error, and exits 2', async () => {
    const r = await runCli([], {});
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain('usage: voice-passport <command>');
  }, 30_000);
});
