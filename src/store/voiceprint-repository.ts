/**
 * Voiceprints (templates) and enrolment samples in progress: the only biometric data the service
 * keeps (GDPR Art. 9; Art. 5(1)(c): embeddings only, never audio). Everything here is encrypted with
 * the subject's data key (AES-256-GCM, crypto.ts), whose wrapped form lives in `subject_keys`;
 * templates and samples reference that row, so deleting the key deletes them (Art. 17; ISO/IEC 24745
 * renewability: each completed enrolment gets a fresh data key, so a replaced template's key is gone).
 *
 * The schema refuses any of these rows without active consent (Art. 9(2)(a)). Data keys are zeroed in
 * memory as soon as an operation is done.
 */
import { VoicePassportError } from '../errors.js';
import { isoNow, type Clock } from './clock.js';
import { generateDataKey, openEmbedding, sealEmbedding, type EmbeddingBinding, type KeyRing } from './crypto.js';
import type { Database } from './database.js';
import { recordedCheckValue } from './master-key-check.js';
import { subjectIdOf, type SubjectRepository } from './subject-repository.js';

export interface EnrolmentSampleInput {
  embedding: Float32Array;
  modelId: string;
  netSpeechSeconds: number;
  /** SHA-256 (hex) of the recording, so that the same one is not counted twice (hasEnrolmentSample). */
  audioSha256?: string;
}

export interface EnrolmentSample extends EnrolmentSampleInput {
  id: number;
  createdAt: string;
}

export interface EnrolmentProgress {
  sampleCount: number;
  netSpeechSeconds: number;
}

export interface VoiceprintInput {
  embedding: Float32Array;
  modelId: string;
  sampleCount: number;
  netSpeechSeconds: number;
}

/** What may be shown about a voiceprint (GET subject, export): never the embedding. */
export interface VoiceprintMetadata {
  modelId: string;
  sampleCount: number;
  netSpeechSeconds: number;
  formatVersion: number;
  createdAt: string;
}

export interface Voiceprint extends VoiceprintMetadata {
  embedding: Float32Array;
}

/** An encrypted embedding as a templates or enrolment_samples row holds it. */
export interface SealedRow {
  ciphertext: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  format_version: number;
  model_id: string;
}

export class VoiceprintRepository {
  constructor(
    private readonly db: Database,
    private readonly keys: KeyRing,
    private readonly subjects: SubjectRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Stores one encrypted enrolment sample and returns the running totals. The subject must exist and
   * have active consent (else `consent-required`). A subject without a voiceprint becomes 'enrolling'.
   */
  addEnrolmentSample(pseudonym: string, sample: EnrolmentSampleInput): EnrolmentProgress {
    assertSeconds(sample.netSpeechSeconds);
    return this.db.transaction(() => {
      const subjectId = this.requireSubject(pseudonym);
      const dataKey = this.dataKeyFor(subjectId, pseudonym);
      try {
        const sealed = sealEmbedding(sample.embedding, dataKey, binding('enrolment-sample', pseudonym, sample.modelId));
        this.db.run(
          `INSERT INTO enrolment_samples (subject_id, model_id, format_version, ciphertext, iv, tag, net_speech_seconds, audio_sha256, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [subjectId, sample.modelId, sealed.formatVersion, sealed.ciphertext, sealed.iv, sealed.tag, sample.netSpeechSeconds, sample.audioSha256 ?? null, isoNow(this.clock)],
        );
      } finally {
        dataKey.fill(0);
      }
      const subject = this.subjects.find(pseudonym)!;
      if (subject.enrolmentState !== 'enrolled') this.subjects.setEnrolmentState(pseudonym, 'enrolling', sample.modelId);
      return this.enrolmentProgress(pseudonym);
    });
  }

  enrolmentProgress(pseudonym: string): EnrolmentProgress {
    const r = this.db.get<{ n: number; s: number | null }>(
      `SELECT count(*) AS n, sum(e.net_speech_seconds) AS s
       FROM enrolment_samples e JOIN subjects s ON s.id = e.subject_id WHERE s.pseudonym = ?`,
      [pseudonym],
    );
    return { sampleCount: r?.n ?? 0, netSpeechSeconds: r?.s ?? 0 };
  }

  /** Whether the enrolment in progress already holds a sample of this recording. */
  hasEnrolmentSample(pseudonym: string, audioSha256: string): boolean {
    return (
      this.db.get('SELECT 1 AS x FROM enrolment_samples e JOIN subjects s ON s.id = e.subject_id WHERE s.pseudonym = ? AND e.audio_sha256 = ?', [pseudonym, audioSha256]) !== undefined
    );
  }

  /** The decrypted samples of the enrolment in progress, oldest first. */
  enrolmentSamples(pseudonym: string): EnrolmentSample[] {
    const subjectId = subjectIdOf(this.db, pseudonym);
    if (subjectId === undefined) return [];
    const rows = this.db.all<SealedRow & { id: number; net_speech_seconds: number; created_at: string }>(
      'SELECT id, model_id, format_version, ciphertext, iv, tag, net_speech_seconds, created_at FROM enrolment_samples WHERE subject_id = ? ORDER BY id',
      [subjectId],
    );
    if (rows.length === 0) return [];
    const dataKey = this.unwrapExisting(subjectId, pseudonym)!;
    try {
      return rows.map((r) => ({
        id: r.id,
        embedding: openSealedRow(r, dataKey, binding('enrolment-sample', pseudonym, r.model_id)),
        modelId: r.model_id,
        netSpeechSeconds: r.net_speech_seconds,
        createdAt: r.created_at,
      }));
    } finally {
      dataKey.fill(0);
    }
  }

  /** Drops the samples of an unfinished enrolment (e.g. `not-same-speaker` restarts it). */
  discardEnrolmentSamples(pseudonym: string): number {
    return this.db.transaction(() => {
      const subjectId = subjectIdOf(this.db, pseudonym);
      if (subjectId === undefined) return 0;
      const n = this.db.run('DELETE FROM enrolment_samples WHERE subject_id = ?', [subjectId]).changes;
      const subject = this.subjects.find(pseudonym)!;
      if (subject.enrolmentState === 'enrolling') this.subjects.setEnrolmentState(pseudonym, 'none', null);
      return n;
    });
  }

  /**
   * Stores the finished voiceprint in one transaction: a fresh data key, the encrypted template
   * (replacing any earlier one), the samples deleted, the subject marked enrolled with the model id.
   * Resetting attempt limiting on re-enrolment (issue 3) is the use case's call: subjects.resetAttempts.
   */
  completeEnrolment(pseudonym: string, voiceprint: VoiceprintInput): VoiceprintMetadata {
    assertSeconds(voiceprint.netSpeechSeconds);
    if (!Number.isInteger(voiceprint.sampleCount) || voiceprint.sampleCount < 1) {
      throw new VoicePassportError('internal', 'A voiceprint is made from at least one sample.');
    }
    return this.db.transaction(() => {
      const subjectId = this.requireSubject(pseudonym);
      this.assertKeyCurrent();
      const dataKey = generateDataKey();
      try {
        const wrapped = this.keys.wrapDataKey(dataKey, pseudonym);
        const now = isoNow(this.clock);
        // Upsert, not delete+insert: deleting the key row would cascade to the template being replaced mid-way.
        this.db.run(
          `INSERT INTO subject_keys (subject_id, wrapped_key, created_at) VALUES (?, ?, ?)
           ON CONFLICT (subject_id) DO UPDATE SET wrapped_key = excluded.wrapped_key, created_at = excluded.created_at`,
          [subjectId, wrapped, now],
        );
        // Samples were sealed under the old key; they are done with.
        this.db.run('DELETE FROM enrolment_samples WHERE subject_id = ?', [subjectId]);
        const sealed = sealEmbedding(voiceprint.embedding, dataKey, binding('template', pseudonym, voiceprint.modelId));
        this.db.run(
          `INSERT INTO templates (subject_id, model_id, format_version, ciphertext, iv, tag, sample_count, net_speech_seconds, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (subject_id) DO UPDATE SET model_id = excluded.model_id, format_version = excluded.format_version,
             ciphertext = excluded.ciphertext, iv = excluded.iv, tag = excluded.tag, sample_count = excluded.sample_count,
             net_speech_seconds = excluded.net_speech_seconds, created_at = excluded.created_at`,
          [subjectId, voiceprint.modelId, sealed.formatVersion, sealed.ciphertext, sealed.iv, sealed.tag, voiceprint.sampleCount, voiceprint.netSpeechSeconds, now],
        );
        this.subjects.setEnrolmentState(pseudonym, 'enrolled', voiceprint.modelId);
      } finally {
        dataKey.fill(0);
      }
      return this.voiceprintMetadata(pseudonym)!;
    });
  }

  voiceprintMetadata(pseudonym: string): VoiceprintMetadata | undefined {
    const r = this.db.get<{ model_id: string; sample_count: number; net_speech_seconds: number; format_version: number; created_at: string }>(
      `SELECT t.model_id, t.sample_count, t.net_speech_seconds, t.format_version, t.created_at
       FROM templates t JOIN subjects s ON s.id = t.subject_id WHERE s.pseudonym = ?`,
      [pseudonym],
    );
    return r && { modelId: r.model_id, sampleCount: r.sample_count, netSpeechSeconds: r.net_speech_seconds, formatVersion: r.format_version, createdAt: r.created_at };
  }

  /** The decrypted voiceprint, or undefined when none. Throws `internal` if it fails authentication. */
  voiceprint(pseudonym: string): Voiceprint | undefined {
    const subjectId = subjectIdOf(this.db, pseudonym);
    if (subjectId === undefined) return undefined;
    const r = this.db.get<SealedRow & { sample_count: number; net_speech_seconds: number; created_at: string }>(
      'SELECT model_id, format_version, ciphertext, iv, tag, sample_count, net_speech_seconds, created_at FROM templates WHERE subject_id = ?',
      [subjectId],
    );
    if (r === undefined) return undefined;
    const dataKey = this.unwrapExisting(subjectId, pseudonym)!;
    try {
      return {
        embedding: openSealedRow(r, dataKey, binding('template', pseudonym, r.model_id)),
        modelId: r.model_id,
        sampleCount: r.sample_count,
        netSpeechSeconds: r.net_speech_seconds,
        formatVersion: r.format_version,
        createdAt: r.created_at,
      };
    } finally {
      dataKey.fill(0);
    }
  }

  private requireSubject(pseudonym: string): number {
    const id = subjectIdOf(this.db, pseudonym);
    if (id === undefined) throw new VoicePassportError('consent-required', 'The subject has not given consent; record consent before enrolling.');
    return id;
  }

  /** The subject's data key, created (and wrapped) on first need. */
  private dataKeyFor(subjectId: number, pseudonym: string): Buffer {
    const existing = this.unwrapExisting(subjectId, pseudonym);
    if (existing !== undefined) return existing;
    const dataKey = generateDataKey();
    this.db.run('INSERT INTO subject_keys (subject_id, wrapped_key, created_at) VALUES (?, ?, ?)', [subjectId, this.keys.wrapDataKey(dataKey, pseudonym), isoNow(this.clock)]);
    return dataKey;
  }

  private unwrapExisting(subjectId: number, pseudonym: string): Buffer | undefined {
    this.assertKeyCurrent();
    const row = this.db.get<{ wrapped_key: Uint8Array }>('SELECT wrapped_key FROM subject_keys WHERE subject_id = ?', [subjectId]);
    return row && this.keys.unwrapDataKey(row.wrapped_key, pseudonym);
  }

  /**
   * A service started before another process rotated the master key holds a stale key ring: it must
   * not wrap a data key no one could unwrap after a restart, nor report a healthy store's voiceprints
   * as damaged. One primary-key read of `meta` per operation.
   */
  private assertKeyCurrent(): void {
    if (recordedCheckValue(this.db) !== this.keys.checkValue) {
      throw new VoicePassportError('not-ready', 'The master key of the store was rotated by another process; restart the service with the new key.');
    }
  }
}

function binding(purpose: EmbeddingBinding['purpose'], subjectPseudonym: string, modelId: string): EmbeddingBinding {
  return { purpose, subjectPseudonym, modelId };
}

/** Decrypts a row's embedding (throws `internal` when it fails authentication). */
export function openSealedRow(row: SealedRow, dataKey: Buffer, b: EmbeddingBinding): Float32Array {
  return openEmbedding({ ciphertext: Buffer.from(row.ciphertext), iv: Buffer.from(row.iv), tag: Buffer.from(row.tag), formatVersion: row.format_version }, dataKey, b);
}

function assertSeconds(s: number): void {
  if (!Number.isFinite(s) || s < 0) throw new VoicePassportError('internal', 'Net speech seconds must be a finite number ≥ 0.');
}
