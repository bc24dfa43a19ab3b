import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Accept a caller's X-Request-Id only if it is short and plain, so it cannot inject into logs. */
const acceptable = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && acceptable.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Paths carry customer ids (/v1/subjects/{id}, /v1/operator/subjects/{id}/…) and the ids of a
 * customer's calls (/v1/verifications/{id}/outcome); logs must not. Replace the id segment and drop
 * the query string before anything is logged.
 */
export function loggablePath(url: string | undefined): string {
  const pathOnly = (url ?? '').split('?')[0] ?? '';
  return pathOnly.replace(/^(\/v1\/(?:operator\/)?subjects\/|\/v1\/verifications\/)[^/]+/i, '$1:id');
}
