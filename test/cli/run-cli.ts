/**
 * Runs the real CLI as a child process on the TypeScript sources (`node --import tsx src/cli/main.ts`),
 * so the tests see exactly what an operator sees: stdout, stderr and the exit code. Asynchronous, so a
 * test can hold the store open and write to it while the child runs (the server-is-up case).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `env` is added to a minimal environment: no VP_MASTER_KEY (the admin commands must work without
 * it), one worker and one thread (the test machine is shared), silent logs. `onSpawn` gets the
 * child, e.g. to send it a signal.
 */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 25_000, onSpawn?: (child: ChildProcess) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), VP_WORKERS: '1', VP_INTRA_OP_THREADS: '1', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The `{ error: { code, message } }` line the CLI writes to stderr. */
export function cliError(r: CliResult): { code: string; message: string } {
  const line = r.stderr.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(line) as { error: { code: string; message: string } }).error;
}

export function tempDir(prefix = 'vp-cli-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
