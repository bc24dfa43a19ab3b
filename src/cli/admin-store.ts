/**
 * The store as the administrative commands (keys, purge, audit verify) open it: on the server's own
 * VP_DATA_DIR, without the master key, because none of them reads biometric data or customer ids
 * (GDPR Art. 32(1)(b): the fewer processes hold the key, the better). WAL mode and the busy timeout
 * let them run while the server is up.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VoicePassportError } from '../errors.js';
import type { Actor } from '../passport/context.js';
import { databaseFileName, openStoreWithoutMasterKey, type StoreWithoutMasterKey } from '../store/index.js';

/**
 * The audit log's actor for commands run here: whoever can run them can read the data dir, so there is
 * no API key to name; "cli" tells these entries apart from the API's (key ids) and the timer's (null).
 */
export const cliActor: Actor = { keyId: 'cli', role: 'admin' };

/**
 * `mustExist`: commands that only read or erase refuse a data dir without a database, so a mistyped
 * VP_DATA_DIR cannot report "audit chain ok, 0 entries" on a fresh empty file.
 */
export function openAdminStore(dataDir: string, options: { mustExist: boolean }): StoreWithoutMasterKey {
  const file = path.join(dataDir, databaseFileName);
  if (options.mustExist && !fs.existsSync(file)) {
    throw new VoicePassportError('config-invalid', `There is no database at ${file}; set VP_DATA_DIR to the server's data directory.`);
  }
  return openStoreWithoutMasterKey({ dataDir });
}

/** Runs `fn` on an opened admin store and always closes it (close also checkpoints the WAL). */
export function withAdminStore<T>(dataDir: string, options: { mustExist: boolean }, fn: (store: StoreWithoutMasterKey) => T): T {
  const store = openAdminStore(dataDir, options);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}
