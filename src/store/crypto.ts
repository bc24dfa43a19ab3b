/**
 * Key hierarchy and template encryption (GDPR Art. 32(1)(a) "encryption of personal data"; Art. 9
 * special-category data; ISO/IEC 24745 biometric information protection: confidentiality,
 * renewability and unlinkability of stored references).
 *
 *   master key (32 bytes, outside the database: VP_MASTER_KEY / VP_MASTER_KEY_FILE)
 *     ├─ HKDF "data-key-wrap"     → AES-256-GCM key wrapping each subject's data key and the pseudonym key
 *     └─ HKDF "key-check"         → check value stored in the database: a wrong master key is refused
 *   pseudonym key (HMAC key: customer id → subject pseudonym, Art. 4(5), 25), stored wrapped
 *   per-subject data key (random 32 bytes, stored only wrapped)
 *     └─ AES-256-GCM over each embedding; the AAD binds purpose, subject pseudonym, model id and
 *        format version, so a ciphertext moved to another subject, model or slot fails to decrypt.
 *
 * The pseudonym key is HKDF "subject-pseudonym" of the store's *first* master key and from then on
 * travels wrapped, so a rotated master key (master-key-rotation.ts) keeps every pseudonym: they are
 * the store's keys and the audit chain's subject references, and the customer ids needed to remake
 * them are never stored. Separate HKDF outputs (RFC 5869) keep one key per purpose (NIST SP 800-57
 * key separation): the pseudonym key can be disclosed to a bank's own systems without exposing the
 * wrapping key. Erasure deletes the wrapped data key with the rows, so any stray copy of a
 * ciphertext is unreadable.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { VoicePassportError } from '../errors.js';

export const masterKeyBytes = 32;
const ivBytes = 12; // NIST SP 800-38D: 96-bit random IVs
const tagBytes = 16;
const wrappedKeyVersion = 1;
/** Layout of a wrapped key (data key or pseudonym key): version byte ‖ IV ‖ ciphertext ‖ tag. */
export const wrappedKeyBytes = 1 + ivBytes + masterKeyBytes + tagBytes;
/** Bumped if the embedding serialisation or AAD layout changes; it is part of the AAD. */
export const embeddingFormatVersion = 1;

/** Issue 3: "the bank's customer id (opaque string, 1–128 chars of [A-Za-z0-9._:-])". */
export const customerIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

const hkdfSalt = Buffer.from('voice-passport/hkdf-salt/v1', 'utf8');
const keyCheckMessage = Buffer.from('voice-passport/master-key-check/v1', 'utf8');

export type EmbeddingPurpose = 'template' | 'enrolment-sample';

/** What an embedding's ciphertext is bound to (GCM additional authenticated data). */
export interface EmbeddingBinding {
  purpose: EmbeddingPurpose;
  subjectPseudonym: string;
  modelId: string;
}

export interface SealedEmbedding {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
  formatVersion: number;
}

/** The keys a master key opens: its wrapping key and check value, and the store's pseudonym key. The master key itself is not kept. */
export class KeyRing {
  /** Hex HMAC of a fixed message: stored in the database to detect a wrong master key at start. */
  readonly checkValue: string;
  private readonly pseudonymKey: Buffer;
  private readonly wrappingKey: Buffer;

  private constructor(pseudonymKey: Buffer, wrappingKey: Buffer, checkValue: string) {
    this.pseudonymKey = pseudonymKey;
    this.wrappingKey = wrappingKey;
    this.checkValue = checkValue;
  }

  /**
   * The ring of a master key. `wrappedPseudonymKey` is the store's pseudonym key as
   * `wrappedPseudonymKey()` stored it under this master key; without it the pseudonym key is derived
   * from this master key, which is right only for the master key a store was set up with.
   */
  static fromMasterKey(masterKey: Uint8Array, wrappedPseudonymKey?: Uint8Array): KeyRing {
    const { wrappingKey, checkValue } = masterKeyParts(masterKey);
    if (wrappedPseudonymKey === undefined) return new KeyRing(deriveKey(masterKey, 'subject-pseudonym'), wrappingKey, checkValue);
    try {
      return new KeyRing(unwrapKey(wrappingKey, wrappedPseudonymKey, pseudonymKeyAad(), 'pseudonym key'), wrappingKey, checkValue);
    } catch (e) {
      wrappingKey.fill(0);
      throw e;
    }
  }

  /** The ring after a master key rotation: the new master key's wrapping key, `previous`'s pseudonym key. */
  static succeeding(previous: KeyRing, masterKey: Uint8Array): KeyRing {
    const { wrappingKey, checkValue } = masterKeyParts(masterKey);
    return new KeyRing(Buffer.from(previous.pseudonymKey), wrappingKey, checkValue);
  }

  /** The pseudonym key wrapped under this ring's master key: what the store keeps (`fromMasterKey`'s second argument). */
  wrappedPseudonymKey(): Buffer {
    return wrapKey(this.wrappingKey, this.pseudonymKey, pseudonymKeyAad());
  }

  /**
   * The only form in which a customer id reaches the database: HMAC-SHA256, hex (64 chars). Keyed, so
   * a stolen database cannot be matched against a list of customer ids (pseudonymisation, Art. 4(5)).
   */
  pseudonymise(customerId: string): string {
    if (!customerIdPattern.test(customerId)) {
      throw new VoicePassportError('validation-failed', 'A subject id is 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-".');
    }
    return createHmac('sha256', this.pseudonymKey).update(customerId, 'utf8').digest('hex');
  }

  /** Wraps a subject's data key; the AAD binds it to the subject so it cannot be moved to another. */
  wrapDataKey(dataKey: Uint8Array, subjectPseudonym: string): Buffer {
    return wrapKey(this.wrappingKey, dataKey, dataKeyAad(subjectPseudonym));
  }

  unwrapDataKey(wrapped: Uint8Array, subjectPseudonym: string): Buffer {
    return unwrapKey(this.wrappingKey, wrapped, dataKeyAad(subjectPseudonym), 'data key');
  }

  /** Overwrites the derived keys in memory (process shutdown). The ring is unusable afterwards. */
  dispose(): void {
    this.pseudonymKey.fill(0);
    this.wrappingKey.fill(0);
  }
}

function deriveKey(masterKey: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, hkdfSalt, `voice-passport/${purpose}/v1`, 32));
}

/** Hex HMAC of a fixed message under a master key: the store records it to recognise its key. */
export function masterKeyCheckValue(masterKey: Uint8Array): string {
  if (masterKey.length !== masterKeyBytes) {
    throw new VoicePassportError('config-invalid', `The master key must be exactly ${masterKeyBytes} bytes, got ${masterKey.length}.`);
  }
  const checkKey = deriveKey(masterKey, 'key-check');
  const checkValue = createHmac('sha256', checkKey).update(keyCheckMessage).digest('hex');
  checkKey.fill(0);
  return checkValue;
}

/** What a master key itself yields: the key-wrapping key and the check value. */
function masterKeyParts(masterKey: Uint8Array): { wrappingKey: Buffer; checkValue: string } {
  const checkValue = masterKeyCheckValue(masterKey);
  return { wrappingKey: deriveKey(masterKey, 'data-key-wrap'), checkValue };
}

/** AES-256-GCM key wrap: version byte ‖ IV ‖ ciphertext ‖ tag (`wrappedKeyBytes` long). */
function wrapKey(wrappingKey: Buffer, key: Uint8Array, aad: Buffer): Buffer {
  if (key.length !== masterKeyBytes) throw new VoicePassportError('internal', `A wrapped key is ${masterKeyBytes} bytes.`);
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey, iv, { authTagLength: tagBytes });
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(key), cipher.final()]);
  return Buffer.concat([Buffer.from([wrappedKeyVersion]), iv, ct, cipher.getAuthTag()]);
}

function unwrapKey(wrappingKey: Buffer, wrapped: Uint8Array, aad: Buffer, what: string): Buffer {
  const w = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (w.length !== wrappedKeyBytes || w[0] !== wrappedKeyVersion) throw integrityFailure(what);
  const iv = w.subarray(1, 1 + ivBytes);
  const ct = w.subarray(1 + ivBytes, 1 + ivBytes + masterKeyBytes);
  const tag = w.subarray(1 + ivBytes + masterKeyBytes);
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrappingKey, iv, { authTagLength: tagBytes });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch {
    throw integrityFailure(what);
  }
}

/** A fresh random per-subject data key. Callers zero it (`fill(0)`) once done. */
export function generateDataKey(): Buffer {
  return randomBytes(masterKeyBytes);
}

/** Encrypts an embedding (float32, little-endian) with a subject's data key. */
export function sealEmbedding(embedding: Float32Array, dataKey: Uint8Array, binding: EmbeddingBinding): SealedEmbedding {
  if (embedding.length === 0 || !embedding.every(Number.isFinite)) {
    throw new VoicePassportError('internal', 'An embedding to store must be non-empty and finite.');
  }
  const plain = embeddingToBytes(embedding);
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: tagBytes });
  cipher.setAAD(embeddingAad(binding, embeddingFormatVersion));
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  plain.fill(0);
  return { ciphertext, iv, tag: cipher.getAuthTag(), formatVersion: embeddingFormatVersion };
}

/** Decrypts and authenticates; any change to ciphertext, IV, tag or binding throws. */
export function openEmbedding(sealed: SealedEmbedding, dataKey: Uint8Array, binding: EmbeddingBinding): Float32Array {
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, sealed.iv, { authTagLength: tagBytes });
    decipher.setAAD(embeddingAad(binding, sealed.formatVersion));
    decipher.setAuthTag(sealed.tag);
    plain = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    throw integrityFailure(binding.purpose === 'template' ? 'voiceprint' : 'enrolment sample');
  }
  if (plain.length === 0 || plain.length % 4 !== 0) throw integrityFailure('voiceprint');
  const out = bytesToEmbedding(plain);
  plain.fill(0);
  return out;
}

// Explicit little-endian so a database moved between machines decodes the same.
function embeddingToBytes(embedding: Float32Array): Buffer {
  const buf = Buffer.alloc(embedding.length * 4);
  embedding.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf;
}

function bytesToEmbedding(buf: Buffer): Float32Array {
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

// AADs are JSON arrays: unambiguous however a model id is spelled.
function dataKeyAad(subjectPseudonym: string): Buffer {
  return Buffer.from(JSON.stringify(['voice-passport', 'data-key', wrappedKeyVersion, subjectPseudonym]), 'utf8');
}

function pseudonymKeyAad(): Buffer {
  return Buffer.from(JSON.stringify(['voice-passport', 'pseudonym-key', wrappedKeyVersion]), 'utf8');
}

function embeddingAad(b: EmbeddingBinding, formatVersion: number): Buffer {
  return Buffer.from(JSON.stringify(['voice-passport', b.purpose, formatVersion, b.subjectPseudonym, b.modelId]), 'utf8');
}

function integrityFailure(what: string): VoicePassportError {
  return new VoicePassportError('internal', `A stored ${what} failed its integrity check: the master key is wrong or the data was altered or moved between subjects.`);
}

// --- API keys (issue 3: "stored only as hashes") ---

export const apiKeyRoles = ['telephony', 'enrolment', 'operator', 'admin'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];

const apiKeyPattern = /^vp_(telephony|enrolment|operator|admin)_([A-Za-z0-9_-]{43})$/;

/**
 * A new secret `vp_<role>_<base64url of 32 random bytes>`. 256 bits of entropy is why a plain SHA-256
 * is a sufficient stored form (no slow hash needed: there is nothing to brute-force). The role in the
 * text helps operators and secret scanners; authority comes only from the stored row.
 */
export function generateApiKeySecret(role: ApiKeyRole): string {
  return `vp_${role}_${randomBytes(32).toString('base64url')}`;
}

/** True when the text has the shape of a key this service issues (cheap reject before hashing). */
export function looksLikeApiKey(secret: string): boolean {
  return apiKeyPattern.test(secret);
}

export function hashApiKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time equality for hashes (the lookup is by hash; this re-checks the row it found). */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
