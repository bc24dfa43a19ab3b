/** The `voice-passport` dispatcher: usage on stdout for help, exit 2 and usage on stderr for an unknown command. */
import { describe, expect, it } from 'vitest';
import { cliError, runCli } from './run-cli.js';

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
});
