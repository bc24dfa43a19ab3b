/**
 * Opening the store: database + migrations + repositories, wired with one clock.
 *
 * - `openStore` is the full store the server uses. It loads the master key (GDPR Art. 32(1)(a)) and
 *   checks it against the value recorded at first start, so a wrong VP_MASTER_KEY fails loudly at
 *   start instead of every subject silently becoming "not enrolled" (pseudonyms would all change).
 * - `openStoreWithoutMasterKey` is for CLI commands that never touch biometric data or customer ids
 *   (keys, audit verify, retention purge): they work on the server's data dir without its key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VoicePassportError } from '../errors.js';
import { ApiKeyRepository } from './api-key-repository.js';
import { AuditLog } from './audit-log.js';
import { systemClock, type Clock } from './clock.js';
import { ConsentRepository } from './consent-repository.js';
import { KeyRing } from './crypto.js';
import { Database } from './database.js';
import { SubjectErasure } from './erasure.js';
import { dataDirKeyFileName, loadMasterKey, type LoadedMasterKey, type MasterKeyEnv } from './master-key.js';
import { migrate } from './migrate.js';
import { PolicyRepository } from './policy-repository.js';
import { SubjectRepository } from './subject-repository.js';
import { VerificationRepository } from './verification-repository.js';
import { VoiceprintRepository } from './voiceprint-repository.js';

export interface StoreOptions {
  dataDir: string;
  /** Where VP_MASTER_KEY / VP_MASTER_KEY_FILE are read; default process.env. */
  env?: MasterKeyEnv;
  clock?: Clock;
  busyTimeoutMs?: number;
}

export interface StoreWithoutMasterKey {
  db: Database;
  schemaVersion: number;
  apiKeys: ApiKeyRepository;
  subjects: SubjectRepository;
  consents: ConsentRepository;
  verifications: VerificationRepository;
  policies: PolicyRepository;
  audit: AuditLog;
  erasure: SubjectErasure;
  close(): void;
}

export interface Store extends StoreWithoutMasterKey {
  /** Customer id → subject pseudonym (throws `validation-failed` for an id outside the allowed form). */
  pseudonymise(customerId: string): string;
  voiceprints: VoiceprintRepository;
  /** Where the key came from; log `warnings` at start (never the key). */
  masterKey: Omit<LoadedMasterKey, 'key'>;
}

const keyCheckMetaKey = 'master_key_check';

export function openStoreWithoutMasterKey(options: StoreOptions): StoreWithoutMasterKey {
  const clock = options.clock ?? systemClock;
  const db = Database.open({ dataDir: options.dataDir, ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }) });
  try {
    const { version } = migrate(db);
    const subjects = new SubjectRepository(db, clock);
    const consents = new ConsentRepository(db, subjects, clock);
    const audit = new AuditLog(db, clock);
    return {
      db,
      schemaVersion: version,
      apiKeys: new ApiKeyRepository(db, clock),
      subjects,
      consents,
      verifications: new VerificationRepository(db, clock),
      policies: new PolicyRepository(db, clock),
      audit,
      erasure: new SubjectErasure(db, consents, audit, clock),
      close: () => db.close(),
    };
  } catch (e) {
    db.close();
    throw e;
  }
}

export function openStore(options: StoreOptions): Store {
  const base = openStoreWithoutMasterKey(options);
  try {
    const recorded = base.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [keyCheckMetaKey])?.value;
    const env = options.env ?? process.env;
    if (recorded !== undefined && !env.VP_MASTER_KEY?.trim() && !env.VP_MASTER_KEY_FILE?.trim() && !dataDirKeyExists(options.dataDir)) {
      // Never generate a new key for a database made under another one: it could decrypt nothing.
      throw new VoicePassportError('config-invalid', 'This data directory was set up with a master key from VP_MASTER_KEY or VP_MASTER_KEY_FILE; set the same one.');
    }
    const loaded = loadMasterKey({ dataDir: options.dataDir, env });
    const keyRing = KeyRing.fromMasterKey(loaded.key);
    loaded.key.fill(0);
    if (recorded === undefined) {
      base.db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [keyCheckMetaKey, keyRing.checkValue]);
    }
    const expected = base.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [keyCheckMetaKey])!.value;
    if (expected !== keyRing.checkValue) {
      keyRing.dispose();
      throw new VoicePassportError('config-invalid', `The master key (from ${loaded.source}) is not the one this data directory was set up with; set VP_MASTER_KEY or VP_MASTER_KEY_FILE to the original key.`);
    }
    const { key: _key, ...masterKey } = loaded;
    return {
      ...base,
      pseudonymise: (customerId) => keyRing.pseudonymise(customerId),
      voiceprints: new VoiceprintRepository(base.db, keyRing, base.subjects, options.clock ?? systemClock),
      masterKey,
      close: () => {
        keyRing.dispose();
        base.close();
      },
    };
  } catch (e) {
    base.close();
    throw e;
  }
}

function dataDirKeyExists(dataDir: string): boolean {
  return fs.existsSync(path.join(dataDir, dataDirKeyFileName));
}

export * from './api-key-repository.js';
export * from './audit-log.js';
export * from './clock.js';
export * from './consent-repository.js';
export * from './database.js';
export * from './erasure.js';
export * from './policy-repository.js';
export * from './subject-repository.js';
export * from './verification-repository.js';
export * from './voiceprint-repository.js';
export { apiKeyRoles, customerIdPattern, type ApiKeyRole } from './crypto.js';
export type { LoadedMasterKey, MasterKeyEnv } from './master-key.js';
