/**
 * Opening the store: database + migrations + repositories, wired with one clock.
 *
 * - `openStore` is the full store the server uses. It loads the master key (GDPR Art. 32(1)(a)) and
 *   opens the store's keys with it (store-key-ring.ts: a wrong key is refused, a previous one
 *   configured beside it rotates the store).
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
import { Database } from './database.js';
import { SubjectErasure } from './erasure.js';
import { IdempotencyRepository } from './idempotency-repository.js';
import { dataDirKeyFileName, loadMasterKey, loadPreviousMasterKey, type LoadedMasterKey, type MasterKeyEnv } from './master-key.js';
import type { MasterKeyRotation } from './master-key-rotation.js';
import { recordedCheckValue } from './master-key-check.js';
import { migrate } from './migrate.js';
import { ModelFingerprintRepository } from './model-fingerprint-repository.js';
import { PolicyRepository } from './policy-repository.js';
import { openStoreKeyRing, type StoreKeyRing } from './store-key-ring.js';
import { SubjectRepository } from './subject-repository.js';
import { VerificationOutcomeRepository } from './outcome-repository.js';
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
  outcomes: VerificationOutcomeRepository;
  idempotency: IdempotencyRepository;
  policies: PolicyRepository;
  modelFingerprints: ModelFingerprintRepository;
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
  /** What this start re-keyed, when it rotated the store to a new master key; else null. */
  masterKeyRotation: MasterKeyRotation | null;
  /** False once another process has rotated the store to another master key (readiness: restart with it). */
  masterKeyCurrent(): boolean;
}

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
      outcomes: new VerificationOutcomeRepository(db, clock),
      idempotency: new IdempotencyRepository(db, clock),
      policies: new PolicyRepository(db, clock),
      modelFingerprints: new ModelFingerprintRepository(db, clock),
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
  const clock = options.clock ?? systemClock;
  try {
    const env = options.env ?? process.env;
    if (recordedCheckValue(base.db) !== undefined && !env.VP_MASTER_KEY?.trim() && !env.VP_MASTER_KEY_FILE?.trim() && !dataDirKeyExists(options.dataDir)) {
      // Never generate a new key for a database made under another one: it could decrypt nothing.
      throw new VoicePassportError('config-invalid', 'This data directory was set up with a master key from VP_MASTER_KEY or VP_MASTER_KEY_FILE; set the same one.');
    }
    const previous = loadPreviousMasterKey(env);
    let loaded: LoadedMasterKey;
    try {
      loaded = loadMasterKey({ dataDir: options.dataDir, env });
    } catch (e) {
      // The raw keys live no longer than the key ring's making, a failed start included.
      previous?.key.fill(0);
      throw e;
    }
    let opened: StoreKeyRing;
    try {
      opened = openStoreKeyRing({
        db: base.db,
        audit: base.audit,
        clock,
        current: { key: loaded.key, source: loaded.source },
        previous: previous && { key: previous.key, source: previous.source },
      });
    } finally {
      loaded.key.fill(0);
      previous?.key.fill(0);
    }
    const { ring: keyRing, rotation } = opened;
    // The old wrapped keys and ciphertexts leave the -wal file as erasures' do.
    if (rotation !== null) base.db.checkpoint();
    const { key: _key, ...masterKey } = loaded;
    return {
      ...base,
      pseudonymise: (customerId) => keyRing.pseudonymise(customerId),
      voiceprints: new VoiceprintRepository(base.db, keyRing, base.subjects, clock),
      masterKey: { ...masterKey, warnings: [...masterKey.warnings, ...(previous?.warnings ?? []), ...opened.warnings] },
      masterKeyRotation: rotation,
      masterKeyCurrent: () => recordedCheckValue(base.db) === keyRing.checkValue,
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
export * from './idempotency-repository.js';
export * from './model-fingerprint-repository.js';
export * from './outcome-repository.js';
export * from './policy-repository.js';
export * from './subject-repository.js';
export * from './verification-repository.js';
export * from './voiceprint-repository.js';
export { apiKeyRoles, customerIdPattern, type ApiKeyRole } from './crypto.js';
export type { LoadedMasterKey, MasterKeyEnv } from './master-key.js';
export type { MasterKeyRotation } from './master-key-rotation.js';
