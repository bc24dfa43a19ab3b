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

/** Sets up `server` to serve `app`: WebSocket upgrades through the app, refused requests in problem+json, slow-loris limits. */
export function serveApp(server: Server, app: (req: IncomingMessage, res: ServerResponse) => void): Server {
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
