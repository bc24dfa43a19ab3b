/**
 * Which key ring opens a store, decided once at start from the master key check value recorded at the
 * store's first start (so a wrong key fails loudly instead of every subject silently becoming "not
 * enrolled") and the wrapped pseudonym key kept beside it:
 *   - a new store records the current key's check value and pseudonym key;
 *   - the recorded key is the current one: open with it (a store from before the pseudonym key was
 *     kept wrapped gets it now, derived from that same first key);
 *   - the recorded key is the previous one (VP_PREVIOUS_MASTER_KEY[_FILE]): rotate to the current
 *     one (master-key-rotation.ts), record it, audit it;
 *   - anything else is refused with config-invalid, and nothing is written.
 * All of it runs in one IMMEDIATE transaction, so two processes starting at once see one decision.
 */
import { VoicePassportError } from '../errors.js';
import type { AuditLog } from './audit-log.js';
import type { Clock } from './clock.js';
import { KeyRing, masterKeyCheckValue } from './crypto.js';
import type { Database } from './database.js';
import { checkValueMetaKey, recordedCheckValue } from './master-key-check.js';
import { reKeySubjects, type MasterKeyRotation } from './master-key-rotation.js';

const pseudonymKeyMetaKey = 'pseudonym_key_wrapped';

export interface StoreKeyRingInput {
  db: Database;
  audit: AuditLog;
  clock: Clock;
  /** The configured master key, and where it came from (for messages). */
  current: { key: Uint8Array; source: string };
  /** The key a rotation moves away from, when one is configured. */
  previous: { key: Uint8Array; source: string } | null;
}

export interface StoreKeyRing {
  ring: KeyRing;
  /** Set when this start rotated the store to the current master key. */
  rotation: MasterKeyRotation | null;
  /** For the operator log (never key material). */
  warnings: string[];
}

/** Opens (or sets up, or rotates) the store's keys. The caller checkpoints after a rotation. */
export function openStoreKeyRing(input: StoreKeyRingInput): StoreKeyRing {
  const { db, current, previous } = input;
  const currentCheck = masterKeyCheckValue(current.key);
  return db.transaction(() => {
    const setMeta = (key: string, value: string) =>
      db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
    const recorded = recordedCheckValue(db);
    const stored = db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [pseudonymKeyMetaKey])?.value;
    const storedPseudonymKey = stored === undefined ? undefined : Buffer.from(stored, 'base64');

    if (recorded === undefined || recorded === currentCheck) {
      const ring = KeyRing.fromMasterKey(current.key, storedPseudonymKey);
      if (recorded === undefined) setMeta(checkValueMetaKey, currentCheck);
      if (stored === undefined) setMeta(pseudonymKeyMetaKey, ring.wrappedPseudonymKey().toString('base64'));
      const warnings =
        previous === null
          ? []
          : [`${previous.source} is set, but this store is already under the current master key: nothing was rotated. Unset ${previous.source} and destroy the previous key once no backup needs it.`];
      return { ring, rotation: null, warnings };
    }

    if (previous === null || masterKeyCheckValue(previous.key) !== recorded) {
      throw new VoicePassportError(
        'config-invalid',
        `The master key (from ${current.source}) is not the one the store in this data directory is under` +
          (previous === null
            ? '; set VP_MASTER_KEY or VP_MASTER_KEY_FILE to that key (to rotate to a new key, set the new one there and the current one in VP_PREVIOUS_MASTER_KEY or VP_PREVIOUS_MASTER_KEY_FILE).'
            : `, and neither is the previous key (from ${previous.source}).`),
      );
    }
    const from = KeyRing.fromMasterKey(previous.key, storedPseudonymKey);
    const ring = KeyRing.succeeding(from, current.key);
    try {
      const rotation = reKeySubjects(db, from, ring, input.clock);
      setMeta(checkValueMetaKey, currentCheck);
      setMeta(pseudonymKeyMetaKey, ring.wrappedPseudonymKey().toString('base64'));
      input.audit.append({ action: 'master-key.rotated', actorKeyId: null, subjectPseudonym: null, outcome: 'ok', details: { ...rotation } });
      return {
        ring,
        rotation,
        warnings: [`The store is now under the master key from ${current.source}. Unset ${previous.source} and destroy the previous key once no backup needs it: backups taken before now still open with it.`],
      };
    } catch (e) {
      ring.dispose();
      throw e;
    } finally {
      from.dispose();
    }
  });
}
