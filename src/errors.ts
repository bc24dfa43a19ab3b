/**
 * The one catalogue of error types. Every failure a caller can see has a stable `code`
 * (part of the API contract, listed in the OpenAPI document) and an HTTP status. The HTTP
 * layer renders these as RFC 9457 `application/problem+json`; the CLI prints the same codes.
 *
 * Only `http/` turns these into responses; domain code throws them and never picks a status.
 */

export const errorCatalogue = {
  // --- audio input (caller can fix by sending different bytes) ---
  'audio-empty': { status: 400, title: 'The audio body is empty' },
  'audio-malformed': { status: 400, title: 'The audio could not be decoded' },
  'audio-unsupported': { status: 415, title: 'This audio encoding is not supported' },
  'audio-too-long': { status: 413, title: 'The audio is longer than the configured maximum' },
  'audio-invalid-samples': { status: 400, title: 'The audio contains NaN or infinite samples' },
  'audio-sample-rate-unsupported': { status: 400, title: 'The sample rate is outside 8-48 kHz' },
  'insufficient-speech': { status: 422, title: 'Not enough speech in the audio' },
  'poor-audio-quality': { status: 422, title: 'The audio quality is too poor to use' },

  // --- request shape ---
  'validation-failed': { status: 400, title: 'The request is not valid' },
  'unsupported-media-type': { status: 415, title: 'Unsupported Content-Type' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'upgrade-required': { status: 426, title: 'Open this endpoint as a WebSocket' },
  // Answered by the HTTP server itself, before a request reaches the app (src/http/http-server.ts).
  'request-timeout': { status: 408, title: 'The request did not arrive in time' },
  'request-headers-too-large': { status: 431, title: 'The request headers are too large' },
  // draft-ietf-httpapi-idempotency-key-header: 409 while the first request runs, 422 for another request under the same key.
  'idempotency-key-in-use': { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  'idempotency-key-reused': { status: 422, title: 'This Idempotency-Key was used for another request' },
  // RFC 9110 §13.1.1: If-Match names a version of the resource that is no longer current.
  'precondition-failed': { status: 412, title: 'The resource changed since it was read' },

  // --- who is calling ---
  unauthorized: { status: 401, title: 'A valid API key is required' },
  forbidden: { status: 403, title: 'This API key may not do that' },

  // --- privacy rules (GDPR Art. 9(2)(a): no biometric processing without explicit consent) ---
  'consent-required': { status: 403, title: 'The subject has not given active consent' },
  'not-enrolled': { status: 409, title: 'The subject has no voiceprint' },
  'model-changed': { status: 409, title: 'The voiceprint was made with another model; re-enrol' },
  'verification-not-scored': { status: 409, title: 'The verification compared no voice, so it has no match error' },
  'duplicate-sample': { status: 409, title: 'This recording is already a sample of the enrolment' },
  'notice-superseded': { status: 409, title: 'Consent must be given to the current consent notice' },

  // --- capacity ---
  'rate-limited': { status: 429, title: 'Too many requests' },
  overloaded: { status: 503, title: 'The inference queue is full' },
  'not-ready': { status: 503, title: 'The service is not ready' },

  // --- configuration and start-up (CLI/process only) ---
  'config-invalid': { status: 500, title: 'The configuration is invalid' },
  'model-invalid': { status: 500, title: 'The model or its manifest is invalid' },

  internal: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** The exit code of a configuration error, for the service and the CLI alike (EX_CONFIG, sysexits.h). */
export const EX_CONFIG = 78;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

/** Plain, structured-clone-safe form: crosses worker threads and goes into problem+json. */
export interface ErrorShape {
  code: ErrorCode;
  message: string;
  /** Extra machine-readable fields, e.g. `{ netSpeechSeconds: 1.2, requiredSeconds: 3 }`. Never audio or embeddings. */
  details?: Record<string, unknown>;
  /** Seconds a caller should wait before retrying (429/503/locked). */
  retryAfterSeconds?: number;
}

export class VoicePassportError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, retryAfterSeconds?: number) {
    super(message);
    this.name = 'VoicePassportError';
    this.code = code;
    this.details = details;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get status(): number {
    return errorCatalogue[this.code].status;
  }

  toShape(): ErrorShape {
    const shape: ErrorShape = { code: this.code, message: this.message };
    if (this.details !== undefined) shape.details = this.details;
    if (this.retryAfterSeconds !== undefined) shape.retryAfterSeconds = this.retryAfterSeconds;
    return shape;
  }

  static fromShape(shape: ErrorShape): VoicePassportError {
    const code = shape.code in errorCatalogue ? shape.code : 'internal';
    return new VoicePassportError(code, shape.message, shape.details, shape.retryAfterSeconds);
  }
}

export function isVoicePassportError(e: unknown): e is VoicePassportError {
  return e instanceof VoicePassportError;
}

/**
 * Whether an error's message was written for the client: every 4xx, and the 503s (overloaded,
 * not-ready) that say when to come back. A 500 of any code (internal, or a model or configuration
 * fault met at request time, whose message names files, shapes, settings) is shown as `internal`.
 */
export function isForClients(e: unknown): e is VoicePassportError {
  return isVoicePassportError(e) && (e.status < 500 || e.status === 503);
}
