/**
 * Issue 3: killing the process with SIGKILL during a stream of enrolments and erasures leaves a database
 * that passes integrity_check, holds every acknowledged write, and never a template without consent.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestStore, removeDir, tempDataDir, testMasterKey } from './helpers.js';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = tempDataDir();
});
afterEach(() => removeDir(dir));

/** Runs the writer until it has acknowledged `acks` operations, then SIGKILLs it. Returns the acks. */
function runAndKill(acks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], { env: { ...process.env, VP_MASTER_KEY: testMasterKey }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const l of parts) if (l !== 'ready') lines.push(l);
      if (lines.length >= acks && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(lines) : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

describe('crash safety', () => {
  it('SIGKILL mid-stream: integrity ok, every acknowledged write present, no template without consent', async () => {
    const acked = await runAndKill(40);
    expect(acked.length).toBeGreaterThanOrEqual(40);
    const store = openTestStore(dir);
    try {
      expect(store.db.integrityCheck()).toEqual([]);
      const expected = new Map<string, string>();
      for (const line of acked) {
        const [op, id] = line.split(' ') as [string, string];
        expected.set(id, op);
      }
      for (const [id, op] of expected) {
        const p = store.pseudonymise(id);
        if (op === 'consent') expect(store.consents.current(p).active, id).toBe(true);
        if (op === 'enrolled') expect(store.voiceprints.voiceprintMetadata(p)?.sampleCount, id).toBe(1);
        if (op === 'erased') {
          expect(store.voiceprints.voiceprintMetadata(p), id).toBeUndefined();
          expect(store.consents.current(p).active, id).toBe(false);
        }
      }
      const orphans = store.db.get<{ n: number }>(
        `SELECT count(*) AS n FROM subject_keys k
         WHERE COALESCE((SELECT kind FROM consent_events c WHERE c.subject_id = k.subject_id ORDER BY id DESC LIMIT 1), 'none') <> 'given'`,
      );
      expect(orphans).toEqual({ n: 0 });
      expect(store.audit.verify().ok).toBe(true);
    } finally {
      store.close();
    }
  });
});
