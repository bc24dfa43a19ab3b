/**
 * Backups and restores (src/store/backup.ts; GDPR Art. 32(1)(c) restore after an incident, Art. 17 and
 * 7(3): a restore must not bring back what was erased or withdrawn after the backup, nor revoked keys).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupStore, ownBackupWorkPrefix, restoreStore } from '../../src/store/backup.js';
import { newIdentity } from '../../src/store/backup-encryption.js';
import { Database } from '../../src/store/database.js';
import { openStore, type Store } from '../../src/store/index.js';
import { embedding, filesContaining, movableClock, openTestStore, removeDir, tempDataDir, testMasterKey, type MovableClock } from './helpers.js';

let dir: string;
let outside: string;
let clock: MovableClock;
beforeEach(() => {
  dir = tempDataDir();
  outside = tempDataDir();
  clock = movableClock('2026-05-01T08:00:00.000Z');
});
afterEach(() => {
  removeDir(dir);
  removeDir(outside);
});

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const liveDb = () => path.join(dir, 'voice-passport.db');

function enrol(s: Store, id: string, seed: number): string {
  const p = s.pseudonymise(id);
  s.consents.give(p, { noticeVersion: 'v1', channel: 'app', actorKeyId: null });
  // The use cases audit consent and enrolment (the store audits only erasures): as they would.
  s.audit.append({ action: 'consent.given', actorKeyId: null, subjectPseudonym: p, outcome: 'given' });
  s.voiceprints.completeEnrolment(p, { embedding: embedding(seed), modelId: 'm', sampleCount: 2, netSpeechSeconds: 20 });
  return p;
}

function templateBytes(s: Store, pseudonym: string): Buffer {
  const row = s.db.get<{ ciphertext: Uint8Array }>('SELECT t.ciphertext FROM templates t JOIN subjects s ON s.id = t.subject_id WHERE s.pseudonym = ?', [pseudonym])!;
  return Buffer.from(row.ciphertext);
}

describe('backupStore', () => {
  it('copies the live store to a new 0600 file, says which audit entry it ends at, and audits the backup', async () => {
    const s = openTestStore(dir, { clock });
    const kept = enrol(s, 'kept', 1);
    const erased = enrol(s, 'erased', 2);
    const erasedBytes = templateBytes(s, erased);
    s.erasure.erase(erased, { reason: 'subject-request', actorKeyId: null });
    const head = s.audit.head()!;
    const file = path.join(outside, 'vp.backup');

    const receipt = await backupStore(s, file, 'cli', null);
    expect(receipt).toEqual({ file, bytes: fs.statSync(file).size, sha256: sha256(file), encryption: { format: 'none' }, auditHead: head, auditSeq: head.seq + 1 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(s.audit.list({ action: 'store.backed-up' }).map((e) => [e.seq, e.actorKeyId, e.outcome, e.details])).toEqual([
      [head.seq + 1, 'cli', 'ok', { file: 'vp.backup', bytes: receipt.bytes, sha256: receipt.sha256, auditHeadSeq: head.seq, encryption: { format: 'none' } }],
    ]);
    // The copy holds the live voiceprint's ciphertext, not the erased one's (free pages are not copied).
    const bytes = fs.readFileSync(file);
    expect(bytes.indexOf(templateBytes(s, kept))).toBeGreaterThan(0);
    expect(bytes.indexOf(erasedBytes)).toBe(-1);
    const copy = Database.openReadOnly(file);
    expect(copy.integrityCheck()).toEqual([]);
    copy.close();
    s.close();
  });

  it('never overwrites: an existing file is refused and left as it was', async () => {
    const s = openTestStore(dir, { clock });
    const file = path.join(outside, 'exists');
    fs.writeFileSync(file, 'precious');
    await expect(backupStore(s, file, 'cli', null)).rejects.toMatchObject({ code: 'validation-failed', message: expect.stringMatching(/Cannot create the backup file .*exists/) });
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    expect(s.audit.list({ action: 'store.backed-up' })).toEqual([]);
    s.close();
  });
});

describe('restoreStore', () => {
  it('replaces the database, then erases again what was erased or withdrawn since the backup and revokes again the keys revoked since', async () => {
    const s = openTestStore(dir, { clock });
    const keyBefore = s.apiKeys.create({ role: 'telephony', name: 'ivr' }).record;
    const requested = enrol(s, 'asked-for-erasure', 1);
    const withdrawn = enrol(s, 'withdrew', 2);
    const staying = enrol(s, 'staying', 3);
    const requestedBytes = templateBytes(s, requested);
    const file = path.join(outside, 'vp.backup');
    const backup = await backupStore(s, file, 'cli', null);

    // After the backup: an erasure, a withdrawal, a revocation, a new key and a new enrolment.
    clock.advance(3_600_000);
    s.erasure.erase(requested, { reason: 'subject-request', actorKeyId: null });
    s.erasure.erase(withdrawn, { reason: 'consent-withdrawn', actorKeyId: null });
    s.apiKeys.revoke(keyBefore.id);
    s.audit.append({ action: 'key.revoked', actorKeyId: null, subjectPseudonym: null, outcome: 'ok', details: { keyId: keyBefore.id, role: 'telephony' } });
    const keyAfter = s.apiKeys.create({ role: 'operator', name: 'new' }).record;
    const late = enrol(s, 'enrolled-after', 4);
    const replacedHead = s.audit.head()!;
    s.close();

    clock.advance(3_600_000);
    // What a restore that crashed would have left behind: a staged copy of its backup.
    fs.mkdirSync(path.join(dir, '.restore-crashed'));
    fs.copyFileSync(file, path.join(dir, '.restore-crashed', 'voice-passport.db'));
    const receipt = await restoreStore({ actorKeyId: 'cli', dataDir: dir, file, clock });
    expect(receipt).toEqual({
      backup: { file, sha256: backup.sha256, encrypted: false, auditHead: backup.auditHead },
      reapplied: { from: 'database', upTo: replacedHead, erasures: 2, keyRevocations: 1 },
      auditSeq: backup.auditHead!.seq + 4,
      warnings: [],
    });
    // No staging folder (the crashed one's included), no stray files.
    expect(fs.readdirSync(dir).sort()).toEqual(['voice-passport.db']);

    const r = openTestStore(dir, { clock });
    expect(r.db.integrityCheck()).toEqual([]);
    expect(r.voiceprints.voiceprint(staying)?.embedding).toEqual(embedding(3));
    expect(r.voiceprints.voiceprint(requested)).toBeUndefined();
    expect(r.voiceprints.voiceprint(withdrawn)).toBeUndefined();
    expect([r.consents.current(requested)?.active, r.consents.current(withdrawn)?.active]).toEqual([false, false]);
    // What happened after the backup and was not an erasure is gone with the restore.
    expect(r.voiceprints.voiceprint(late)).toBeUndefined();
    expect(r.apiKeys.findById(keyAfter.id)).toBeUndefined();
    expect(r.apiKeys.findById(keyBefore.id)?.revokedAt).toBe('2026-05-01T10:00:00.000Z');
    const audit = r.audit.list({ afterSeq: backup.auditHead!.seq });
    expect(audit.map((e) => [e.action, e.actorKeyId, e.subjectPseudonym, e.outcome])).toEqual([
      ['subject.erased', 'cli', requested, 'erased'],
      ['consent.withdrawn', 'cli', withdrawn, 'erased'],
      ['key.revoked', 'cli', null, 'ok'],
      ['store.restored', 'cli', null, 'ok'],
    ]);
    expect(audit[2]!.details).toEqual({ keyId: keyBefore.id, role: 'telephony' });
    expect(audit[3]!.details).toEqual({ sha256: backup.sha256, backupAuditHeadSeq: backup.auditHead!.seq, reapplied: { from: 'database', upTo: replacedHead.seq, erasures: 2, keyRevocations: 1 } });
    expect(r.audit.verify().ok).toBe(true);
    r.close();
    // The erased voiceprint came back in the staged copy only to be erased there: it is nowhere in the data directory.
    expect(filesContaining(dir, requestedBytes)).toEqual([]);
  });

  it("erases again what an erasure of a subject with no row removed since the backup (a never-consenting caller's kept answer)", async () => {
    const s = openTestStore(dir, { clock });
    const stranger = s.pseudonymise('stranger');
    const key = s.apiKeys.create({ role: 'telephony' }).record;
    s.audit.append({ action: 'key.created', actorKeyId: null, subjectPseudonym: null, outcome: 'ok', details: { keyId: key.id } });
    s.idempotency.reserve(key.id, 'a'.repeat(64), 'verify', stranger);
    s.idempotency.complete(key.id, 'a'.repeat(64), 'b'.repeat(64), '{"decision":"no-consent"}');
    const file = path.join(outside, 'vp.backup');
    await backupStore(s, file, 'cli', null);
    expect(s.erasure.erase(stranger, { reason: 'subject-request', actorKeyId: null })).toMatchObject({ subjectKnown: false });
    s.close();
    const receipt = await restoreStore({ actorKeyId: 'cli', dataDir: dir, file, clock });
    expect(receipt.reapplied).toMatchObject({ from: 'database', erasures: 1 });
    const r = openTestStore(dir, { clock });
    expect(r.db.get<{ n: number }>('SELECT count(*) AS n FROM idempotent_requests')!.n).toBe(0);
    r.close();
  });

  it('refuses a database that is not a later state of the backup, and a damaged backup, changing nothing', async () => {
    const s = openTestStore(dir, { clock });
    enrol(s, 'a', 1);
    s.close();
    const otherDir = tempDataDir();
    try {
      const other = openTestStore(otherDir, { clock });
      enrol(other, 'b', 2);
      await backupStore(other, path.join(outside, 'other.backup'), 'cli', null);
      other.close();
    } finally {
      removeDir(otherDir);
    }
    const before = sha256(liveDb());
    await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file: path.join(outside, 'other.backup') })).rejects.toMatchObject(
      { code: 'config-invalid', message: expect.stringMatching(/not a later state of the backup .* Nothing was restored\./) },
    );
    expect(sha256(liveDb())).toBe(before);
    expect(fs.readdirSync(dir).sort()).toEqual(['voice-passport.db']);

    // A backup whose audit log was edited: its chain no longer holds.
    const own = openTestStore(dir, { clock });
    const file = path.join(outside, 'edited.backup');
    await backupStore(own, file, 'cli', null);
    own.close();
    const raw = fs.readFileSync(file);
    const at = raw.indexOf(Buffer.from('"consent.given"'.slice(1, -1)));
    expect(at).toBeGreaterThan(0);
    raw.write('consent.gone!', at, 'latin1'); // same length as consent.given
    fs.writeFileSync(file, raw);
    const unchanged = sha256(liveDb());
    await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file })).rejects.toMatchObject({ code: 'config-invalid', message: expect.stringMatching(/is damaged: .* Nothing was restored\./) });
    expect(sha256(liveDb())).toBe(unchanged);
    expect(fs.readdirSync(dir).sort()).toEqual(['voice-passport.db']);
    await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file: path.join(outside, 'missing') })).rejects.toMatchObject({ code: 'validation-failed' });
    // Not a database at all.
    const junk = path.join(outside, 'junk.backup');
    fs.writeFileSync(junk, 'this is not an SQLite file, but it is long enough to be read as one: '.repeat(100));
    await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file: junk })).rejects.toMatchObject({
      code: 'config-invalid',
      message: expect.stringMatching(/^The backup .*junk\.backup is damaged or not a Voice Passport database \(.*\)\. Nothing was restored\.$/),
    });
    expect(sha256(liveDb())).toBe(unchanged);
    expect(fs.readdirSync(dir).sort()).toEqual(['voice-passport.db']);
  });

  it('refuses while another process has the database open (the service running), changing nothing', async () => {
    const s = openTestStore(dir, { clock });
    enrol(s, 'a', 1);
    const file = path.join(outside, 'vp.backup');
    await backupStore(s, file, 'cli', null);
    const head = s.audit.head();
    await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file, clock })).rejects.toMatchObject(
      { code: 'config-invalid', message: expect.stringMatching(/is open in another process \(the service\?\): stop it, then restore\. Nothing was restored\./) },
    );
    // The open store goes on as before, and nothing was left behind.
    expect(s.audit.head()).toEqual(head);
    expect(s.db.integrityCheck()).toEqual([]);
    s.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['voice-passport.db']);
  });

  it('restores into an empty data directory, warning that later erasures must be applied by hand', async () => {
    const s = openTestStore(dir, { clock });
    const p = enrol(s, 'a', 1);
    const file = path.join(outside, 'vp.backup');
    const backup = await backupStore(s, file, 'cli', null);
    s.close();
    removeDir(dir);
    const receipt = await restoreStore({ actorKeyId: 'cli', dataDir: dir, file, clock });
    expect(receipt).toMatchObject({ reapplied: null, warnings: [expect.stringMatching(new RegExp(`^There was no database .* and no exported audit log \\(--audit-log\\): .* after seq ${backup.auditHead!.seq} of this backup`))] });
    const r = openTestStore(dir, { clock });
    expect(r.voiceprints.voiceprint(p)?.embedding).toEqual(embedding(1));
    r.close();
  });

  it('takes what to apply again from an exported audit log when the database is lost, if its chain continues the backup\'s', async () => {
    const s = openTestStore(dir, { clock });
    const requested = enrol(s, 'asked-for-erasure', 1);
    const staying = enrol(s, 'staying', 2);
    const file = path.join(outside, 'vp.backup');
    const backup = await backupStore(s, file, 'cli', null);
    clock.advance(60_000);
    s.erasure.erase(requested, { reason: 'subject-request', actorKeyId: null });
    enrol(s, 'later', 3);
    // The SIEM's copy: GET /v1/audit pages, and the same entries as JSON lines.
    const all = s.audit.list({ limit: 1000 });
    const pages = path.join(outside, 'audit-pages.json');
    fs.writeFileSync(pages, JSON.stringify([{ entries: all.slice(0, 3) }, { entries: all.slice(3) }]));
    const lines = path.join(outside, 'audit.jsonl');
    fs.writeFileSync(lines, all.map((e) => JSON.stringify(e)).join('\n'));
    const head = s.audit.head()!;
    s.close();

    const h = backup.auditHead!.seq;
    const erasedSeq = all.find((e) => e.action === 'subject.erased')!.seq;
    for (const [auditExport, edit, why] of [
      [path.join(outside, 'gap.json'), (es: typeof all) => es.filter((e) => e.seq !== h + 1), ` (seq ${h}): entry ${h + 1} is missing (next entry is ${h + 2})`],
      [
        path.join(outside, 'edited.json'),
        (es: typeof all) => es.map((e) => (e.action === 'subject.erased' ? { ...e, subjectPseudonym: staying } : e)),
        ` (seq ${h}): entry ${erasedSeq} was changed after it was written (hash mismatch)`,
      ],
      [path.join(outside, 'other.json'), (es: typeof all) => es.map((e) => (e.seq === h ? { ...e, hash: 'f'.repeat(64) } : e)), `: its entry ${h} is not the backup's newest`],
    ] as const) {
      fs.writeFileSync(auditExport, JSON.stringify(edit(all)));
      removeDir(dir);
      await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file, auditExport, clock }), auditExport).rejects.toMatchObject(
        { code: 'validation-failed', message: `The exported audit log ${auditExport} does not continue this backup's audit chain${why}. Nothing was restored.` },
      );
      expect(fs.existsSync(liveDb())).toBe(false);
    }

    // An export that does not record this backup (an empty one, or one taken before the backup) is
    // refused: it cannot say what was erased since.
    for (const [name, entries] of [
      ['empty.json', []],
      ['stale.json', all.filter((e) => e.seq <= h)],
    ] as const) {
      const auditExport = path.join(outside, name);
      fs.writeFileSync(auditExport, JSON.stringify(entries));
      removeDir(dir);
      await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file, auditExport, clock }), name).rejects.toMatchObject({
        code: 'validation-failed',
        message: expect.stringContaining(`does not record this backup (no store.backed-up entry with its sha256 ${backup.sha256} after its newest entry, seq ${h})`),
      });
      expect(fs.existsSync(liveDb())).toBe(false);
    }

    for (const auditExport of [pages, lines]) {
      removeDir(dir);
      const receipt = await restoreStore({ actorKeyId: 'cli', dataDir: dir, file, auditExport, clock });
      expect(receipt).toMatchObject({ reapplied: { from: 'audit-export', upTo: head, erasures: 1, keyRevocations: 0 }, warnings: [] });
      const r = openTestStore(dir, { clock });
      expect(r.voiceprints.voiceprint(requested)).toBeUndefined();
      expect(r.voiceprints.voiceprint(staying)?.embedding).toEqual(embedding(2));
      expect(r.audit.list({ afterSeq: backup.auditHead!.seq }).map((e) => [e.action, e.subjectPseudonym])).toEqual([
        ['subject.erased', requested],
        ['store.restored', null],
      ]);
      r.close();
    }

    // With a database there, its own log decides: an export beside it is refused.
    await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file, auditExport: lines, clock })).rejects.toMatchObject({ code: 'validation-failed', message: expect.stringMatching(/holds a database/) });
  });

  it('takes what to apply again from a pruned audit log that continues from the backup, and refuses one pruned past it', async () => {
    const s = openTestStore(dir, { clock });
    enrol(s, 'staying', 1);
    const requested = enrol(s, 'asked-for-erasure', 2);
    clock.advance(3_600_000);
    const file = path.join(outside, 'vp.backup');
    const backup = await backupStore(s, file, 'cli', null);
    clock.advance(3_600_000);
    s.erasure.erase(requested, { reason: 'subject-request', actorKeyId: null });
    // Pruned through the backup's newest entry: the log continues from it.
    s.audit.pruneBefore(new Date(Date.parse('2026-05-01T08:30:00.000Z')), { actorKeyId: null, retentionDays: 1 });
    expect(s.audit.prunedThrough()).toEqual(backup.auditHead);
    s.close();
    const before = sha256(liveDb());

    const receipt = await restoreStore({ actorKeyId: 'cli', dataDir: dir, file, clock });
    expect(receipt.reapplied).toMatchObject({ from: 'database', erasures: 1 });
    const r = openTestStore(dir, { clock });
    expect(r.voiceprints.voiceprint(requested)).toBeUndefined();
    // Pruned now past the backup's newest entry: through the restore's own entries after it.
    clock.advance(3_600_000);
    r.audit.pruneBefore(clock(), { actorKeyId: null, retentionDays: 1 });
    const through = r.audit.prunedThrough()!.seq;
    expect(through).toBe(receipt.auditSeq);
    r.close();
    const pruned = sha256(liveDb());
    expect(pruned).not.toBe(before);
    await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file, clock })).rejects.toMatchObject({
      code: 'config-invalid',
      message: `The database's audit log was pruned (VP_AUDIT_RETENTION_DAYS) through entry ${through}, past the backup's newest entry, seq ${backup.auditHead!.seq}, so the erasures recorded since the backup can no longer all be read from it. Move the database away and restore with the audit log exported since the backup (--audit-log). Nothing was restored.`,
    });
    expect(sha256(liveDb())).toBe(pruned);
  });

  it('warns when the backup is under another master key than the database it replaces', async () => {
    const s = openTestStore(dir, { clock });
    const p = enrol(s, 'a', 1);
    const file = path.join(outside, 'vp.backup');
    await backupStore(s, file, 'cli', null);
    s.close();
    const newKey = Buffer.alloc(32, 0x77).toString('base64');
    openStore({ dataDir: dir, env: { VP_MASTER_KEY: newKey, VP_PREVIOUS_MASTER_KEY: testMasterKey } }).close();
    const receipt = await restoreStore({ actorKeyId: 'cli', dataDir: dir, file, clock });
    expect(receipt.warnings).toEqual([expect.stringMatching(/under another master key .*\(VP_PREVIOUS_MASTER_KEY\)\.$/)]);
    // As it says: the backup opens with its own key, and rotates to the current one.
    expect(() => openStore({ dataDir: dir, env: { VP_MASTER_KEY: newKey } })).toThrow(expect.objectContaining({ code: 'config-invalid' }));
    const r = openStore({ dataDir: dir, env: { VP_MASTER_KEY: newKey, VP_PREVIOUS_MASTER_KEY: testMasterKey } });
    expect(r.voiceprints.voiceprint(p)?.embedding).toEqual(embedding(1));
    r.close();
  });
});

describe('encrypted backups (age)', () => {
  it('writes only ciphertext outside the data directory, and restores with the identity, applying erasures again', async () => {
    const s = openTestStore(dir, { clock });
    const kept = enrol(s, 'kept', 1);
    const requested = enrol(s, 'asked-for-erasure', 2);
    const keptBytes = templateBytes(s, kept);
    const { identity, recipient } = await newIdentity(clock());
    const stranger = await newIdentity(clock());
    const head = s.audit.head()!;
    const file = path.join(outside, 'vp.backup.age');

    const receipt = await backupStore(s, file, 'cli', [recipient]);
    const bytes = fs.readFileSync(file);
    expect(receipt).toEqual({ file, bytes: bytes.length, sha256: sha256(file), encryption: { format: 'age', recipients: [recipient] }, auditHead: head, auditSeq: head.seq + 1 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(bytes.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    // Neither a pseudonym, nor a template's ciphertext, nor SQLite's header is in the file.
    for (const needle of [Buffer.from(kept), keptBytes, Buffer.from('SQLite format 3')]) expect(bytes.indexOf(needle)).toBe(-1);
    // The plain copy it was made from is gone from the data directory.
    expect(fs.readdirSync(dir).filter((f) => !f.startsWith('voice-passport.db'))).toEqual([]);
    expect(s.audit.list({ action: 'store.backed-up' }).map((e) => e.details)).toEqual([
      { file: 'vp.backup.age', bytes: receipt.bytes, sha256: receipt.sha256, auditHeadSeq: head.seq, encryption: { format: 'age', recipients: [recipient] } },
    ]);
    s.erasure.erase(requested, { reason: 'subject-request', actorKeyId: null });
    const replacedHead = s.audit.head()!;
    s.close();

    const before = sha256(liveDb());
    for (const [identities, message] of [
      [[], `The backup ${file} is encrypted (age): give the identity file that opens it (--identity FILE). Nothing was restored.`],
      [[stranger.identity], `None of the identities given opens the backup ${file}: it was encrypted to other recipients. Nothing was restored.`],
    ] as const) {
      await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file, identities, clock })).rejects.toMatchObject({ code: 'validation-failed', message });
      expect([sha256(liveDb()), fs.readdirSync(dir).sort()]).toEqual([before, ['voice-passport.db']]);
    }

    const restored = await restoreStore({ actorKeyId: 'cli', dataDir: dir, file, identities: [stranger.identity, identity], clock });
    expect(restored).toEqual({
      backup: { file, sha256: receipt.sha256, encrypted: true, auditHead: head },
      reapplied: { from: 'database', upTo: replacedHead, erasures: 1, keyRevocations: 0 },
      // After the backup's head: the erasure applied again, then store.restored.
      auditSeq: head.seq + 2,
      warnings: [],
    });
    expect(fs.readdirSync(dir).sort()).toEqual(['voice-passport.db']);
    const r = openTestStore(dir, { clock });
    expect(r.voiceprints.voiceprint(kept)?.embedding).toEqual(embedding(1));
    expect(r.voiceprints.voiceprint(requested)).toBeUndefined();
    expect(r.audit.verify().ok).toBe(true);
    r.close();
  });

  it('leaves nothing behind when the encryption fails, and removes the plain copies of backups whose process is gone', async () => {
    const s = openTestStore(dir, { clock });
    enrol(s, 'a', 1);
    const file = path.join(outside, 'failed.age');
    await expect(backupStore(s, file, 'cli', ['age1notarecipient'])).rejects.toThrow();
    expect([fs.existsSync(file), fs.readdirSync(dir).filter((f) => !f.startsWith('voice-passport.db')), s.audit.list({ action: 'store.backed-up' })]).toEqual([false, [], []]);

    // Crashed backups' plain copies (a pid that no longer runs; this pid, but a process before this
    // one: a container's one-off command is pid 1 every time), and a running one's (this process).
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const running = `${ownBackupWorkPrefix()}running`;
    for (const name of [`.backup-${gone}-1700000000000-crashed`, `.backup-${process.pid}-1700000000000-crashed`, `.backup-${process.pid}-crashed`, running]) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'voice-passport.db'), 'a plain copy');
    }
    const { recipient } = await newIdentity(clock());
    await backupStore(s, path.join(outside, 'next.age'), 'cli', [recipient]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.backup-'))).toEqual([running]);
    s.close();
  });

  it('refuses an armored age file with the command that decrypts it, and warns when identities were given for a plain backup', async () => {
    const s = openTestStore(dir, { clock });
    enrol(s, 'a', 1);
    const plain = path.join(outside, 'plain.backup');
    await backupStore(s, plain, 'cli', null);
    s.close();
    const armored = path.join(outside, 'armored.age');
    fs.writeFileSync(armored, '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n');
    await expect(restoreStore({ actorKeyId: 'cli', dataDir: dir, file: armored, identities: [(await newIdentity(clock())).identity] })).rejects.toMatchObject({
      code: 'validation-failed',
      message: `The backup ${armored} is an ASCII-armored age file: decrypt it first (age -d -i IDENTITY_FILE ${armored} > backup.db) and restore that. Nothing was restored.`,
    });
    const receipt = await restoreStore({ actorKeyId: 'cli', dataDir: dir, file: plain, identities: [(await newIdentity(clock())).identity], clock });
    expect(receipt.warnings).toEqual([`The backup ${plain} is not encrypted; the identities given were not needed.`]);
  });
});
