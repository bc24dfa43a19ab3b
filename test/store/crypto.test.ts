/** Key hierarchy and template encryption: round trips and tamper detection (GDPR Art. 32(1)(a); ISO/IEC 24745). */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KeyRing,
  generateApiKeySecret,
  generateDataKey,
  hashApiKey,
  hashesEqual,
  looksLikeApiKey,
  masterKeyCheckValue,
  openEmbedding,
  sealEmbedding,
  wrappedKeyBytes,
  type EmbeddingBinding,
  type SealedEmbedding,
} from '../../src/store/crypto.js';
import { embedding } from './helpers.js';

const master = Buffer.alloc(32, 7);
const ring = KeyRing.fromMasterKey(master);
const alice = ring.pseudonymise('customer-alice');
const bob = ring.pseudonymise('customer-bob');
const binding: EmbeddingBinding = { purpose: 'template', subjectPseudonym: alice, modelId: 'wespeaker-resnet34-v1' };

function flip(buf: Buffer, index: number): Buffer {
  const copy = Buffer.from(buf);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

describe('KeyRing', () => {
  it('pseudonymises deterministically to 64 hex chars, differently per customer and per master key', () => {
    expect(alice).toMatch(/^[0-9a-f]{64}$/);
    expect(ring.pseudonymise('customer-alice')).toBe(alice);
    expect(bob).not.toBe(alice);
    expect(KeyRing.fromMasterKey(Buffer.alloc(32, 8)).pseudonymise('customer-alice')).not.toBe(alice);
    // Not a bare hash of the id: the key matters.
    expect(alice).not.toBe(createHash('sha256').update('customer-alice').digest('hex'));
  });

  it('refuses customer ids outside 1-128 chars of [A-Za-z0-9._:-]', () => {
    for (const bad of ['', 'a'.repeat(129), 'has space', 'ümlaut', 'a/b']) {
      expect(() => ring.pseudonymise(bad)).toThrow(expect.objectContaining({ code: 'validation-failed' }));
    }
    expect(() => ring.pseudonymise('A.b_c:d-9'.padEnd(128, 'x'))).not.toThrow();
  });

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => KeyRing.fromMasterKey(Buffer.alloc(31))).toThrow(expect.objectContaining({ code: 'config-invalid' }));
  });

  it('has a check value that identifies the master key', () => {
    expect(ring.checkValue).toMatch(/^[0-9a-f]{64}$/);
    expect(KeyRing.fromMasterKey(Buffer.alloc(32, 7)).checkValue).toBe(ring.checkValue);
    expect(KeyRing.fromMasterKey(Buffer.alloc(32, 8)).checkValue).not.toBe(ring.checkValue);
  });

  it('wraps and unwraps a data key bound to its subject', () => {
    const dek = generateDataKey();
    const wrapped = ring.wrapDataKey(dek, alice);
    expect(wrapped.length).toBe(wrappedKeyBytes);
    expect(wrapped.indexOf(dek)).toBe(-1);
    expect(ring.unwrapDataKey(wrapped, alice).equals(dek)).toBe(true);
    // Fresh IV each time: the same key wraps to different bytes.
    expect(ring.wrapDataKey(dek, alice).equals(wrapped)).toBe(false);
  });

  it('refuses a wrapped key moved to another subject, altered, truncated or under another master key', () => {
    const wrapped = ring.wrapDataKey(generateDataKey(), alice);
    const integrity = expect.objectContaining({ code: 'internal', message: expect.stringMatching(/integrity check/) });
    expect(() => ring.unwrapDataKey(wrapped, bob)).toThrow(integrity);
    for (let i = 0; i < wrapped.length; i += 7) expect(() => ring.unwrapDataKey(flip(wrapped, i), alice)).toThrow(integrity);
    expect(() => ring.unwrapDataKey(wrapped.subarray(0, 40), alice)).toThrow(integrity);
    expect(() => KeyRing.fromMasterKey(Buffer.alloc(32, 8)).unwrapDataKey(wrapped, alice)).toThrow(integrity);
  });

  it('keeps its pseudonym key wrapped under its master key, and opens with it', () => {
    const wrapped = ring.wrappedPseudonymKey();
    expect(wrapped.length).toBe(wrappedKeyBytes);
    const reopened = KeyRing.fromMasterKey(master, wrapped);
    expect(reopened.pseudonymise('customer-alice')).toBe(alice);
    expect(reopened.checkValue).toBe(ring.checkValue);
    // The wrapped form is not the key a fresh ring of another master key would derive or unwrap.
    const integrity = expect.objectContaining({ code: 'internal', message: expect.stringMatching(/pseudonym key failed its integrity check/) });
    expect(() => KeyRing.fromMasterKey(Buffer.alloc(32, 8), wrapped)).toThrow(integrity);
    for (let i = 0; i < wrapped.length; i += 5) expect(() => KeyRing.fromMasterKey(master, flip(wrapped, i))).toThrow(integrity);
    // A data key wrapped for a subject does not pass for the pseudonym key (separate AADs).
    expect(() => KeyRing.fromMasterKey(master, ring.wrapDataKey(generateDataKey(), alice))).toThrow(integrity);
  });

  it('succeeds a ring with a new master key: the same pseudonyms, the new check value and wrapping key', () => {
    const next = Buffer.alloc(32, 9);
    const successor = KeyRing.succeeding(ring, next);
    expect(successor.pseudonymise('customer-alice')).toBe(alice);
    expect(successor.checkValue).toBe(masterKeyCheckValue(next));
    expect(successor.checkValue).not.toBe(ring.checkValue);
    const dek = generateDataKey();
    const integrity = expect.objectContaining({ code: 'internal' });
    expect(() => successor.unwrapDataKey(ring.wrapDataKey(dek, alice), alice)).toThrow(integrity);
    expect(() => ring.unwrapDataKey(successor.wrapDataKey(dek, alice), alice)).toThrow(integrity);
    expect(successor.unwrapDataKey(successor.wrapDataKey(dek, alice), alice).equals(dek)).toBe(true);
    // What the store keeps after a rotation opens under the new master key alone, to the old pseudonyms.
    expect(KeyRing.fromMasterKey(next, successor.wrappedPseudonymKey()).pseudonymise('customer-bob')).toBe(bob);
    expect(KeyRing.fromMasterKey(next).pseudonymise('customer-alice')).not.toBe(alice);
    // Its own copy of the pseudonym key: disposing the predecessor leaves it working.
    const predecessor = KeyRing.fromMasterKey(master);
    const own = KeyRing.succeeding(predecessor, next);
    predecessor.dispose();
    expect(own.pseudonymise('customer-alice')).toBe(alice);
  });

  it('has the check value masterKeyCheckValue computes, and refuses a key that is not 32 bytes there too', () => {
    expect(masterKeyCheckValue(master)).toBe(ring.checkValue);
    expect(() => masterKeyCheckValue(Buffer.alloc(33))).toThrow(expect.objectContaining({ code: 'config-invalid' }));
  });

  it('is unusable after dispose', () => {
    const r = KeyRing.fromMasterKey(master);
    const before = r.pseudonymise('x');
    r.dispose();
    expect(r.pseudonymise('x')).not.toBe(before);
  });
});

describe('sealEmbedding / openEmbedding', () => {
  const dek = generateDataKey();
  const e = embedding(1);
  const sealed = sealEmbedding(e, dek, binding);

  it('round-trips exactly', () => {
    expect(sealed.ciphertext.length).toBe(e.length * 4);
    expect(sealed.iv.length).toBe(12);
    expect(sealed.tag.length).toBe(16);
    expect(sealed.formatVersion).toBe(1);
    expect(openEmbedding(sealed, dek, binding)).toEqual(e);
  });

  it('does not contain the plaintext bytes', () => {
    expect(sealed.ciphertext.indexOf(Buffer.from(e.buffer).subarray(0, 16))).toBe(-1);
  });

  it('round-trips any finite float32 vector (property)', () => {
    fc.assert(
      fc.property(fc.float32Array({ minLength: 1, maxLength: 300, noDefaultInfinity: true, noNaN: true }), (v) => {
        const out = openEmbedding(sealEmbedding(v, dek, binding), dek, binding);
        expect(Array.from(out)).toEqual(Array.from(v).map((x) => (Object.is(x, -0) ? -0 : x)));
      }),
      { numRuns: 50 },
    );
  });

  it('detects any tampering with ciphertext, IV or tag, and any change of binding or key', () => {
    const integrity = expect.objectContaining({ code: 'internal', message: expect.stringMatching(/integrity check/) });
    const variants: Array<[string, SealedEmbedding, EmbeddingBinding, Buffer]> = [
      ['ciphertext bit', { ...sealed, ciphertext: flip(sealed.ciphertext, 100) }, binding, dek],
      ['iv bit', { ...sealed, iv: flip(sealed.iv, 0) }, binding, dek],
      ['tag bit', { ...sealed, tag: flip(sealed.tag, 15) }, binding, dek],
      ['format version', { ...sealed, formatVersion: 2 }, binding, dek],
      ['other subject', sealed, { ...binding, subjectPseudonym: bob }, dek],
      ['other model', sealed, { ...binding, modelId: 'ecapa-tdnn-v1' }, dek],
      ['other purpose', sealed, { ...binding, purpose: 'enrolment-sample' }, dek],
      ['other data key', sealed, binding, generateDataKey()],
      ['truncated', { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 100) }, binding, dek],
    ];
    for (const [what, s, b, k] of variants) {
      expect(() => openEmbedding(s, k, b), what).toThrow(integrity);
    }
  });

  it('refuses empty or non-finite embeddings', () => {
    expect(() => sealEmbedding(new Float32Array(0), dek, binding)).toThrow(/non-empty and finite/);
    expect(() => sealEmbedding(Float32Array.of(0.1, Number.NaN), dek, binding)).toThrow(/non-empty and finite/);
  });
});

describe('API key secrets', () => {
  it('look like vp_<role>_<43 base64url chars> with 256 random bits', () => {
    const k = generateApiKeySecret('telephony');
    expect(k).toMatch(/^vp_telephony_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(k.slice('vp_telephony_'.length), 'base64url').length).toBe(32);
    expect(generateApiKeySecret('telephony')).not.toBe(k);
    expect(looksLikeApiKey(k)).toBe(true);
    expect(looksLikeApiKey(`${k}x`)).toBe(false);
    expect(looksLikeApiKey(k.replace('telephony', 'root'))).toBe(false);
  });

  it('hash to the SHA-256 of the secret text', () => {
    // sha256sum of the bytes "vp_admin_x"
    expect(hashApiKey('vp_admin_x').toString('hex')).toBe('19caaeaeac940879d583e139fe130511c42dbd11fcf7d5b235f0538fea00d22f');
    expect(hashesEqual(hashApiKey('a'), hashApiKey('a'))).toBe(true);
    expect(hashesEqual(hashApiKey('a'), hashApiKey('b'))).toBe(false);
    expect(hashesEqual(hashApiKey('a'), hashApiKey('a').subarray(0, 31))).toBe(false);
  });
});
