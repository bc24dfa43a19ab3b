/**
 * Request bodies. JSON: `application/json` only, small, parsed by express.json. Audio: read raw, in
 * memory only (GDPR Art. 5(1)(c): never written to disk or logged), and only when a use case asks
 * for it, so a subject without consent never has audio even read.
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import { MAX_SAMPLE_RATE, parseAudioContentType } from '../audio/content-type.js';
import { VoicePassportError } from '../errors.js';
import type { AudioInput, ReadAudio } from '../passport/embedder.js';

export const jsonBodyLimitBytes = 64 * 1024;

/**
 * The body limit for audio: VP_MAX_AUDIO_SECONDS at the highest supported rate (48 kHz) with 8 bytes
 * per frame (stereo 32-bit, or mono 64-bit float WAV), plus 64 KiB for headers and metadata chunks.
 * A body beyond it cannot be audio within the duration limit → 413 before it is all read.
 */
export function audioBodyLimitBytes(maxAudioSeconds: number): number {
  return Math.ceil(maxAudioSeconds * MAX_SAMPLE_RATE * 8) + 64 * 1024;
}

// inflate: false: a compressed body is refused (415), since the limits count the bytes as sent and a
// small gzip body can unpack into far more than they allow.
const parseJson = express.json({ limit: jsonBodyLimitBytes, strict: true, type: 'application/json', inflate: false });

/** Requires `Content-Type: application/json` (415 otherwise) and parses the body. */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!req.is('application/json')) {
    next(new VoicePassportError('unsupported-media-type', 'Send the body as JSON with "Content-Type: application/json".'));
    return;
  }
  parseJson(req, res, next);
};

/**
 * A ReadAudio for this request: checks the Content-Type (415 for anything but the accepted audio
 * types), then reads the body up to `limitBytes` (413 beyond). Called by the use case, after its
 * consent check; a second call answers the same bytes (an idempotent request's fingerprint,
 * src/passport/idempotency.ts).
 */
export function audioReader(req: Request, res: Response, limitBytes: number): ReadAudio & { wipe(): void } {
  const parseRaw = express.raw({ type: () => true, limit: limitBytes, inflate: false });
  let body: Buffer | undefined;
  let reading: Promise<AudioInput> | undefined;
  const read = (() =>
    (reading ??= new Promise<AudioInput>((resolve, reject) => {
      const contentType = req.headers['content-type'] ?? '';
      try {
        parseAudioContentType(contentType);
      } catch (e) {
        reject(e);
        return;
      }
      parseRaw(req, res, (err?: unknown) => {
        if (err) {
          // The cap counts bytes, not seconds: audio of more channels or wider samples than stereo
          // 32-bit reaches it within the duration limit. Say so, and what to send instead.
          if ((err as { type?: string }).type === 'entity.too.large') {
            reject(
              new VoicePassportError(
                'payload-too-large',
                `The audio body exceeds ${limitBytes} bytes, the most VP_MAX_AUDIO_SECONDS of 48 kHz audio at 8 bytes a frame (stereo 32-bit) takes; send the caller's audio as mono 16-bit PCM or G.711.`,
                { limitBytes },
              ),
            );
            return;
          }
          reject(err);
          return;
        }
        body = Buffer.isBuffer(req.body) ? (req.body as Buffer) : Buffer.alloc(0);
        req.body = undefined;
        resolve({ bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), contentType });
      });
    }))) as ReadAudio & { wipe(): void };
  // Overwrite the audio in memory once the request is done with it.
  read.wipe = () => body?.fill(0);
  return read;
}
