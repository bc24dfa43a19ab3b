/** The running model's bytes against those its id ran as before on the store (src/passport/model-fingerprint.ts). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkModelFingerprint } from '../../src/passport/model-fingerprint.js';
import type { Store } from '../../src/store/index.js';
import { embedding, movableClock, openTestStore, removeDir, tempDataDir, type MovableClock } from '../store/helpers.js';

const first = 'a1'.repeat(32);
const second = 'b2'.repeat(32);
let dir: string;
let clock: MovableClock;
let store: Store;
beforeEach(() => {
  dir = tempDataDir();
  clock = movableClock('2026-01-01T00:00:00.000Z');
  store = openTestStore(dir, { clock });
});
afterEach(() => {
  store.close();
  removeDir(dir);
});

const consented = (id: string) => {
  const p = store.pseudonymise(id);
  store.consents.give(p, { noticeVersion: 'v2', channel: 'app', actorKeyId: null });
  return p;
};

describe('checkModelFingerprint', () => {
  it('records the first bytes an id runs as, and finds them unchanged on the next start', () => {
    expect(checkModelFingerprint(store, 'm', first)).toEqual({ kind: 'recorded' });
    expect(store.modelFingerprints.get('m')).toEqual({ modelId: 'm', sha256: first, recordedAt: '2026-01-01T00:00:00.000Z' });
    clock.advance(60_000);
    expect(checkModelFingerprint(store, 'm', first)).toEqual({ kind: 'unchanged' });
    expect(store.modelFingerprints.get('m')?.recordedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('other bytes under the id while none of its voiceprints or samples is held: recorded, saying what it replaced', () => {
    checkModelFingerprint(store, 'm', first);
    // Data of another model does not tie this id.
    store.voiceprints.completeEnrolment(consented('other'), { embedding: embedding(1), modelId: 'other-model', sampleCount: 1, netSpeechSeconds: 9 });
    clock.advance(60_000);
    expect(checkModelFingerprint(store, 'm', second)).toEqual({ kind: 'replaced', previousSha256: first });
    expect(store.modelFingerprints.get('m')).toEqual({ modelId: 'm', sha256: second, recordedAt: '2026-01-01T00:01:00.000Z' });
  });

  it('other bytes under an id whose voiceprints or samples are held: refused with model-invalid, nothing recorded', () => {
    checkModelFingerprint(store, 'm', first);
    store.voiceprints.completeEnrolment(consented('enrolled'), { embedding: embedding(1), modelId: 'm', sampleCount: 2, netSpeechSeconds: 12 });
    store.voiceprints.addEnrolmentSample(consented('enrolling'), { embedding: embedding(2), modelId: 'm', netSpeechSeconds: 5 });
    const refusal = expect.objectContaining({
      code: 'model-invalid',
      message:
        `Model "m" ran on this store as the file with sha256 ${first} (since 2026-01-01T00:00:00.000Z); its file now has sha256 ${second}. ` +
        'The 1 voiceprints and 1 enrolment samples made with the first would be scored by another network. ' +
        'Put the original file back, or register the new one under a new id (voice-passport models add FILE --id NEW) and run that: its subjects are then asked to enrol again.',
      details: { modelId: 'm', recordedSha256: first, sha256: second, voiceprints: 1, enrolmentSamples: 1 },
    });
    expect(() => checkModelFingerprint(store, 'm', second)).toThrow(refusal);
    expect(store.modelFingerprints.get('m')?.sha256).toBe(first);
    // A sample alone ties the id too.
    store.erasure.erase(store.pseudonymise('enrolled'), { reason: 'subject-request', actorKeyId: null });
    expect(() => checkModelFingerprint(store, 'm', second)).toThrow(expect.objectContaining({ code: 'model-invalid', details: expect.objectContaining({ voiceprints: 0, enrolmentSamples: 1 }) }));
    // Once nothing of the id is held, the new bytes may run.
    store.erasure.erase(store.pseudonymise('enrolling'), { reason: 'subject-request', actorKeyId: null });
    expect(checkModelFingerprint(store, 'm', second)).toEqual({ kind: 'replaced', previousSha256: first });
  });
});
