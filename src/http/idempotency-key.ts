/**
 * The Idempotency-Key request header (draft-ietf-httpapi-idempotency-key-header §2): a Structured
 * Field string (RFC 8941 §3.3.3, parsed by structured-headers), e.g.
 * `Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`. A bare key of letters, digits and
 * `-._~:/+=` is taken too, as many clients send a UUID unquoted (which is no Structured Field: it
 * may start with a digit). At most 255 characters; anything else is a 400 with the reason.
 */
import type { Request } from 'express';
import { parseItem } from 'structured-headers';
import { VoicePassportError } from '../errors.js';

export const idempotencyKeyMaxLength = 255;

const bareKey = /^[A-Za-z0-9\-._~:/+=]+$/;

/** The key, or undefined without the header. */
export function idempotencyKeyOf(req: Pick<Request, 'headers'>): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  return parseIdempotencyKey(Array.isArray(raw) ? raw.join(', ') : raw);
}

export function parseIdempotencyKey(header: string): string {
  const value = header.trim();
  const key = value.startsWith('"') ? sfString(value) : bareKey.test(value) ? value : undefined;
  if (key === undefined) {
    throw new VoicePassportError('validation-failed', 'Idempotency-Key must be one quoted string of printable ASCII (RFC 8941), e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324".');
  }
  if (key.length === 0 || key.length > idempotencyKeyMaxLength) {
    throw new VoicePassportError('validation-failed', `Idempotency-Key must hold 1 to ${idempotencyKeyMaxLength} characters.`);
  }
  return key;
}

/** The value as a Structured Field string without parameters; undefined when it is not one. */
function sfString(value: string): string | undefined {
  try {
    const [item, parameters] = parseItem(value);
    return typeof item === 'string' && parameters.size === 0 ? item : undefined;
  } catch {
    return undefined;
  }
}
