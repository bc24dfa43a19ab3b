/**
 * Which bytes each model id ran as on this store (migration 015), and how much biometric data a
 * model id still holds: what the start-up check (src/passport/model-fingerprint.ts) compares.
 */
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';

export interface ModelFingerprint {
  modelId: string;
  sha256: string;
  recordedAt: string;
}

export class ModelFingerprintRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  get(modelId: string): ModelFingerprint | undefined {
    return this.db.get<ModelFingerprint>('SELECT model_id AS modelId, sha256, recorded_at AS recordedAt FROM model_fingerprints WHERE model_id = ?', [modelId]);
  }

  /** Records (or replaces) the bytes a model id runs as from now. */
  record(modelId: string, sha256: string): ModelFingerprint {
    this.db.run(
      `INSERT INTO model_fingerprints (model_id, sha256, recorded_at) VALUES (?, ?, ?)
       ON CONFLICT (model_id) DO UPDATE SET sha256 = excluded.sha256, recorded_at = excluded.recorded_at`,
      [modelId, sha256, isoNow(this.clock)],
    );
    return this.get(modelId)!;
  }

  /** Voiceprints and enrolment samples made with a model id (counted, never read). */
  biometricDataOf(modelId: string): { voiceprints: number; enrolmentSamples: number } {
    return this.db.get<{ voiceprints: number; enrolmentSamples: number }>(
      `SELECT (SELECT count(*) FROM templates WHERE model_id = :m) AS voiceprints,
              (SELECT count(*) FROM enrolment_samples WHERE model_id = :m) AS enrolmentSamples`,
      { m: modelId },
    )!;
  }
}
