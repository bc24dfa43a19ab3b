/**
 * Issue 3, at the API: SIGKILL during a stream of consents, enrolments, withdrawals and erasures
 * leaves a database that passes integrity_check, holds every acknowledged write, and never a
 * template without its consent. (test/store/crash-safety.test.ts does the same below the API.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { toneWav } from '../passport/fakes.js';
import { openTestStore, removeDir, tempDataDir, testMasterKey } from '../store/helpers.js';

const server = fileURLToPath(new URL('./fixtures/crash-server.ts', import.meta.url));
const sample = Buffer.from(toneWav({ freq: 200, seconds: 5 }));

type Op = 'consent' | 'enrol' | 'withdraw' | 'erase';
interface State {
  consent: boolean;
  enrolled: boolean;
}

/** What an operation does to a subject when it commits (enrol without consent is refused: no change). */
function after(s: State, op: Op): State {
  switch (op) {
    case 'consent':
      return { ...s, consent: true };
    case 'enrol':
      return s.consent ? { ...s, enrolled: true } : s;
    default:
      return { consent: false, enrolled: false };
  }
}

let dir: string;
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  removeDir(dir);
});

function start(): Promise<{ port: number; enrolment: string }> {
  return new Promise((resolve, reject) => {
    child = spawn(process.execPath, ['--import', 'tsx', server, dir], { env: { ...process.env, VP_MASTER_KEY: testMasterKey }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { port: number; enrolment: string });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

describe('SIGKILL during a stream of API writes', () => {
  it('integrity holds, acknowledged writes survive, no template without consent', async () => {
    dir = tempDataDir();
    const { port, enrolment } = await start();
    const base = `http://127.0.0.1:${port}`;
    const auth = { Authorization: `Bearer ${enrolment}` };
    const subjects = Array.from({ length: 6 }, (_, i) => `crash-${i}`);
    const acked = new Map<string, State>(subjects.map((s) => [s, { consent: false, enrolled: false }]));
    const ops: Op[] = ['consent', 'enrol', 'enrol', 'withdraw', 'consent', 'enrol', 'erase'];
    let inFlight: { subject: string; op: Op } | undefined;
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);

    const killAfter = 60 + (next() % 20);
    let count = 0;
    try {
      for (;;) {
        const subject = subjects[next() % subjects.length]!;
        const op = ops[next() % ops.length]!;
        inFlight = { subject, op };
        // Killed while this request is on its way or being handled: it may or may not commit.
        if (count === killAfter) setTimeout(() => child!.kill('SIGKILL'), next() % 4);
        const url = `${base}/v1/subjects/${subject}${op === 'consent' || op === 'withdraw' ? '/consent' : op === 'enrol' ? '/enrolments' : ''}`;
        const res =
          op === 'consent'
            ? await fetch(url, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ noticeVersion: 'v2', channel: 'app' }) })
            : op === 'enrol'
              ? await fetch(url, { method: 'POST', headers: { ...auth, 'Content-Type': 'audio/wav' }, body: sample })
              : await fetch(url, { method: 'DELETE', headers: auth });
        await res.arrayBuffer();
        expect(res.status === 200 || (op === 'enrol' && res.status === 403), `${op} ${subject} → ${res.status}`).toBe(true);
        acked.set(subject, after(acked.get(subject)!, op));
        inFlight = undefined;
        count++;
      }
    } catch (e) {
      // fetch fails once the server is gone; anything else is a real failure.
      if (!(e instanceof TypeError)) throw e;
    }
    expect(count).toBeGreaterThanOrEqual(killAfter);
    await new Promise((r) => (child!.exitCode !== null || child!.signalCode !== null ? r(undefined) : child!.once('exit', r)));

    const store = openTestStore(dir);
    try {
      expect(store.db.integrityCheck()).toEqual([]);
      for (const subject of subjects) {
        const p = store.pseudonymise(subject);
        const actual: State = { consent: store.consents.current(p).active, enrolled: store.voiceprints.voiceprintMetadata(p) !== undefined };
        const allowed = [acked.get(subject)!];
        if (inFlight?.subject === subject) allowed.push(after(acked.get(subject)!, inFlight.op));
        expect(allowed, `${subject}: ${JSON.stringify(actual)}`).toContainEqual(actual);
        // Never a template without its consent (GDPR Art. 9(2)(a)).
        if (actual.enrolled) expect(actual.consent).toBe(true);
      }
      expect(store.audit.verify().ok).toBe(true);
    } finally {
      store.close();
    }
  }, 60_000);
});
