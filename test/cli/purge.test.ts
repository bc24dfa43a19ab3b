/**
 * `voice-passport purge [--dry-run]` as a child process, without the master key: a voiceprint unused
 * for longer than VP_RETENTION_DAYS is erased with a receipt and an audit entry by "cli"; a fresh one
 * stays; verification records older than VP_HISTORY_RETENTION_DAYS go, with one audit entry (GDPR
 * Art. 5(1)(e) storage limitation), each sooner where the subject's notice says so. The test keeps
 * its own store open meanwhile.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { embedding, movableClock, openTestStore, type MovableClock } from '../store/helpers.js';
import { cliError, runCli, tempDir } from './run-cli.js';

const model = 'vp-test-tiny';
let dir: string;
let clock: MovableClock;
let store: Store;
let env: Record<string, string>;

beforeEach(() => {
  dir = tempDir();
  env = { VP_DATA_DIR: dir, VP_RETENTION_DAYS: '365', VP_HISTORY_RETENTION_DAYS: '400' };
  clock = movableClock(new Date(Date.now() - 2 * 365 * 86_400_000).toISOString());
  store = openTestStore(dir, { clock });
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A verification record dated by the test's clock. */
function recordCall(pseudonym: string, decision: 'accept' | 'no-consent'): void {
  store.verifications.record(pseudonym, {
    policy: 'standard', decision, reasons: [], score: null, rawScore: null, normalisedScore: null, threshold: 0.5, rawThreshold: 0.5,
    netSpeechSeconds: null, channel: null, modelId: model, actorKeyId: 'key_t', transport: 'request',
  });
}

function enrol(customerId: string, seed: number): string {
  const p = store.pseudonymise(customerId);
  store.consents.give(p, { noticeVersion: 'nl-1', channel: 'ivr', actorKeyId: 'key_e' });
  store.voiceprints.completeEnrolment(p, { embedding: embedding(seed, 128), modelId: model, sampleCount: 2, netSpeechSeconds: 21 });
  return p;
}

describe('voice-passport purge', () => {
  it('erases only the voiceprint unused for longer than VP_RETENTION_DAYS and the records older than VP_HISTORY_RETENTION_DAYS; --dry-run erases nothing', async () => {
    const expired = enrol('cust-two-years-ago', 1); // created two years ago, never used since
    recordCall(store.pseudonymise('never-consented'), 'no-consent'); // two years ago: past the history's 400 days
    clock.set(new Date(Date.now() - 30 * 86_400_000).toISOString());
    const fresh = enrol('cust-last-month', 2);
    recordCall(fresh, 'accept');
    const auditBefore = store.audit.head()?.seq ?? 0; // the store itself audits erasures only

    const dry = await runCli(['purge', '--dry-run'], env);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as { cutoff: string; dryRun: boolean; erased: number; wouldErase: number; subjectPseudonyms: string[]; history: { cutoff: string } };
    expect(plan).toMatchObject({ dryRun: true, erased: 0, wouldErase: 1, subjectPseudonyms: [expired], history: { erased: 0, wouldErase: 1 } });
    // The cutoffs are now minus 365 and 400 days (within the child's run time).
    expect(Math.abs(Date.parse(plan.cutoff) - (Date.now() - 365 * 86_400_000))).toBeLessThan(20_000);
    expect(Math.abs(Date.parse(plan.history.cutoff) - (Date.now() - 400 * 86_400_000))).toBeLessThan(20_000);
    expect(store.voiceprints.voiceprint(expired)).toBeDefined();
    expect(store.audit.head()?.seq ?? 0).toBe(auditBefore);

    const run = await runCli(['purge'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { cutoff: string; erased: number; receipts: Array<Record<string, unknown>>; audit: unknown; checkpointComplete: boolean };
    expect(result.erased).toBe(1);
    // VP_AUDIT_RETENTION_DAYS is not set: the audit log is kept whole.
    expect(result.audit).toBeNull();
    expect(result.receipts).toEqual([
      expect.objectContaining({ subjectPseudonym: expired, reason: 'retention-expired', subjectKnown: true, voiceprintErased: true, dataKeyDestroyed: true, consentWithdrawn: true, auditSeq: auditBefore + 1 }),
    ]);
    // Receipts say what was removed, never what it was.
    expect(run.stdout).not.toMatch(/embedding|template|cust-/);

    expect(store.voiceprints.voiceprint(expired)).toBeUndefined();
    expect(store.voiceprints.voiceprint(fresh)?.embedding).toEqual(embedding(2, 128));
    expect(store.consents.current(expired).active).toBe(false);
    const audit = store.audit.list({ afterSeq: auditBefore });
    expect(audit.map((e) => [e.action, e.actorKeyId, e.subjectPseudonym, e.outcome])).toEqual([
      ['retention.purged', 'cli', expired, 'erased'],
      ['history.purged', 'cli', null, 'erased'],
    ]);
    expect(audit[1]!.details).toEqual({ cutoff: expect.any(String), verifications: 1, retentionDays: 400 });
    expect((result as unknown as { history: unknown }).history).toEqual({ cutoff: audit[1]!.details.cutoff, erased: 1, auditSeqs: [audit[1]!.seq] });
    // The month-old call stays.
    expect(store.db.all('SELECT decision FROM verifications')).toEqual([{ decision: 'accept' }]);

    // Nothing left to do: a second run erases nothing, and audits nothing.
    const again = JSON.parse((await runCli(['purge'], env)).stdout) as { erased: number; receipts: unknown[]; history: unknown };
    expect([again.erased, again.receipts, again.history]).toEqual([0, [], { cutoff: expect.any(String), erased: 0, auditSeqs: [] }]);
    expect(store.audit.head()!.seq).toBe(audit[1]!.seq);
  }, 30_000);

  it('prunes the audit entries older than VP_AUDIT_RETENTION_DAYS where it is set, and audit verify checks the rest', async () => {
    const a = { action: 'consent.given' as const, actorKeyId: null, subjectPseudonym: null, outcome: 'given' };
    store.audit.append(a);
    const old = store.audit.append(a); // two years ago
    clock.set(new Date(Date.now() - 86_400_000).toISOString());
    store.audit.append(a);
    const withAudit = { ...env, VP_AUDIT_RETENTION_DAYS: '365' };

    const dry = JSON.parse((await runCli(['purge', '--dry-run'], withAudit)).stdout) as { audit: unknown };
    expect(dry.audit).toEqual({ cutoff: expect.any(String), pruned: 0, wouldPrune: 2 });
    expect(store.audit.list().map((e) => e.seq)).toEqual([1, 2, 3]);

    const run = await runCli(['purge'], withAudit);
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect((JSON.parse(run.stdout) as { audit: unknown }).audit).toEqual({ cutoff: expect.any(String), pruned: 2, through: { seq: 2, hash: old.hash }, auditSeq: 4 });
    expect(store.audit.list().map((e) => [e.seq, e.action, e.actorKeyId])).toEqual([
      [3, 'consent.given', null],
      [4, 'audit.pruned', 'cli'],
    ]);
    const verify = await runCli(['audit', 'verify'], withAudit);
    expect([verify.code, JSON.parse(verify.stdout)]).toEqual([0, { ok: true, entries: 2, prunedThrough: { seq: 2, hash: old.hash }, head: store.audit.head(), firstBrokenSeq: null, problem: null }]);
  }, 30_000);

  it('refuses unknown options (exit 2) and an invalid VP_RETENTION_DAYS, VP_HISTORY_RETENTION_DAYS or VP_AUDIT_RETENTION_DAYS (exit 78, config-invalid)', async () => {
    const bad = await runCli(['purge', '--now'], env);
    expect([bad.code, bad.stdout, cliError(bad).code]).toEqual([2, '', 'validation-failed']);
    for (const variable of ['VP_RETENTION_DAYS', 'VP_HISTORY_RETENTION_DAYS', 'VP_AUDIT_RETENTION_DAYS']) {
      const zero = await runCli(['purge'], { ...env, [variable]: '0' });
      expect([variable, zero.code, zero.stdout, cliError(zero).code]).toEqual([variable, 78, '', 'config-invalid']);
    }
  }, 30_000);

  it('keeps to the periods of the notices in VP_CONSENT_NOTICES_DIR: a subject told 10 days goes after 10, a consent record too; a broken index stops it', async () => {
    const notices = tempDir('vp-notices-');
    try {
      for (const v of ['v1', 'v2']) fs.writeFileSync(path.join(notices, `${v}.en.md`), `notice ${v}`);
      const index = {
        current: 'v2',
        versions: {
          v1: { retention: { voiceprintUnusedDays: 1095, verificationHistoryDays: null, consentRecordDays: null } },
          v2: { retention: { voiceprintUnusedDays: 10, verificationHistoryDays: 10, consentRecordDays: 10 } },
        },
      };
      fs.writeFileSync(path.join(notices, 'notices.json'), JSON.stringify(index));
      clock.set(new Date(Date.now() - 20 * 86_400_000).toISOString());
      const told = (customerId: string, noticeVersion: string) => {
        const p = store.pseudonymise(customerId);
        store.consents.give(p, { noticeVersion, channel: 'app', actorKeyId: 'key_e' });
        store.voiceprints.completeEnrolment(p, { embedding: embedding(3, 128), modelId: model, sampleCount: 2, netSpeechSeconds: 21 });
        recordCall(p, 'accept');
        return p;
      };
      const long = told('told-three-years', 'v1');
      const short = told('told-ten-days', 'v2');
      // Withdrew 20 days ago under v2, which keeps the record of consent 10 days after it ended.
      const withdrew = store.pseudonymise('withdrew-under-v2');
      store.consents.give(withdrew, { noticeVersion: 'v2', channel: 'web', actorKeyId: 'key_e' });
      store.erasure.erase(withdrew, { reason: 'consent-withdrawn', actorKeyId: 'key_e' });
      const withNotices = { ...env, VP_CONSENT_NOTICES_DIR: notices };

      const dry = JSON.parse((await runCli(['purge', '--dry-run'], withNotices)).stdout) as { subjectPseudonyms: string[]; history: { wouldErase: number }; consentRecords: { wouldErase: number } };
      expect([dry.subjectPseudonyms, dry.history.wouldErase, dry.consentRecords.wouldErase]).toEqual([[short], 1, 1]);
      const run = await runCli(['purge'], withNotices);
      expect([run.code, run.stderr]).toEqual([0, '']);
      const result = JSON.parse(run.stdout) as {
        receipts: Array<{ subjectPseudonym: string; verificationsErased: number }>;
        history: { erased: number };
        consentRecords: { erased: number; auditSeqs: number[] };
      };
      // The erasure takes the subject's records with it, so the history purge finds none left.
      expect(result.receipts.map((r) => [r.subjectPseudonym, r.verificationsErased])).toEqual([[short, 1]]);
      expect(result.history.erased).toBe(0);
      expect(result.consentRecords).toMatchObject({ erased: 1, auditSeqs: [expect.any(Number)] });
      expect(store.subjects.find(withdrew)).toBeUndefined();
      expect([store.voiceprints.voiceprint(short), store.voiceprints.voiceprint(long)?.embedding]).toEqual([undefined, embedding(3, 128)]);
      expect(store.verifications.countForSubject(long)).toBe(1);

      fs.writeFileSync(path.join(notices, 'notices.json'), JSON.stringify({ ...index, current: 'v3' }));
      const broken = await runCli(['purge'], withNotices);
      expect([broken.code, broken.stdout, cliError(broken).code]).toEqual([78, '', 'config-invalid']);
      expect(cliError(broken).message).toMatch(/notices\.json names v3 as current, which has no text/);
    } finally {
      fs.rmSync(notices, { recursive: true, force: true });
    }
  }, 30_000);
});
