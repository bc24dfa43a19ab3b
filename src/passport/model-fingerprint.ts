/**
 * A model id stands for one network. Voiceprints remember their model by id (the API's rule:
 * never score a voiceprint with another model), so the store also remembers which bytes that id ran
 * as: a different file registered later under the same id, in a fresh models folder or by hand,
 * would otherwise score the held voiceprints with another network, silently: embeddings of two
 * networks live in unrelated spaces, and their cosine means nothing.
 */
import { VoicePassportError } from '../errors.js';
import type { Store } from '../store/index.js';

export type FingerprintCheck =
  /** The first start with this model id on this store: its bytes are recorded. */
  | { kind: 'recorded' }
  | { kind: 'unchanged' }
  /** Other bytes than recorded, but no voiceprint or sample of the id is held: the new ones are recorded. */
  | { kind: 'replaced'; previousSha256: string };

/** Checks the running model's bytes against those its id ran as before; throws model-invalid where held voiceprints would be scored by another network. */
export function checkModelFingerprint(store: Pick<Store, 'modelFingerprints' | 'db'>, modelId: string, sha256: string): FingerprintCheck {
  return store.db.transaction(() => {
    const recorded = store.modelFingerprints.get(modelId);
    if (recorded === undefined) {
      store.modelFingerprints.record(modelId, sha256);
      return { kind: 'recorded' as const };
    }
    if (recorded.sha256 === sha256) return { kind: 'unchanged' as const };
    const held = store.modelFingerprints.biometricDataOf(modelId);
    if (held.voiceprints + held.enrolmentSamples > 0) {
      throw new VoicePassportError(
        'model-invalid',
        `Model "${modelId}" ran on this store as the file with sha256 ${recorded.sha256} (since ${recorded.recordedAt}); its file now has sha256 ${sha256}. ` +
          `The ${held.voiceprints} voiceprints and ${held.enrolmentSamples} enrolment samples made with the first would be scored by another network. ` +
          'Put the original file back, or register the new one under a new id (voice-passport models add FILE --id NEW) and run that: its subjects are then asked to enrol again.',
        { modelId, recordedSha256: recorded.sha256, sha256, ...held },
      );
    }
    store.modelFingerprints.record(modelId, sha256);
    return { kind: 'replaced' as const, previousSha256: recorded.sha256 };
  });
}
