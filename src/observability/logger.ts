/**
 * Structured logging (pino). Rules: a request id on every request line; never audio,
 * embeddings, API keys or raw customer ids. Redaction is a second line of defence; the first
 * is not passing such values to the logger at all.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'key',
  'apiKey',
  'masterKey',
  'embedding',
  'audio',
  'subjectId',
  'customerId',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'voice-passport' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
