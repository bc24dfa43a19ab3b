/** reKeySubjects: every subject re-keyed, page by page, only inside the caller's transaction. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyRing } from '../../src/store/crypto.js';
import { reKeySubjects } from '../../src/store/master-key-rotation.js';
import { embedding, movableClock, openTestStore, removeDir, tempDataDir, testMasterKey } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = tempDataDir();
});
afterEach(() => removeDir(dir));

const storeKey = Buffer.from(testMasterKey, 'base64');

describe('reKeySubjects', () => {
  it('re-keys subjects across several pages (1 203 of them) and stamps each new data key with the time', () => {
    const clock = movableClock('2026-03-01T00:00:00.000Z');
    const s = openTestStore(dir, { clock });
    const pseudonyms = Array.from({ length: 1203 }, (_, i) => s.pseudonymise(`c-${i}`));
    s.db.transaction(() => {
      pseudonyms.forEach((p, i) => {
        s.consents.give(p, { noticeVersion: 'v1', channel: 'ivr', actorKeyId: null });
        if (i % 3 === 0) s.voiceprints.addEnrolmentSample(p, { embedding: embedding(i), modelId: 'm', netSpeechSeconds: 5 });
        else s.voiceprints.completeEnrolment(p, { embedding: embedding(i), modelId: 'm', sampleCount: 2, netSpeechSeconds: 20 });
      });
    });
    clock.set('2026-04-01T12:00:00.000Z');
    const from = KeyRing.fromMasterKey(storeKey);
    const to = KeyRing.succeeding(from, Buffer.alloc(32, 0x42));
    const rotation = s.db.transaction(() => reKeySubjects(s.db, from, to, clock));
    expect(rotation).toEqual({ subjects: 1203, voiceprints: 802, enrolmentSamples: 401 });
    expect(s.db.all('SELECT DISTINCT created_at FROM subject_keys')).toEqual([{ created_at: '2026-04-01T12:00:00.000Z' }]);
    // Every data key now unwraps under the new ring only, and opens its subject's data.
    const rows = s.db.all<{ pseudonym: string; wrapped_key: Uint8Array }>('SELECT s.pseudonym, k.wrapped_key FROM subject_keys k JOIN subjects s ON s.id = k.subject_id');
    expect(rows).toHaveLength(1203);
    for (const r of rows) {
      expect(() => to.unwrapDataKey(r.wrapped_key, r.pseudonym)).not.toThrow();
      expect(() => from.unwrapDataKey(r.wrapped_key, r.pseudonym)).toThrow(expect.objectContaining({ code: 'internal' }));
    }
    s.close();
  });

  it('refuses to run outside a transaction, before touching anything', () => {
    const s = openTestStore(dir);
    const from = KeyRing.fromMasterKey(storeKey);
    expect(() => reKeySubjects(s.db, from, KeyRing.succeeding(from, Buffer.alloc(32, 1)), movableClock())).toThrow(TypeError);
    s.close();
  });
});
