import { EX_CONFIG, isVoicePassportError, type ErrorShape } from '../errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function errorShapeOf(e: unknown): ErrorShape {
  if (isVoicePassportError(e)) return e.toShape();
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

/** The `{ error: { code, message, details } }` line on stderr. */
export function printError(e: unknown): void {
  process.stderr.write(`${JSON.stringify({ error: errorShapeOf(e) })}\n`);
}

/**
 * The exit code for a failure: 2 for a usage error (validation-failed), EX_CONFIG for a configuration
 * error, as the service exits for one, 1 for anything else.
 */
export function exitCodeFor(e: unknown): number {
  if (!isVoicePassportError(e)) return 1;
  if (e.code === 'validation-failed') return 2;
  return e.code === 'config-invalid' ? EX_CONFIG : 1;
}

/** CLI failure: the same stable error codes as the API, on stderr, non-zero exit. */
export function fail(e: unknown): never {
  printError(e);
  process.exit(exitCodeFor(e));
}

export function toFixedArray(values: Float32Array | number[], digits = 6): number[] {
  return Array.from(values, (v) => Number(v.toFixed(digits)));
}
