/**
 * Master key rotation: re-keys the whole store under a new master key (NIST SP 800-57 Part 1 §5.3,
 * cryptoperiods, and §5.3.6's response to a key suspected compromised; GDPR Art. 32(1)(a), (d);
 * ISO/IEC 24745 renewability of protected references).
 *
 * Every subject gets a fresh data key, wrapped under the new master key, and its voiceprint and
 * enrolment samples are sealed again under it. Fresh keys, not the old ones re-wrapped: whoever held
 * the old master key could unwrap the old data keys, and so anything sealed under them later. In
 * the same transaction the caller (store-key-ring.ts) wraps the pseudonym key again, unchanged
 * (crypto.ts says why), records the new check value and audits the rotation: either the whole store
 * moves or none of it. openStore checkpoints after the commit, so the old wrapped keys and
 * ciphertexts leave the -wal file too (secure_delete=ON zeroes their pages in the .db file).
 */
import { isoNow, type Clock } from './clock.js';
import { generateDataKey, sealEmbedding, type EmbeddingBinding, type KeyRing } from './crypto.js';
import type { Database } from './database.js';
import { openSealedRow, type SealedRow } from './voiceprint-repository.js';

/** What a rotation re-keyed: counts only, never keys or pseudonyms. */
export interface MasterKeyRotation {
  /** Subjects whose data key was replaced (every subject holding a voiceprint or enrolment samples). */
  subjects: number;
  voiceprints: number;
  enrolmentSamples: number;
}

/** Subjects are read in pages, so memory stays bounded however large the store. */
const pageSize = 500;

/** Re-keys every subject from `from` to `to`. Must run inside a transaction (the caller's). */
export function reKeySubjects(db: Database, from: KeyRing, to: KeyRing, clock: Clock): MasterKeyRotation {
  if (!db.inTransaction) throw new TypeError('reKeySubjects runs inside the transaction that records the new master key.');
  const counts: MasterKeyRotation = { subjects: 0, voiceprints: 0, enrolmentSamples: 0 };
  const now = isoNow(clock);
  let after = 0;
  for (;;) {
    const page = db.all<{ subject_id: number; pseudonym: string; wrapped_key: Uint8Array }>(
      `SELECT k.subject_id, s.pseudonym, k.wrapped_key FROM subject_keys k JOIN subjects s ON s.id = k.subject_id
       WHERE k.subject_id > ? ORDER BY k.subject_id LIMIT ?`,
      [after, pageSize],
    );
    for (const row of page) {
      const oldKey = from.unwrapDataKey(row.wrapped_key, row.pseudonym);
      const newKey = generateDataKey();
      try {
        const reseal = (r: SealedRow, purpose: EmbeddingBinding['purpose']) => {
          const binding: EmbeddingBinding = { purpose, subjectPseudonym: row.pseudonym, modelId: r.model_id };
          const embedding = openSealedRow(r, oldKey, binding);
          const sealed = sealEmbedding(embedding, newKey, binding);
          embedding.fill(0);
          return [sealed.ciphertext, sealed.iv, sealed.tag, sealed.formatVersion] as const;
        };
        const template = db.get<SealedRow>('SELECT ciphertext, iv, tag, format_version, model_id FROM templates WHERE subject_id = ?', [row.subject_id]);
        if (template !== undefined) {
          db.run('UPDATE templates SET ciphertext = ?, iv = ?, tag = ?, format_version = ? WHERE subject_id = ?', [...reseal(template, 'template'), row.subject_id]);
          counts.voiceprints++;
        }
        const samples = db.all<SealedRow & { id: number }>('SELECT id, ciphertext, iv, tag, format_version, model_id FROM enrolment_samples WHERE subject_id = ?', [row.subject_id]);
        for (const sample of samples) {
          db.run('UPDATE enrolment_samples SET ciphertext = ?, iv = ?, tag = ?, format_version = ? WHERE id = ?', [...reseal(sample, 'enrolment-sample'), sample.id]);
        }
        counts.enrolmentSamples += samples.length;
        db.run('UPDATE subject_keys SET wrapped_key = ?, created_at = ? WHERE subject_id = ?', [to.wrapDataKey(newKey, row.pseudonym), now, row.subject_id]);
        counts.subjects++;
      } finally {
        oldKey.fill(0);
        newKey.fill(0);
      }
    }
    if (page.length < pageSize) return counts;
    after = page[page.length - 1]!.subject_id;
  }
}
