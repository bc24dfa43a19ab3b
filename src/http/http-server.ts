/**
 * The HTTP server around the app: what the service and the tests' listening harness both set on it,
 * so the tests meet the server the service runs.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { VoicePassportError } from '../errors.js';
import { rawProblemResponse } from './problem.js';
import { endAndClose, upgradeThroughApp } from './verification-stream.js';

/**
 * The problem for a request Node's HTTP parser refused before the app saw it (its default answer is a
 * bare status line): headers over Node's 16 KiB, headers or a body not received in time
 * (headersTimeout, requestTimeout), or bytes that are not HTTP/1.1. Undefined: nothing to answer (the
 * client went away).
 */
export function clientErrorProblem(err: NodeJS.ErrnoException): VoicePassportError | undefined {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      return new VoicePassportError('request-headers-too-large', 'The request headers are larger than the 16 KiB this service reads; send fewer or shorter headers.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new VoicePassportError('request-timeout', 'The request did not arrive in time: headers must come within 15 s and the whole request within 60 s.');
    default:
      return new VoicePassportError('validation-failed', 'The request is not valid HTTP/1.1 and could not be read.');
  }
}

/** What drainServer needs of a server serveApp set up: the responses not yet finished, and whether it is draining. */
interface ServedState {
  inFlight: Set<ServerResponse>;
  draining: boolean;
}
const served = new WeakMap<Server, ServedState>();

/** Sets up `server` to serve `app`: WebSocket upgrades through the app, refused requests in problem+json, slow-loris limits. */
export function serveApp(server: Server, app: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const state: ServedState = { inFlight: new Set(), draining: false };
  served.set(server, state);
  // Before the app's own listener: a request that arrives while the server drains (on a keep-alive
  // connection it already had) is answered with Connection: close, so its socket ends with it.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (state.draining) res.setHeader('Connection', 'close');
    state.inFlight.add(res);
    res.once('close', () => state.inFlight.delete(res));
    // A response already under way when the drain began went without Connection: close: its
    // connection is closed as soon as it is idle, not kept until keepAliveTimeout.
    res.once('finish', () => {
      if (state.draining) setImmediate(() => server.closeIdleConnections());
    });
  });
  // WebSocket handshakes (streaming verification) go through the app like any request.
  server.on('upgrade', upgradeThroughApp(app));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const problem = clientErrorProblem(err);
    // As Node's own handler: only on a socket nothing was written to yet (not mid-response).
    if (problem === undefined || !socket.writable || (socket as Socket).bytesWritten > 0) {
      socket.destroy();
      return;
    }
    endAndClose(socket, rawProblemResponse(problem));
  });
  // Slow-loris protection: a caller must send headers and body within bounded time.
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

/**
 * Stops `server` taking connections and lets the requests in flight finish: idle keep-alive
 * connections close now, busy ones once their response is sent (each carries Connection: close,
 * RFC 9112 §9.6), and whatever is still open `deadlineMs` later (a slow upload, a client that sent
 * half a request) is cut, so a shutdown is never held by a client. Resolves once every connection is
 * closed, with how many requests were unfinished when they were cut. WebSocket streams are not HTTP
 * connections any more: their owner closes them (VerificationStreams.close).
 */
export function drainServer(server: Server, deadlineMs: number): Promise<{ cutRequests: number }> {
  const state = served.get(server);
  if (state !== undefined) {
    state.draining = true;
    for (const res of state.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
  }
  return new Promise((resolve) => {
    let cutRequests = 0;
    const deadline = setTimeout(() => {
      cutRequests = state?.inFlight.size ?? 0;
      server.closeAllConnections();
    }, deadlineMs);
    // The callback's error (the server was not listening) changes nothing: there is nothing to wait for.
    server.close(() => {
      clearTimeout(deadline);
      resolve({ cutRequests });
    });
    server.closeIdleConnections();
  });
}
