/**
 * Streaming verification over WebSocket (RFC 6455), for telephony platforms that carry the call's
 * audio as it is spoken: `GET /v1/subjects/{id}/verifications/stream?policy=…&codec=PCMU|PCMA|L16`.
 *
 * The handshake is an ordinary request through the Express app (upgradeThroughApp), so it gets the
 * request id, log line, authentication (401), rate limit (429), role check (403), validation (400)
 * and problem+json answers every other route gets; only a handshake that passes them all is upgraded.
 *
 * Messages, client → server: binary = raw audio in the codec; text `{"type":"end"}` = no more audio.
 * Server → client (JSON text):
 *   {"type":"listening", requiredSpeechSeconds, maxAudioSeconds}   the checks passed; send audio
 *   {"type":"progress", receivedSeconds, netSpeechSeconds, requiredSpeechSeconds}
 *   {"type":"result", analysedSeconds, "verification": <the body POST …/verifications answers>}
 *       then close 1000; analysedSeconds: how much of the stream the decision was made on
 *   {"type":"error", "problem": <RFC 9457 problem details>}   then close 1008 (the client's
 *       fault), 1013 (overloaded: try again later) or 1011 (the server's)
 * A stream closed by the client before its result is an abandoned attempt: nothing is scored or
 * recorded, as for a request body that never arrived (if its audio was analysed already, that use is
 * audited: `verification.abandoned`). A stream that stays silent for
 * VP_STREAM_IDLE_SECONDS, or lasts VP_MAX_AUDIO_SECONDS + 30 s, is decided on what it holds.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import { WebSocketServer, type RawData, type ServerOptions, type WebSocket } from 'ws';
import { z } from 'zod';
import { isForClients, VoicePassportError } from '../errors.js';
import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from '../audio/content-type.js';
import { switchedProtocolsEvent, type Metrics } from '../observability/metrics.js';
import type { Actor, PassportContext } from '../passport/context.js';
import { SpeechStream, streamAudioFormat } from '../passport/verification-stream.js';
import { findPolicy, recordAbandonedStream, verifyCaller } from '../passport/verification.js';
import { pseudonymOf } from '../passport/views.js';
import { actorOf } from './auth.js';
import { problemBody, rawProblemResponse } from './problem.js';
import type { RouteSpec } from './route-table.js';
import { parseOrThrow } from './validation.js';

export const verificationStreamPath = '/v1/subjects/:id/verifications/stream';

/** Largest WebSocket message taken: 1 MiB, over 2 minutes of G.711 (a platform sends 20-100 ms frames). */
export const maxStreamMessageBytes = 1024 * 1024;

/** Beyond VP_MAX_AUDIO_SECONDS of wall-clock time, this much slack before a stream is decided on what it holds. */
export const LIFETIME_SLACK_SECONDS = 30;

const streamQuery = z
  .object({
    policy: z.string().max(64).optional(),
    codec: z.enum(['PCMU', 'PCMA', 'L16']).default('PCMU'),
    rate: z.coerce.number().int().min(MIN_SAMPLE_RATE).max(MAX_SAMPLE_RATE).optional(),
    speechSeconds: z.coerce.number().positive().optional(),
  })
  .strict()
  .refine((q) => q.rate === undefined || q.codec === 'L16', { message: 'rate applies to codec L16 only (G.711 is 8 kHz)', path: ['rate'] });

const endMessage = z.object({ type: z.literal('end') }).strict();

/** What upgradeThroughApp leaves on a request for the route that upgrades it. */
const upgradeKey = Symbol('voice-passport.upgrade');
interface PendingUpgrade {
  socket: Duplex;
  head: Buffer;
}
type UpgradeRequest = IncomingMessage & { [upgradeKey]?: PendingUpgrade };

/**
 * The server's 'upgrade' listener: runs an upgrade request through the Express app with a response
 * on the raw socket, so the stream route's middleware answers a refused handshake in plain HTTP. A
 * route that accepts takes the socket over (VerificationStreams); any other answer ends it.
 *
 * With a listener, Node hands it every request that asks to switch protocols (curl --http2 asks for
 * h2c on plain HTTP, for one), with the HTTP parser gone from the socket. A request without a body
 * is answered as usual, in HTTP/1.1, which is what a client that asked for another protocol expects
 * when the server does not switch (RFC 9110 §7.8). One with a body cannot be: nothing would read
 * the body any more, so it gets a 400 at once instead of waiting for it.
 */
export function upgradeThroughApp(app: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    // Node removes its own 'error' listener from a socket it hands to 'upgrade': without one, a
    // client that resets the connection (ECONNRESET, EPIPE) would raise an unhandled 'error' and
    // crash the process, before any key was checked. The WebSocket library adds its own once it
    // takes an accepted socket over.
    socket.on('error', () => socket.destroy());
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
      endAndClose(socket, rawProblemResponse(new VoicePassportError('validation-failed', 'This service switches protocols only for the WebSocket of a verification stream; send a request with a body without "Upgrade".')));
      return;
    }
    (req as UpgradeRequest)[upgradeKey] = { socket, head };
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.on('finish', () => {
      res.detachSocket(socket as Socket);
      endAndClose(socket);
    });
    app(req, res);
  };
}

/**
 * Writes the last bytes and closes the socket for good. A socket handed to 'upgrade' is outside
 * every HTTP timeout (keep-alive, headers, request), so ending only our side would leave it half
 * open for as long as the client keeps its side: a file descriptor held, and the server's close
 * waiting on it at shutdown.
 */
export function endAndClose(socket: Duplex, data?: string): void {
  socket.end(data ?? '', () => socket.destroy());
  // A client that never reads what was written stops end() from finishing: cut it off after a while.
  setTimeout(() => socket.destroy(), 5_000).unref();
}

/** The socket and the bytes after the headers, when this request came through upgradeThroughApp asking for a WebSocket. */
function pendingUpgrade(req: Request): PendingUpgrade | undefined {
  const pending = (req as UpgradeRequest)[upgradeKey];
  return pending !== undefined && req.headers.upgrade?.toLowerCase() === 'websocket' ? pending : undefined;
}

export interface VerificationStreamsOptions {
  passport: PassportContext;
  /** VP_MAX_AUDIO_SECONDS: the most audio one stream keeps. */
  maxAudioSeconds: number;
  /** VP_STREAM_MAX_OPEN: streams open at once; the next handshake gets 503 overloaded. */
  maxOpen: number;
  /** VP_STREAM_IDLE_SECONDS: a stream that sends nothing for this long is decided on what it holds. */
  idleSeconds: number;
  /** Wall-clock slack beyond maxAudioSeconds before a stream is decided on what it holds; LIFETIME_SLACK_SECONDS by default (tests shorten it). */
  lifetimeSlackSeconds?: number;
  metrics?: Metrics;
}

type ServerMessage =
  | { type: 'listening'; requiredSpeechSeconds: number; maxAudioSeconds: number }
  | { type: 'progress'; receivedSeconds: number; netSpeechSeconds: number; requiredSpeechSeconds: number }
  | { type: 'result'; analysedSeconds: number | null; verification: unknown }
  | { type: 'error'; problem: unknown; retryAfterSeconds?: number };

/** WebSocket close codes (RFC 6455 §7.4.1) for an error's HTTP status. */
function closeCodeFor(status: number): number {
  if (status === 503) return 1013; // try again later (overloaded, not-ready)
  return status >= 500 ? 1011 : 1008;
}

/** RFC 6455 §4.1: a base64-encoded 16-byte nonce. */
const websocketKey = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 6455 §4.1 and RFC 9110 §5.6.2: Sec-WebSocket-Protocol is a list of tokens. */
const protocolList = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/;

/**
 * The handshake's own fields (RFC 6455 §4.2.1), checked before the socket is handed to the
 * WebSocket library: it would refuse a malformed one itself, in text/html, after the response had
 * left the app (no problem+json, no log line).
 */
function checkHandshake(req: Request, res: Response): void {
  if (req.method !== 'GET') throw new VoicePassportError('validation-failed', 'A WebSocket handshake is a GET request (RFC 6455 §4.1).');
  if (!websocketKey.test(req.headers['sec-websocket-key'] ?? '')) {
    throw new VoicePassportError('validation-failed', 'The Sec-WebSocket-Key header is missing or is not a base64-encoded 16-byte value (RFC 6455 §4.1).');
  }
  const version = req.headers['sec-websocket-version'];
  if (version !== '13') {
    // RFC 6455 §4.4: name the versions this server speaks.
    res.setHeader('Sec-WebSocket-Version', '13');
    res.setHeader('Upgrade', 'websocket');
    throw new VoicePassportError('upgrade-required', 'Sec-WebSocket-Version must be 13 (RFC 6455).');
  }
  const protocol = req.headers['sec-websocket-protocol'];
  if (protocol !== undefined && !protocolList.test(protocol.trim())) {
    throw new VoicePassportError('validation-failed', 'The Sec-WebSocket-Protocol header is not a list of tokens (RFC 6455 §4.1).');
  }
  // RFC 6455 §4.1: the values must be unique (the WebSocket library refuses a repeated one itself, in text/html).
  const tokens = protocol === undefined ? [] : protocol.split(',').map((t) => t.trim());
  if (new Set(tokens).size !== tokens.length) {
    throw new VoicePassportError('validation-failed', 'The Sec-WebSocket-Protocol header names a subprotocol twice (RFC 6455 §4.1).');
  }
}

// closeTimeout (ws 8.23 takes it; @types/ws does not list it yet): a client that does not answer the closing
// handshake is cut off after 2 s instead of ws's 30 s.
// handleProtocols: this endpoint speaks no subprotocol, so it selects none (RFC 6455 §4.2.2) rather
// than echo the client's first one (the library's default), which would claim e.g. AudioHook's
// messages; a client that requires one then fails at the handshake, as it should.
const serverOptions: ServerOptions & { closeTimeout: number } = { noServer: true, maxPayload: maxStreamMessageBytes, closeTimeout: 2000, handleProtocols: () => false };

export class VerificationStreams {
  private readonly wss = new WebSocketServer(serverOptions);
  /**
   * Open streams: the key that opened each, and how to end it before its decision (abandoned, then
   * closed: `end` with a close code, `refuse` with a problem message first).
   */
  private readonly sessions = new Map<WebSocket, { keyId: string; end: (code: number, reason: string) => void; refuse: (err: VoicePassportError) => void }>();

  /** Set once close() begins: a handshake arriving while the service stops is refused, not opened. */
  private closing = false;

  constructor(private readonly opts: VerificationStreamsOptions) {
    // The WebSocket library writes the 101 itself, without the headers the app set on the response:
    // give it the request id, which the stream's log lines carry, so a platform can quote it as for
    // any other call. (req.id is the one request-id.ts accepted or made: plain characters only.)
    this.wss.on('headers', (headers: string[], req: IncomingMessage & { id?: unknown }) => {
      if (typeof req.id === 'string') headers.push(`X-Request-Id: ${req.id}`);
    });
  }

  /** Streams open now. */
  get open(): number {
    return this.sessions.size;
  }

  /** The handshake route (telephony keys, like POST …/verifications). */
  route(): RouteSpec {
    return { method: 'get', path: verificationStreamPath, roles: ['telephony'], handlers: [this.handshake] };
  }

  /**
   * Ends every open stream with 1001 (going away): the service is stopping. A client that does not
   * answer the closing handshake within `graceMs` is cut off, so shutdown never waits on it.
   */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    const open = [...this.sessions];
    for (const [, { end }] of open) end(1001, 'server shutting down');
    const closed = Promise.all(open.map(([ws]) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())))));
    const timer = new Promise<'late'>((resolve) => setTimeout(resolve, graceMs, 'late').unref());
    if ((await Promise.race([closed, timer])) === 'late') for (const [ws] of open) ws.terminate();
    this.wss.close();
  }

  /**
   * Ends the undecided streams a key opened, now that it is revoked (the API's revocation; one by
   * `voice-passport keys revoke`, another process, reaches only new handshakes): each is told so
   * (401) and closed, nothing scored or recorded. Answers how many.
   */
  endStreamsOf(keyId: string): number {
    const ofKey = [...this.sessions.values()].filter((s) => s.keyId === keyId);
    for (const s of ofKey) s.refuse(new VoicePassportError('unauthorized', 'The API key of this stream was revoked; nothing was decided or recorded.'));
    return ofKey.length;
  }

  private readonly handshake: RequestHandler = (req, res) => {
    const q = parseOrThrow(streamQuery, req.query, 'query');
    if (q.speechSeconds !== undefined && q.speechSeconds > this.opts.maxAudioSeconds) {
      throw new VoicePassportError('validation-failed', `speechSeconds may be at most VP_MAX_AUDIO_SECONDS (${this.opts.maxAudioSeconds}).`, { maxAudioSeconds: this.opts.maxAudioSeconds });
    }
    // An unknown policy is a 400 before the upgrade, not an error message after it.
    findPolicy(this.opts.passport, q.policy);
    const pending = pendingUpgrade(req);
    if (pending === undefined) {
      res.setHeader('Upgrade', 'websocket'); // RFC 9110 §15.5.22: a 426 names the protocol to switch to
      throw new VoicePassportError('upgrade-required', 'Open this endpoint as a WebSocket (RFC 6455): GET with "Connection: Upgrade" and "Upgrade: websocket"; for one recording, POST it to …/verifications.');
    }
    checkHandshake(req, res);
    // A malformed customer id is a 400 before the upgrade too.
    pseudonymOf(this.opts.passport, String(req.params.id ?? ''));
    if (this.closing) {
      // A stream opened now would be neither ended with the others nor waited for, and would hold
      // the server's close until it was decided.
      throw new VoicePassportError('not-ready', 'The service is stopping; open the stream again on another instance or once it is back.', undefined, 1);
    }
    if (this.sessions.size >= this.opts.maxOpen) {
      throw new VoicePassportError('overloaded', `${this.sessions.size} verification streams are open, the most this service takes (VP_STREAM_MAX_OPEN); retry shortly.`, undefined, 1);
    }
    const actor = actorOf(res);
    const customerId = String(req.params.id ?? '');
    // The WebSocket library writes the 101 itself; the response must no longer write to the socket.
    res.statusCode = 101;
    res.detachSocket(pending.socket as Socket);
    this.wss.handleUpgrade(req, pending.socket, pending.head, (ws) => {
      // The 101 is written: counted in the HTTP metrics like any other answer (it never 'finish'es).
      res.emit(switchedProtocolsEvent);
      this.session(ws, req, actor, customerId, q);
    });
  };

  private session(ws: WebSocket, req: Request, actor: Actor, customerId: string, q: z.infer<typeof streamQuery>): void {
    const { passport, maxAudioSeconds, metrics } = this.opts;
    const log = req.log.child({ stream: true });
    metrics?.openStreams.inc();
    const send = (m: ServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const stream = new SpeechStream({
      embedder: passport.embedder,
      format: streamAudioFormat(q.codec, q.rate),
      maxAudioSeconds,
      onProgress: (p) => send({ type: 'progress', ...p }),
    });
    let decided = false;
    const endStream = () => stream.end();
    let idle = setTimeout(endStream, this.opts.idleSeconds * 1000);
    const lifetime = setTimeout(endStream, (maxAudioSeconds + (this.opts.lifetimeSlackSeconds ?? LIFETIME_SLACK_SECONDS)) * 1000);
    // Ending a stream before its decision abandons it first, so an analysis still in flight can no
    // longer be scored and recorded behind the client's back.
    const endUndecided = (code: number, reason: string) => {
      stream.abandon();
      ws.close(code, reason);
    };
    // The stream's place among VP_STREAM_MAX_OPEN is given up once the server has said its last word,
    // not when the client gets round to answering the close: a client that never does would
    // otherwise hold the place until the closing handshake times out.
    let holdsPlace = true;
    const givePlaceUp = () => {
      if (!holdsPlace) return;
      holdsPlace = false;
      this.sessions.delete(ws);
      metrics?.openStreams.dec();
    };
    const fail = (err: VoicePassportError) => {
      const problem = problemBody(err, typeof req.id === 'string' ? req.id : undefined, req.originalUrl.split('?')[0]);
      // What REST says in Retry-After (overloaded), a stream says in the message.
      send({ type: 'error', problem, ...(err.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: Math.max(1, Math.ceil(err.retryAfterSeconds)) }) });
      ws.close(closeCodeFor(err.status), err.code);
      givePlaceUp();
    };
    this.sessions.set(ws, {
      keyId: actor.keyId,
      end: endUndecided,
      refuse: (err) => {
        stream.abandon();
        fail(err);
      },
    });

    ws.on('message', (data: RawData, isBinary: boolean) => {
      clearTimeout(idle);
      idle = setTimeout(endStream, this.opts.idleSeconds * 1000);
      if (isBinary) {
        for (const chunk of Array.isArray(data) ? data : [data]) stream.push(chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : chunk);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        parsed = undefined;
      }
      if (endMessage.safeParse(parsed).success) {
        stream.end();
        return;
      }
      stream.abandon();
      fail(new VoicePassportError('validation-failed', 'A text message must be {"type":"end"}; send the audio as binary messages.'));
    });
    ws.on('close', (code) => {
      clearTimeout(idle);
      clearTimeout(lifetime);
      givePlaceUp();
      // Closed before its result: an abandoned attempt, never scored or recorded; audited if its audio was analysed.
      if (!decided) {
        stream.abandon();
        // In a socket's close listener a throw (the disk full, the database locked past its timeout)
        // would be uncaught and end the process: the record is lost, and said so, instead.
        try {
          if (stream.analyses > 0 && this.opts.passport.store.db.isOpen) recordAbandonedStream(passport, actor, customerId, stream);
        } catch (err) {
          log.error({ err }, 'the abandoned verification stream could not be recorded');
        }
      }
      log.info({ code, decided, receivedSeconds: Math.round(stream.receivedSeconds * 10) / 10 }, 'verification stream closed');
    });
    ws.on('error', (err) => log.warn({ err }, 'verification stream error'));

    log.info({ codec: q.codec }, 'verification stream opened');
    // Seconds of the stream the decision was made on (null: decided by the checks, without audio).
    let analysedSeconds: number | null = null;
    // verifyCaller runs the consent, voiceprint and attempt checks before it first awaits, so before
    // any message of this stream is read.
    verifyCaller(passport, actor, customerId, q.policy, 'stream', async (policy, consentHolds) => {
      const requiredSpeechSeconds = Math.max(policy.minNetSpeechSeconds, q.speechSeconds ?? 0);
      send({ type: 'listening', requiredSpeechSeconds, maxAudioSeconds });
      // Each look at the stream first asks whether the consent still holds: after a withdrawal or an
      // erasure nothing more is analysed, and the attempt is decided without audio.
      const analysis = await stream.analysis(requiredSpeechSeconds, consentHolds);
      // The key was checked at the handshake only; by the decision (up to VP_MAX_AUDIO_SECONDS + 30 s
      // later) it may have expired, or been revoked by `voice-passport keys revoke` in another
      // process: then nothing is decided or recorded under it, as for a REST call with it.
      if (!passport.store.apiKeys.isActive(actor.keyId)) {
        throw new VoicePassportError('unauthorized', 'The API key of this stream expired or was revoked before the decision; nothing was decided or recorded.');
      }
      if (analysis === null) return null;
      analysedSeconds = Math.round(analysis.durationSeconds * 100) / 100;
      return analysis;
    }).then(
      (r) => {
        decided = true;
        metrics?.decisions.inc({ policy: r.policy, decision: r.decision, channel: r.channel ?? 'none' });
        send({ type: 'result', analysedSeconds, verification: r });
        ws.close(1000, 'decided');
        givePlaceUp();
      },
      (e: unknown) => {
        if (ws.readyState !== ws.OPEN) return; // abandoned: nobody to tell
        if (isForClients(e)) {
          if (e.status >= 500) log.warn({ code: e.code }, e.message);
          fail(e);
          return;
        }
        log.error({ err: e }, 'verification stream failed');
        fail(new VoicePassportError('internal', 'An unexpected error occurred; quote the requestId when reporting it.'));
      },
    ).finally(() => stream.wipe());
  }
}
