/**
 * API key administration (GDPR Art. 32(1)(b): access control to the processing systems). Secrets
 * are shown once, at creation; the store keeps only their SHA-256. Every creation and revocation is
 * audited.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import { apiKeyRoles, type ApiKeyRecord, type ApiKeyRole, type Store } from '../store/index.js';
import type { Actor } from './context.js';

export const createKeySchema = z
  .object({
    role: z.enum(apiKeyRoles),
    // Printed in key lists, the console and terminals: no control characters (escape sequences) and
    // no bidirectional overrides or isolates, which can make one name read as another (CVE-2021-42574).
    name: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .refine((n) => !/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(n), 'a key name may not hold control characters or bidirectional overrides')
      .optional(),
    /** When the key stops working (ISO 8601 with offset); omitted: it does not expire. */
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export type CreateKeyInput = z.infer<typeof createKeySchema>;

/** What key administration needs: no master key, so the CLI can run it on the server's data dir. */
export type KeyAdminStore = Pick<Store, 'db' | 'apiKeys' | 'audit'>;

export interface CreatedKeyResponse extends ApiKeyRecord {
  /** The secret: shown this once, never stored. */
  key: string;
}

export function listKeys(store: KeyAdminStore): { keys: ApiKeyRecord[] } {
  return { keys: store.apiKeys.list() };
}

/** The keys in force now that have a lifetime, with their expiry (for the metric an alert watches). */
export function activeKeyExpiries(store: KeyAdminStore): Array<{ id: string; role: ApiKeyRole; expiresAt: string }> {
  return store.apiKeys.listActive().flatMap((k) => (k.expiresAt === null ? [] : [{ id: k.id, role: k.role, expiresAt: k.expiresAt }]));
}

export function createKey(store: KeyAdminStore, actor: Actor | null, input: CreateKeyInput): CreatedKeyResponse {
  return store.db.transaction(() => {
    const created = store.apiKeys.create({
      role: input.role,
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.expiresAt === undefined ? {} : { expiresAt: input.expiresAt }),
    });
    store.audit.append({
      action: 'key.created',
      actorKeyId: actor?.keyId ?? null,
      subjectPseudonym: null,
      outcome: 'ok',
      details: { keyId: created.record.id, role: created.record.role, name: created.record.name, expiresAt: created.record.expiresAt },
    });
    return { ...created.record, key: created.key };
  });
}

/**
 * `allowLastAdmin`: the CLI (someone with access to the data dir) may revoke the last admin key, e.g.
 * a leaked one, and then create a new one; over the API that would lock every admin out.
 */
export function revokeKey(store: KeyAdminStore, actor: Actor, keyId: string, options: { allowLastAdmin?: boolean } = {}): ApiKeyRecord {
  return store.db.transaction(() => {
    const existing = store.apiKeys.findById(keyId);
    if (existing === undefined) throw new VoicePassportError('not-found', `There is no API key "${keyId.slice(0, 40)}".`);
    if (existing.revokedAt !== null) return existing;
    // Revoking the last admin key would leave nobody able to manage keys over the API.
    if (existing.role === 'admin' && !options.allowLastAdmin && store.apiKeys.countActive('admin') <= 1) {
      throw new VoicePassportError('validation-failed', 'This is the last active admin key; create another admin key before revoking it (or use `voice-passport keys revoke`).');
    }
    const revoked = store.apiKeys.revoke(keyId)!;
    store.audit.append({ action: 'key.revoked', actorKeyId: actor.keyId, subjectPseudonym: null, outcome: 'ok', details: { keyId, role: existing.role } });
    return revoked;
  });
}

export const initialKeysFileName = 'initial-api-keys.json';

/**
 * First start with no keys at all: one key per role, written once to `<dataDir>/initial-api-keys.json`
 * (mode 0600, so only the service account can read it). The caller logs the path, never the keys.
 * Returns undefined when keys already exist.
 */
export function bootstrapApiKeys(store: Store, dataDir: string): { file: string; keys: Array<{ id: string; role: ApiKeyRole }> } | undefined {
  if (store.apiKeys.list().length > 0) return undefined;
  const created = apiKeyRoles.map((role) => createKey(store, null, { role, name: `initial ${role} key` }));
  const file = path.join(dataDir, initialKeysFileName);
  const tmp = `${file}.${process.pid}.tmp`;
  const body = {
    note: 'Created at first start. Store these keys in your secret manager, then delete this file. They are not shown again.',
    keys: created.map((k) => ({ id: k.id, role: k.role, key: k.key })),
  };
  fs.writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return { file, keys: created.map((k) => ({ id: k.id, role: k.role })) };
}
