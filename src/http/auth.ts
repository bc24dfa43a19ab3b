/**
 * API-key authentication and role checks (GDPR Art. 32(1)(b) access control; Art. 25(2) data
 * protection by default: each role reaches only the endpoints its job needs).
 *
 *   telephony  verify; record consent captured in the IVR (and withdraw it there, Art. 7(3))
 *   enrolment  the customer channel: consent, enrol, view, export, erase
 *   operator   policies, statistics, audit, metrics, lockout reset; never biometric data
 *   admin      API keys
 *
 * `Authorization: Bearer <key>`; no key or a wrong/revoked key → 401 with WWW-Authenticate
 * (RFC 6750 §3), a role outside its endpoints → 403.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { VoicePassportError } from '../errors.js';
import type { Actor } from '../passport/context.js';
import type { ApiKeyRecord, ApiKeyRole } from '../store/index.js';

declare global {
  namespace Express {
    interface Locals {
      actor?: Actor;
    }
  }
}

export interface KeyAuthenticator {
  /** The active key for a secret, or undefined (unknown, malformed or revoked). */
  authenticate(secret: string): ApiKeyRecord | undefined;
}

export const authRealm = 'voice-passport';

/** RFC 6750 §2.1: `Bearer` (case-insensitive scheme) and a token of token68 characters. */
const bearer = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;

function challenge(res: Response, error?: 'invalid_token'): void {
  res.setHeader('WWW-Authenticate', error ? `Bearer realm="${authRealm}", error="${error}"` : `Bearer realm="${authRealm}"`);
}

export function authenticate(keys: KeyAuthenticator): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') {
      challenge(res);
      next(new VoicePassportError('unauthorized', 'Send an API key as "Authorization: Bearer <key>".'));
      return;
    }
    const m = bearer.exec(header);
    const record = m ? keys.authenticate(m[1]!) : undefined;
    if (record === undefined) {
      // Same answer for malformed, unknown and revoked keys: nothing to learn by probing.
      challenge(res, 'invalid_token');
      next(new VoicePassportError('unauthorized', 'The API key is not valid.'));
      return;
    }
    res.locals.actor = { keyId: record.id, role: record.role };
    next();
  };
}

export function requireRole(roles: readonly ApiKeyRole[]): RequestHandler {
  return (_req, res, next) => {
    const actor = res.locals.actor;
    if (actor === undefined) {
      next(new VoicePassportError('unauthorized', 'Send an API key as "Authorization: Bearer <key>".'));
      return;
    }
    if (!roles.includes(actor.role)) {
      next(new VoicePassportError('forbidden', `A ${actor.role} key may not call this endpoint; it needs a ${roles.join(' or ')} key.`, { requiredRoles: [...roles] }));
      return;
    }
    next();
  };
}

/** The authenticated caller (routes behind `authenticate`). */
export function actorOf(res: Response): Actor {
  const actor = res.locals.actor;
  if (actor === undefined) throw new VoicePassportError('unauthorized', 'No API key was authenticated for this request.');
  return actor;
}
