/**
 * Opening a store's keys, and rotating the master key at start (NIST SP 800-57 Part 1 §5.3; GDPR
 * Art. 32(1)(a)): the whole store moves to the new key or none of it does, pseudonyms survive, the
 * old key opens nothing afterwards, and the old wrapped keys and ciphertexts are gone from the files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type MasterKeyEnv, type Store } from '../../src/store/index.js';
import { dataDirKeyFileName } from '../../src/store/master-key.js';
import { embedding, filesContaining, removeDir, tempDataDir, testMasterKey } from './helpers.js';

const keyA = testMasterKey;
const keyB = Buffer.alloc(32, 0xb0).toString('base64');
const keyC = Buffer.alloc(32, 0xc0).toString('base64');

let dir: string;
beforeEach(() => {
  dir = tempDataDir();
});
afterEach(() => removeDir(dir));

const open = (env: MasterKeyEnv): Store => openStore({ dataDir: dir, env });

interface Sealed {
  wrappedKeys: Buffer[];
  ciphertexts: Buffer[];
}

/** Every wrapped data key and every ciphertext, as bytes (what a rotation must replace). */
function sealedBytes(store: Store): Sealed {
  const bytes = (sql: string, column: string) => store.db.all<Record<string, Uint8Array>>(sql).map((r) => Buffer.from(r[column]!));
  return {
    wrappedKeys: bytes('SELECT wrapped_key FROM subject_keys ORDER BY subject_id', 'wrapped_key'),
    ciphertexts: [...bytes('SELECT ciphertext FROM templates ORDER BY subject_id', 'ciphertext'), ...bytes('SELECT ciphertext FROM enrolment_samples ORDER BY id', 'ciphertext')],
  };
}

/**
 * A store under key A holding: an enrolled subject, one enrolling (two samples), one with consent
 * only (no data key), one erased, and an enrolled subject whose voiceprint was replaced.
 */
function populate(env: MasterKeyEnv = { VP_MASTER_KEY: keyA }) {
  const s = open(env);
  const p = (id: string) => s.pseudonymise(id);
  const pseudonyms = { enrolled: p('enrolled'), enrolling: p('enrolling'), consentOnly: p('consent-only'), erased: p('erased'), reEnrolled: p('re-enrolled') };
  for (const q of Object.values(pseudonyms)) s.consents.give(q, { noticeVersion: 'v1', channel: 'app', actorKeyId: null });
  s.voiceprints.completeEnrolment(pseudonyms.enrolled, { embedding: embedding(1), modelId: 'm1', sampleCount: 2, netSpeechSeconds: 21 });
  s.voiceprints.addEnrolmentSample(pseudonyms.enrolling, { embedding: embedding(2), modelId: 'm1', netSpeechSeconds: 9 });
  s.voiceprints.addEnrolmentSample(pseudonyms.enrolling, { embedding: embedding(3), modelId: 'm1', netSpeechSeconds: 8 });
  s.voiceprints.completeEnrolment(pseudonyms.erased, { embedding: embedding(4), modelId: 'm1', sampleCount: 2, netSpeechSeconds: 20 });
  s.erasure.erase(pseudonyms.erased, { reason: 'subject-request', actorKeyId: null });
  s.voiceprints.completeEnrolment(pseudonyms.reEnrolled, { embedding: embedding(5), modelId: 'm1', sampleCount: 2, netSpeechSeconds: 20 });
  s.voiceprints.completeEnrolment(pseudonyms.reEnrolled, { embedding: embedding(6), modelId: 'm2', sampleCount: 3, netSpeechSeconds: 30 });
  const before = sealedBytes(s);
  s.close();
  return { pseudonyms, before };
}

/** What the subjects hold, decrypted. */
function contents(s: Store, pseudonyms: Record<string, string>) {
  return Object.fromEntries(
    Object.entries(pseudonyms).map(([name, q]) => [
      name,
      { voiceprint: s.voiceprints.voiceprint(q) ?? null, samples: s.voiceprints.enrolmentSamples(q).map((x) => [x.embedding, x.modelId, x.netSpeechSeconds]) },
    ]),
  );
}

function expectedContents() {
  const none = { voiceprint: null, samples: [] };
  const print = (seed: number, modelId: string, sampleCount: number, netSpeechSeconds: number) => ({
    voiceprint: { embedding: embedding(seed), modelId, sampleCount, netSpeechSeconds, formatVersion: 1, createdAt: expect.any(String) },
    samples: [],
  });
  return {
    enrolled: print(1, 'm1', 2, 21),
    enrolling: { voiceprint: null, samples: [[embedding(2), 'm1', 9], [embedding(3), 'm1', 8]] },
    consentOnly: none,
    erased: none,
    reEnrolled: print(6, 'm2', 3, 30),
  };
}

describe('openStore: master key rotation', () => {
  it('re-keys every subject under the new key, keeps pseudonyms and contents, audits it, and the old key opens nothing', () => {
    const { pseudonyms, before } = populate();
    const auditBefore = (() => {
      const s = open({ VP_MASTER_KEY: keyA });
      const n = s.audit.verify().entries;
      s.close();
      return n;
    })();

    const rotated = open({ VP_MASTER_KEY: keyB, VP_PREVIOUS_MASTER_KEY: keyA });
    expect(rotated.masterKeyRotation).toEqual({ subjects: 3, voiceprints: 2, enrolmentSamples: 2 });
    expect(rotated.masterKey.warnings).toEqual([expect.stringMatching(/^The store is now under the master key from VP_MASTER_KEY\. Unset VP_PREVIOUS_MASTER_KEY/)]);
    for (const [id, q] of [['enrolled', pseudonyms.enrolled], ['consent-only', pseudonyms.consentOnly]] as const) expect(rotated.pseudonymise(id)).toBe(q);
    expect(contents(rotated, pseudonyms)).toEqual(expectedContents());
    const after = sealedBytes(rotated);
    expect(after.wrappedKeys).toHaveLength(before.wrappedKeys.length);
    expect(after.ciphertexts).toHaveLength(before.ciphertexts.length);
    // Fresh data keys: every wrapped key and every ciphertext changed.
    for (const [old, now] of [...zip(before.wrappedKeys, after.wrappedKeys), ...zip(before.ciphertexts, after.ciphertexts)]) expect(now.equals(old)).toBe(false);
    const audit = rotated.audit.verify();
    expect(audit).toMatchObject({ ok: true, entries: auditBefore + 1 });
    expect(rotated.audit.list({ action: 'master-key.rotated' }).map((e) => [e.actorKeyId, e.subjectPseudonym, e.outcome, e.details])).toEqual([
      [null, null, 'ok', { subjects: 3, voiceprints: 2, enrolmentSamples: 2 }],
    ]);
    expect(rotated.db.integrityCheck()).toEqual([]);
    // The old bytes are nowhere in the data directory while the store is open (the rotation
    // checkpointed the WAL; closing would too, but a server runs on).
    for (const old of [...before.wrappedKeys, ...before.ciphertexts]) expect(filesContaining(dir, old)).toEqual([]);
    rotated.close();

    const reopened = open({ VP_MASTER_KEY: keyB });
    expect(reopened.masterKeyRotation).toBeNull();
    expect(reopened.masterKey.warnings).toEqual([]);
    expect(reopened.pseudonymise('enrolling')).toBe(pseudonyms.enrolling);
    expect(contents(reopened, pseudonyms)).toEqual(expectedContents());
    reopened.close();
    expect(() => open({ VP_MASTER_KEY: keyA })).toThrow(
      expect.objectContaining({ code: 'config-invalid', message: expect.stringMatching(/not the one the store in this data directory is under; .*VP_PREVIOUS_MASTER_KEY/) }),
    );
  });

  it('does nothing but warn when the previous key is still set after the rotation', () => {
    const { pseudonyms } = populate();
    open({ VP_MASTER_KEY: keyB, VP_PREVIOUS_MASTER_KEY: keyA }).close();
    const again = open({ VP_MASTER_KEY: keyB, VP_PREVIOUS_MASTER_KEY: keyA });
    const sealed = sealedBytes(again);
    expect(again.masterKeyRotation).toBeNull();
    expect(again.masterKey.warnings).toEqual([expect.stringMatching(/VP_PREVIOUS_MASTER_KEY is set, but this store is already under the current master key: nothing was rotated/)]);
    expect(again.audit.list({ action: 'master-key.rotated' })).toHaveLength(1);
    expect(contents(again, pseudonyms)).toEqual(expectedContents());
    again.close();
    const third = open({ VP_MASTER_KEY: keyB });
    expect(sealedBytes(third)).toEqual(sealed);
    third.close();
  });

  it('refuses a previous key that is not the store\'s, and writes nothing', () => {
    const { pseudonyms, before } = populate();
    expect(() => open({ VP_MASTER_KEY: keyB, VP_PREVIOUS_MASTER_KEY: keyC })).toThrow(
      expect.objectContaining({ code: 'config-invalid', message: expect.stringMatching(/neither is the previous key \(from VP_PREVIOUS_MASTER_KEY\)/) }),
    );
    const s = open({ VP_MASTER_KEY: keyA });
    expect(sealedBytes(s)).toEqual(before);
    expect(s.audit.list({ action: 'master-key.rotated' })).toEqual([]);
    expect(contents(s, pseudonyms)).toEqual(expectedContents());
    s.close();
  });

  it('rolls the whole rotation back when one stored voiceprint fails its integrity check', () => {
    const { pseudonyms, before } = populate();
    const s = open({ VP_MASTER_KEY: keyA });
    const damaged = Buffer.from(before.ciphertexts[1]!);
    damaged[0] = damaged[0]! ^ 1;
    s.db.run('UPDATE templates SET ciphertext = ? WHERE subject_id = (SELECT id FROM subjects WHERE pseudonym = ?)', [damaged, pseudonyms.reEnrolled]);
    const damagedState = sealedBytes(s);
    s.close();

    expect(() => open({ VP_MASTER_KEY: keyB, VP_PREVIOUS_MASTER_KEY: keyA })).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringMatching(/voiceprint failed its integrity check/) }),
    );
    const still = open({ VP_MASTER_KEY: keyA });
    expect(sealedBytes(still)).toEqual(damagedState);
    expect(still.voiceprints.voiceprint(pseudonyms.enrolled)?.embedding).toEqual(embedding(1));
    expect(still.audit.list({ action: 'master-key.rotated' })).toEqual([]);
    still.close();
  });

  it('rotates twice in a row (A → B → C) and away from a generated data-dir key', () => {
    const { pseudonyms } = populate({});
    const dataDirKey = path.join(dir, dataDirKeyFileName);
    expect(fs.existsSync(dataDirKey)).toBe(true);
    const toB = open({ VP_MASTER_KEY: keyB, VP_PREVIOUS_MASTER_KEY_FILE: dataDirKey });
    expect(toB.masterKeyRotation).toEqual({ subjects: 3, voiceprints: 2, enrolmentSamples: 2 });
    toB.close();
    const toC = open({ VP_MASTER_KEY: keyC, VP_PREVIOUS_MASTER_KEY: keyB });
    expect(toC.masterKeyRotation).toEqual({ subjects: 3, voiceprints: 2, enrolmentSamples: 2 });
    toC.close();
    const s = open({ VP_MASTER_KEY: keyC });
    expect(s.pseudonymise('enrolled')).toBe(pseudonyms.enrolled);
    expect(contents(s, pseudonyms)).toEqual(expectedContents());
    expect(s.audit.list({ action: 'master-key.rotated' })).toHaveLength(2);
    expect(s.audit.verify().ok).toBe(true);
    s.close();
    // Both earlier keys are refused, alone or as the previous key.
    for (const env of [{}, { VP_MASTER_KEY: keyB }, { VP_MASTER_KEY: keyA, VP_PREVIOUS_MASTER_KEY: keyB }]) {
      expect(() => open(env)).toThrow(expect.objectContaining({ code: 'config-invalid' }));
    }
  });

  it('keeps the pseudonyms of a store set up before the pseudonym key was stored, and rotates it', () => {
    const { pseudonyms } = populate();
    const legacy = open({ VP_MASTER_KEY: keyA });
    // Stores made before master key rotation existed recorded only the check value.
    legacy.db.run("DELETE FROM meta WHERE key = 'pseudonym_key_wrapped'");
    legacy.close();
    const reopened = open({ VP_MASTER_KEY: keyA });
    expect(reopened.pseudonymise('enrolled')).toBe(pseudonyms.enrolled);
    expect(reopened.db.get("SELECT 1 AS one FROM meta WHERE key = 'pseudonym_key_wrapped'")).toEqual({ one: 1 });
    reopened.db.run("DELETE FROM meta WHERE key = 'pseudonym_key_wrapped'");
    reopened.close();
    const rotated = open({ VP_MASTER_KEY: keyB, VP_PREVIOUS_MASTER_KEY: keyA });
    expect(rotated.pseudonymise('enrolling')).toBe(pseudonyms.enrolling);
    expect(contents(rotated, pseudonyms)).toEqual(expectedContents());
    rotated.close();
  });

  it('rotates an empty store (nothing to re-key) and records the new key', () => {
    open({ VP_MASTER_KEY: keyA }).close();
    const s = open({ VP_MASTER_KEY: keyB, VP_PREVIOUS_MASTER_KEY: keyA });
    expect(s.masterKeyRotation).toEqual({ subjects: 0, voiceprints: 0, enrolmentSamples: 0 });
    s.close();
    expect(() => open({ VP_MASTER_KEY: keyA })).toThrow(expect.objectContaining({ code: 'config-invalid' }));
  });
});

function zip<T>(a: T[], b: T[]): Array<[T, T]> {
  return a.map((x, i) => [x, b[i]!]);
}
