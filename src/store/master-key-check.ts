/**
 * The check value of the master key a store is under, as `meta` records it (crypto.ts,
 * masterKeyCheckValue): read at start to refuse a wrong key, and by a running service to notice
 * that another process rotated the store (store-key-ring.ts).
 */
import type { Database } from './database.js';

export const checkValueMetaKey = 'master_key_check';

/** Undefined before the store's first start with a master key. */
export function recordedCheckValue(db: Database): string | undefined {
  return db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [checkValueMetaKey])?.value;
}
