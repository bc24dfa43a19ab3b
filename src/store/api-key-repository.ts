/**
 * API keys (issue 3 "stored only as hashes", GDPR Art. 32(1)(b) access control). The secret is shown
 * once, at creation; the database holds its SHA-256. Authentication looks the key up by hash (an index
 * lookup on a hash of a 256-bit secret leaks nothing usable by timing) and re-checks the found row in
 * constant time.
 */
import { randomBytes } from 'node:crypto';
import { VoicePassportError } from '../errors.js';
import { isoNow, type Clock } from './clock.js';
import { apiKeyRoles, generateApiKeySecret, hashApiKey, hashesEqual, looksLikeApiKey, type ApiKeyRole } from './crypto.js';
import type { Database } from './database.js';

export interface ApiKeyRecord {
  /** Public identifier (`key_` + 16 hex): in listings, audit entries and `keys revoke ID`. */
  id: string;
  role: ApiKeyRole;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** When the key stops working; null when it does not expire. */
  expiresAt: string | null;
}

export interface CreatedApiKey {
  record: ApiKeyRecord;
  /** The secret. Not stored; this is the only time it exists outside the caller's hands. */
  key: string;
}

interface ApiKeyRow {
  id: string;
  role: ApiKeyRole;
  name: string;
  key_hash: Uint8Array;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
}

/**
 * last_used_at is refreshed at most this often: one write per request would cost an fsync on every
 * call (synchronous=FULL) for a field whose purpose, spotting unused keys, needs minutes, not ms.
 */
export const lastUsedResolutionMs = 60_000;

const columns = 'id, role, name, key_hash, created_at, last_used_at, revoked_at, expires_at';

/** The longest lifetime a key may be given. */
export const maxKeyLifetimeDays = 3650;

export class ApiKeyRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** `expiresAt` (ISO 8601): when the key stops working, after now and at most `maxKeyLifetimeDays` ahead. */
  create(input: { role: ApiKeyRole; name?: string; expiresAt?: string }): CreatedApiKey {
    if (!(apiKeyRoles as readonly string[]).includes(input.role)) {
      throw new VoicePassportError('validation-failed', `The role must be one of ${apiKeyRoles.join(', ')}.`, { role: input.role });
    }
    const name = (input.name ?? input.role).trim();
    if (name.length < 1 || name.length > 200) {
      throw new VoicePassportError('validation-failed', 'A key name is 1-200 characters.');
    }
    const now = this.clock();
    const expiresAt = input.expiresAt === undefined ? null : Date.parse(input.expiresAt);
    if (expiresAt !== null && !(expiresAt > now.getTime() && expiresAt <= now.getTime() + maxKeyLifetimeDays * 86_400_000)) {
      throw new VoicePassportError('validation-failed', `A key's expiry must be a time after now and at most ${maxKeyLifetimeDays} days ahead.`, { expiresAt: input.expiresAt });
    }
    const key = generateApiKeySecret(input.role);
    const id = `key_${randomBytes(8).toString('hex')}`;
    this.db.run('INSERT INTO api_keys (id, role, name, key_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
      id,
      input.role,
      name,
      hashApiKey(key),
      now.toISOString(),
      expiresAt === null ? null : new Date(expiresAt).toISOString(),
    ]);
    return { record: this.findById(id)!, key };
  }

  list(): ApiKeyRecord[] {
    return this.db.all<ApiKeyRow>(`SELECT ${columns} FROM api_keys ORDER BY created_at, id`).map(toRecord);
  }

  findById(id: string): ApiKeyRecord | undefined {
    const row = this.db.get<ApiKeyRow>(`SELECT ${columns} FROM api_keys WHERE id = ?`, [id]);
    return row && toRecord(row);
  }

  /** Finds a key (revoked or not) by the SHA-256 of its secret. */
  findByHash(keyHash: Uint8Array): ApiKeyRecord | undefined {
    const row = this.db.get<ApiKeyRow>(`SELECT ${columns} FROM api_keys WHERE key_hash = ?`, [keyHash]);
    return row && hashesEqual(row.key_hash, keyHash) ? toRecord(row) : undefined;
  }

  /**
   * The active key for a presented secret, or undefined (unknown, malformed, revoked or expired: the
   * caller answers 401 in every case and does not say which). Refreshes last_used_at.
   */
  authenticate(secret: string): ApiKeyRecord | undefined {
    if (!looksLikeApiKey(secret)) return undefined;
    const record = this.findByHash(hashApiKey(secret));
    const now = this.clock();
    if (record === undefined || !isActive(record, now)) return undefined;
    if (record.lastUsedAt === null || now.getTime() - Date.parse(record.lastUsedAt) >= lastUsedResolutionMs) {
      const nowIso = now.toISOString();
      this.db.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', [nowIso, record.id]);
      record.lastUsedAt = nowIso;
    }
    return record;
  }

  /** Revokes a key; revoking twice keeps the first time. Undefined when no such key. */
  revoke(id: string): ApiKeyRecord | undefined {
    this.db.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [isoNow(this.clock), id]);
    return this.findById(id);
  }

  /** Keys in force now: neither revoked nor expired. */
  listActive(): ApiKeyRecord[] {
    const now = this.clock();
    return this.list().filter((k) => isActive(k, now));
  }

  /** True while the key is neither revoked nor expired (by this store's clock). */
  isActive(id: string): boolean {
    const key = this.findById(id);
    return key !== undefined && isActive(key, this.clock());
  }

  countActive(role?: ApiKeyRole): number {
    return this.listActive().filter((k) => role === undefined || k.role === role).length;
  }
}

/** Neither revoked nor expired at `now`. */
function isActive(key: ApiKeyRecord, now: Date): boolean {
  return key.revokedAt === null && (key.expiresAt === null || now.getTime() < Date.parse(key.expiresAt));
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return { id: row.id, role: row.role, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at, expiresAt: row.expires_at };
}
