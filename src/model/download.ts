/**
 * Downloads one file over HTTPS into a temporary file, hashing it on the way. Used by
 * `voice-passport models fetch`; a model file is executable input to onnxruntime, so the rules are
 * strict and every failure is a VoicePassportError whose `details.reason` says what went wrong:
 *
 * - https only (plain http is allowed to loopback hosts alone, so tests can serve a local file);
 *   a redirect must satisfy the same rule, and at most `maxRedirects` are followed. Only a URL given
 *   is refused as the caller's error (`insecure-url`); an insecure redirect (`insecure-redirect`)
 *   or too many (`redirects`) is the server's, like an HTTP error;
 * - a byte cap, checked against Content-Length first and then while streaming; the body is asked
 *   for unencoded (a server that encodes it anyway is decoded, without the Content-Length checks);
 * - an overall deadline and an idle deadline (no bytes for `idleTimeoutMs`), so a stalled server
 *   cannot hang the command, and the caller's abort signal (Ctrl-C);
 * - the temporary file is created exclusively (O_EXCL, mode 0600) and removed on any failure:
 *   nothing half-written is ever left behind.
 */
import { createHash } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { VoicePassportError } from '../errors.js';

export type DownloadFailure = 'insecure-url' | 'insecure-redirect' | 'redirects' | 'http-status' | 'too-large' | 'timeout' | 'network' | 'interrupted';

export interface DownloadOptions {
  /** Most bytes accepted; larger bodies are refused before or while reading. */
  maxBytes: number;
  /** Deadline for the whole transfer, redirects included. */
  timeoutMs: number;
  /** Deadline between two received chunks (and for the response headers). */
  idleTimeoutMs: number;
  maxRedirects: number;
  /** Called after each chunk; for a progress line on a terminal. */
  onProgress?: (received: number, total: number | null) => void;
  /** Aborted by the caller (the CLI on SIGINT/SIGTERM): stop, remove the file, fail as `interrupted`. */
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** The URL the bytes finally came from (after redirects). */
  finalUrl: string;
  bytes: number;
  sha256: string;
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

function fail(reason: DownloadFailure, message: string, details: Record<string, unknown> = {}): VoicePassportError {
  // A URL the operator typed wrongly is theirs to fix (exit 2); the rest, a server's redirect
  // included, is the remote side's doing (and another address may serve the file).
  return new VoicePassportError(reason === 'insecure-url' ? 'validation-failed' : 'model-invalid', message, { reason, ...details });
}

const httpsOnly =
  'only https:// URLs are allowed (plain http only to localhost), because a model file fetched over an unauthenticated channel could be swapped on the way';
const noCredentials = 'credentials in a URL end up in logs and shell history';

/** The URL as it may be shown: without credentials. */
function shown(url: URL): string {
  return url.username !== '' || url.password !== '' ? `${url.protocol}//…@${url.host}${url.pathname}` : url.href;
}

/** Why bytes may not come from `url`, or null: https anywhere, http only to this machine, no credentials. */
function insecurity(url: URL): string | null {
  if (url.username !== '' || url.password !== '') return noCredentials;
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname))) return null;
  return httpsOnly;
}

/** Parses and checks a download URL: https anywhere, http only to this machine. */
export function checkDownloadUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw fail('insecure-url', `"${raw}" is not a URL`, { url: raw });
  }
  const why = insecurity(url);
  if (why === noCredentials) throw fail('insecure-url', `refusing ${url.protocol}//…@${url.host}: ${why}`, { url: `${url.protocol}//${url.host}${url.pathname}` });
  if (why !== null) throw fail('insecure-url', `refusing to download from ${url.href}: ${why}`, { url: url.href });
  return url;
}

/** Where a redirect from `from` leads, checked by the same rule as a URL given. */
function redirectTarget(location: string, from: URL): URL {
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    throw fail('http-status', `${from.href} redirected to "${location}", which is not a URL`, { url: from.href });
  }
  const why = insecurity(target);
  if (why !== null) throw fail('insecure-redirect', `${from.href} redirected to ${shown(target)}: ${why}`, { url: shown(target), from: from.href });
  return target;
}

/**
 * Streams `url` into `tempPath` (which must not exist). Resolves with the size and sha256 of what
 * was written; on any failure the temporary file is removed before the error is thrown.
 */
export async function downloadToFile(rawUrl: string, tempPath: string, opts: DownloadOptions): Promise<DownloadResult> {
  let url = checkDownloadUrl(rawUrl);
  let received = 0;
  const interrupted = () =>
    fail('interrupted', `download from ${url.href} was interrupted after ${received} bytes; the partial file was removed`, { url: url.href, received });
  if (opts.signal?.aborted === true) throw interrupted();
  // Before the timers and the listener below, which the finally clause would not clear if this threw.
  const file = await open(tempPath, 'wx', 0o600);
  const controller = new AbortController();
  let abortReason: 'timeout' | 'idle' | 'interrupted' | null = null;
  const onInterrupt = () => {
    abortReason ??= 'interrupted';
    controller.abort();
  };
  opts.signal?.addEventListener('abort', onInterrupt, { once: true });
  const overall = setTimeout(() => {
    abortReason ??= 'timeout';
    controller.abort();
  }, opts.timeoutMs);
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      abortReason ??= 'idle';
      controller.abort();
    }, opts.idleTimeoutMs);
  };
  const aborted = () =>
    abortReason === 'interrupted'
      ? interrupted()
      : fail(
          'timeout',
          abortReason === 'idle'
            ? `download from ${url.href} stalled: no data for ${opts.idleTimeoutMs / 1000} s`
            : `download from ${url.href} took longer than ${opts.timeoutMs / 1000} s`,
          { url: url.href, timeoutMs: abortReason === 'idle' ? opts.idleTimeoutMs : opts.timeoutMs },
        );

  let ok = false;
  try {
    let response: Response;
    for (let hop = 0; ; hop++) {
      armIdle();
      try {
        // redirect: 'manual' so that every hop is checked against the https rule and counted.
        // accept-encoding identity: fetch would otherwise ask for gzip and decode it, and
        // Content-Length would then count other bytes than the ones received.
        response = await fetch(url, {
          redirect: 'manual',
          signal: controller.signal,
          headers: { accept: 'application/octet-stream', 'accept-encoding': 'identity' },
        });
      } catch (e) {
        if (abortReason !== null) throw aborted();
        throw fail('network', `cannot reach ${url.href}: ${causeMessage(e)}`, { url: url.href });
      }
      if (response.status < 300 || response.status >= 400) break;
      const location = response.headers.get('location');
      await response.body?.cancel();
      if (location === null) throw fail('http-status', `${url.href} answered ${response.status} without a Location header`, { url: url.href, status: response.status });
      if (hop >= opts.maxRedirects) {
        throw fail('redirects', `more than ${opts.maxRedirects} redirects starting at ${rawUrl}; refusing to follow further`, { url: rawUrl, maxRedirects: opts.maxRedirects });
      }
      url = redirectTarget(location, url);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw fail('http-status', `${url.href} answered HTTP ${response.status} ${response.statusText}`.trimEnd(), { url: url.href, status: response.status });
    }
    // A server may encode anyway; fetch then decodes, and Content-Length is the encoded size, which
    // says nothing about the decoded one (the byte cap still holds while streaming, the sha256 check
    // after it protects the bytes).
    const encoding = (response.headers.get('content-encoding') ?? '').trim().toLowerCase();
    const declared = encoding === '' || encoding === 'identity' ? response.headers.get('content-length') : null;
    const total = declared !== null && /^\d+$/.test(declared) ? Number(declared) : null;
    if (total !== null && total > opts.maxBytes) {
      await response.body?.cancel();
      throw fail('too-large', `${url.href} is ${total} bytes, more than the limit of ${opts.maxBytes}`, { url: url.href, bytes: total, maxBytes: opts.maxBytes });
    }
    if (response.body === null) throw fail('http-status', `${url.href} answered ${response.status} with no body`, { url: url.href, status: response.status });

    const hash = createHash('sha256');
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        armIdle();
        received += chunk.byteLength;
        if (received > opts.maxBytes) {
          controller.abort();
          throw fail('too-large', `${url.href} sent more than the limit of ${opts.maxBytes} bytes`, { url: url.href, maxBytes: opts.maxBytes });
        }
        hash.update(chunk);
        await file.write(chunk);
        opts.onProgress?.(received, total);
      }
    } catch (e) {
      if (e instanceof VoicePassportError) throw e;
      if (abortReason !== null) throw aborted();
      throw fail('network', `download from ${url.href} broke off after ${received} bytes: ${causeMessage(e)}`, { url: url.href, received });
    }
    if (total !== null && received !== total) {
      throw fail('network', `download from ${url.href} ended after ${received} of ${total} bytes`, { url: url.href, received, bytes: total });
    }
    await file.sync();
    ok = true;
    return { finalUrl: url.href, bytes: received, sha256: hash.digest('hex') };
  } finally {
    clearTimeout(overall);
    clearTimeout(idle);
    opts.signal?.removeEventListener('abort', onInterrupt);
    await file.close();
    if (!ok) await unlink(tempPath).catch(() => undefined);
  }
}

function causeMessage(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
