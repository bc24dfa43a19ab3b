/**
 * RFC 9457 problem details. The one place that turns a VoicePassportError (or anything else
 * thrown) into an HTTP response. 5xx bodies never carry internals: the message of an
 * unexpected error is logged with the request id, and the caller gets only the id.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, Response } from 'express';
import { errorCatalogue, isForClients, isVoicePassportError, VoicePassportError, type ErrorCode } from '../errors.js';

export const problemContentType = 'application/problem+json';

/** Stable problem type URIs: one per catalogue code, documented in the OpenAPI document. */
export function problemType(code: ErrorCode): string {
  return `https://voice-passport.dev/problems/${code}`;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

export function problemBody(err: VoicePassportError, requestId?: string, instance?: string): ProblemBody {
  const { status, title } = errorCatalogue[err.code];
  const body: ProblemBody = { type: problemType(err.code), title, status, code: err.code, detail: err.message };
  if (instance !== undefined) body.instance = instance;
  if (requestId !== undefined) body.requestId = requestId;
  // Extension members (RFC 9457 §3.2): machine-readable figures such as netSpeechSeconds.
  if (err.details) for (const [k, v] of Object.entries(err.details)) if (!(k in body)) body[k] = v;
  return body;
}

/**
 * A whole HTTP/1.1 response carrying the problem, for a socket no Express response owns (a request
 * the HTTP parser refused, an upgrade that cannot be served); the connection closes after it.
 */
export function rawProblemResponse(err: VoicePassportError, requestId: string = randomUUID()): string {
  const body = JSON.stringify(problemBody(err, requestId));
  const reason = STATUS_CODES[err.status] ?? 'Error';
  // What the app's responses carry too (helmet, app.ts): never cached or sniffed, nothing to run, and
  // a request id to quote, although no request reached the app.
  const headers = [
    `Content-Type: ${problemContentType}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'",
    `X-Request-Id: ${requestId}`,
    'Connection: close',
  ];
  return `HTTP/1.1 ${err.status} ${reason}\r\n${headers.join('\r\n')}\r\n\r\n${body}`;
}

export function sendProblem(res: Response, err: VoicePassportError, req?: Request): void {
  const requestId = typeof req?.id === 'string' ? req.id : undefined;
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
  res.status(err.status).type(problemContentType).send(JSON.stringify(problemBody(err, requestId, req?.originalUrl?.split('?')[0])));
}

/** Errors raised by Express/body-parser carry `type`/`status`; map them to catalogue codes. */
function fromFrameworkError(err: unknown): VoicePassportError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string; limit?: number };
  const status = e.status ?? e.statusCode;
  switch (e.type) {
    case 'entity.too.large':
      return new VoicePassportError('payload-too-large', `The request body exceeds the limit of ${e.limit ?? '?'} bytes.`, { limitBytes: e.limit });
    case 'entity.parse.failed':
      return new VoicePassportError('validation-failed', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
      // Bodies are read without inflating (src/http/bodies.ts): a few kilobytes of gzip must not
      // unpack into the audio limit's tens of megabytes.
      return new VoicePassportError('unsupported-media-type', 'The request body must not be compressed: send it without a Content-Encoding.');
    case 'charset.unsupported':
      return new VoicePassportError('unsupported-media-type', e.message ?? 'Unsupported charset.');
    case 'request.aborted':
    case 'request.size.invalid':
      return new VoicePassportError('validation-failed', 'The request body was incomplete.');
    default:
      if (status !== undefined && status >= 400 && status < 500) {
        return new VoicePassportError('validation-failed', 'The request could not be read.');
      }
      return undefined;
  }
}

export const problemErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (res.headersSent) {
    // The answer is under way (a file partly sent): no problem can follow it. The connection is cut,
    // as Express's own handler does, so the client sees a broken answer, not a whole one; logged here
    // with the request id rather than by Express on stderr.
    req.log?.error({ err }, 'request failed after its answer began; connection cut');
    req.socket.destroy();
    return;
  }
  const known = isVoicePassportError(err) ? err : fromFrameworkError(err);
  if (isForClients(known)) {
    // Catalogue errors written for the client (4xx, and 503 overloaded/not-ready): safe to show.
    if (known.status >= 500) req.log?.warn({ code: known.code }, known.message);
    sendProblem(res, known, req);
    return;
  }
  // Anything else: log the cause with the request id; the body never carries internals.
  req.log?.error({ err }, 'request failed');
  sendProblem(res, new VoicePassportError('internal', 'An unexpected error occurred; quote the requestId when reporting it.'), req);
};
