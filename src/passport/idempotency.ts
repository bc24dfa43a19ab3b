/**
 * Idempotent verifications and enrolment samples (draft-ietf-httpapi-idempotency-key-header): a
 * telephony platform whose connection dropped before the answer came retries the POST with the same
 * Idempotency-Key and gets the first answer again. Without it the retry is a second attempt: one
 * more reject towards the lockout, or the same recording counted twice towards an enrolment's
 * speech, a voiceprint made from less voice than the rule asks.
 *
 * - A key belongs to the API key that sent it: two platforms cannot collide.
 * - The retry must be the same request (operation, subject, query, content type and audio, as one
 *   SHA-256; the audio only where the first request read it: a caller without consent is answered
 *   without it, "select before you collect"). The same key with another request is refused (422
 *   idempotency-key-reused); a retry while the first still runs is told to wait (409
 *   idempotency-key-in-use, Retry-After).
 * - Only answers are kept (200s); a request that failed frees its key, so the retry runs afresh.
 * - An answer counts for `idempotencyWindowHours`; the retention sweep removes it after that
 *   (src/passport/retention.ts), and an erasure with the subject (src/store/erasure.ts). A
 *   reservation left by a request that never finished (a crash) counts for `abandonedAfterSeconds`.
 */
import { createHash } from 'node:crypto';
import { VoicePassportError } from '../errors.js';
import type { IdempotentOperation } from '../store/index.js';
import type { Actor, PassportContext } from './context.js';
import type { ReadAudio } from './embedder.js';

/** How long an answer is kept for a retry: a day, far beyond any platform's retries. */
export const idempotencyWindowHours = 24;

/** Longer than any request may run (server.requestTimeout is 60 s): a reservation this old was abandoned. */
export const abandonedAfterSeconds = 120;

export interface IdempotentRequest {
  /** The Idempotency-Key header's value. */
  key: string;
  operation: IdempotentOperation;
  customerId: string;
  /** What else, besides the audio, makes the request: its query (e.g. the policy). */
  parameters: string;
}

/**
 * Runs `run` once per key: the first time it runs and its answer is kept; a retry of the same
 * request gets that answer back (`replayed`). Without a key, it just runs. `readAudio` must answer
 * the same bytes each time it is called (src/http/bodies.ts); `run` reads the audio through the
 * reader it is given, and the fingerprint covers the audio only if it did.
 */
export async function runIdempotent<T>(
  ctx: PassportContext,
  actor: Actor,
  request: IdempotentRequest | undefined,
  readAudio: ReadAudio,
  run: (readAudio: ReadAudio) => Promise<T>,
): Promise<{ result: T; replayed: boolean }> {
  if (request === undefined) return { result: await run(readAudio), replayed: false };
  const { idempotency } = ctx.store;
  const keySha256 = sha256(request.key);
  const pseudonym = ctx.store.pseudonymise(request.customerId);
  const now = ctx.clock().getTime();

  const held = ctx.store.db.transaction(() => {
    const row = idempotency.find(actor.keyId, keySha256);
    // An answer past its window, or a reservation past any request's run, no longer holds the key.
    const lifeMs = row?.response === null ? abandonedAfterSeconds * 1000 : idempotencyWindowHours * 3_600_000;
    if (row !== undefined && Date.parse(row.createdAt) > now - lifeMs) return row;
    idempotency.reserve(actor.keyId, keySha256, request.operation, pseudonym);
    return undefined;
  });

  if (held !== undefined) {
    if (held.response === null) {
      throw new VoicePassportError('idempotency-key-in-use', 'A request with this Idempotency-Key is still being processed; retry when it has been answered.', undefined, 1);
    }
    // The audio is read only when the first request's fingerprint covered it.
    const same =
      held.operation === request.operation &&
      held.subjectPseudonym === pseudonym &&
      (held.fingerprint === (await fingerprint(request, undefined)) || held.fingerprint === (await fingerprint(request, readAudio)));
    if (!same) {
      throw new VoicePassportError('idempotency-key-reused', 'This Idempotency-Key was used for another request (another subject, operation, query or audio); use a new key for a new request.');
    }
    return { result: JSON.parse(held.response) as T, replayed: true };
  }

  let result: T;
  let audioRead = false;
  const tracked: ReadAudio = () => {
    audioRead = true;
    return readAudio();
  };
  try {
    result = await run(tracked);
    const print = await fingerprint(request, audioRead ? readAudio : undefined);
    idempotency.complete(actor.keyId, keySha256, print, JSON.stringify(result));
  } catch (e) {
    idempotency.release(actor.keyId, keySha256);
    throw e;
  }
  return { result, replayed: false };
}

/**
 * SHA-256 over what makes the request, each part length-prefixed so that no two requests share one;
 * with the audio and its type when `readAudio` is given, marked either way.
 */
async function fingerprint(request: IdempotentRequest, readAudio: ReadAudio | undefined): Promise<string> {
  const h = createHash('sha256');
  const text = (part: string) => h.update(`${Buffer.byteLength(part)}:${part}`);
  text(request.operation);
  text(request.parameters);
  if (readAudio === undefined) {
    text('audio not read');
  } else {
    const audio = await readAudio();
    text(audio.contentType);
    h.update(`${audio.bytes.byteLength}:`).update(audio.bytes);
  }
  return h.digest('hex');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
