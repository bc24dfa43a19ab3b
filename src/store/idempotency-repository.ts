/**
 * Requests sent with an Idempotency-Key and what they were answered (migration 011): one row per
 * API key and idempotency key, reserved while the first request runs, completed with its answer.
 * The rules (how long a row counts, when a reservation is abandoned) are the use case's,
 * src/passport/idempotency.ts.
 */
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';

export type IdempotentOperation = 'verify' | 'enrol';

export interface KeptRequest {
  operation: IdempotentOperation;
  subjectPseudonym: string;
  /** SHA-256 of what made the request (src/passport/idempotency.ts); null while it runs. */
  fingerprint: string | null;
  /** The answer as JSON; null while the request runs. */
  response: string | null;
  createdAt: string;
}

interface Row {
  operation: IdempotentOperation;
  subject_pseudonym: string;
  fingerprint: string | null;
  response: string | null;
  created_at: string;
}

export class IdempotencyRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  find(actorKeyId: string, keySha256: string): KeptRequest | undefined {
    const r = this.db.get<Row>('SELECT operation, subject_pseudonym, fingerprint, response, created_at FROM idempotent_requests WHERE actor_key_id = ? AND key_sha256 = ?', [actorKeyId, keySha256]);
    return r === undefined ? undefined : { operation: r.operation, subjectPseudonym: r.subject_pseudonym, fingerprint: r.fingerprint, response: r.response, createdAt: r.created_at };
  }

  /** Marks the key as taken by a request now running, replacing whatever row it had (the caller decided it no longer counts). */
  reserve(actorKeyId: string, keySha256: string, operation: IdempotentOperation, subjectPseudonym: string): void {
    this.db.run(
      `INSERT INTO idempotent_requests (actor_key_id, key_sha256, operation, subject_pseudonym, fingerprint, response, created_at) VALUES (?, ?, ?, ?, NULL, NULL, ?)
       ON CONFLICT (actor_key_id, key_sha256) DO UPDATE SET operation = excluded.operation, subject_pseudonym = excluded.subject_pseudonym,
         fingerprint = NULL, response = NULL, created_at = excluded.created_at`,
      [actorKeyId, keySha256, operation, subjectPseudonym, isoNow(this.clock)],
    );
  }

  /** Records the answer of the request that reserved the key. */
  complete(actorKeyId: string, keySha256: string, fingerprint: string, response: string): void {
    this.db.run('UPDATE idempotent_requests SET fingerprint = ?, response = ? WHERE actor_key_id = ? AND key_sha256 = ? AND response IS NULL', [fingerprint, response, actorKeyId, keySha256]);
  }

  /** Frees a key whose request failed, so that a retry runs afresh. */
  release(actorKeyId: string, keySha256: string): void {
    this.db.run('DELETE FROM idempotent_requests WHERE actor_key_id = ? AND key_sha256 = ? AND response IS NULL', [actorKeyId, keySha256]);
  }

  /** How many rows were made before `cutoff` (`voice-passport purge --dry-run`). */
  countBefore(cutoff: Date): number {
    return this.db.get<{ n: number }>('SELECT count(*) AS n FROM idempotent_requests WHERE created_at < ?', [cutoff.toISOString()])?.n ?? 0;
  }

  /** Removes the rows made before `cutoff`; returns how many. */
  removeBefore(cutoff: Date): number {
    return this.db.run('DELETE FROM idempotent_requests WHERE created_at < ?', [cutoff.toISOString()]).changes;
  }
}
