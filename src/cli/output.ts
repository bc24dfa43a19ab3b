import { isVoicePassportError, type ErrorShape } from '../errors.js';

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

/** CLI failure: the same stable error codes as the API, on stderr, non-zero exit. */
export function fail(e: unknown): never {
  printError(e);
  process.exit(isVoicePassportError(e) && e.code === 'validation-failed' ? 2 : 1);
}

export function toFixedArray(values: Float32Array | number[], digits = 6): number[] {
  return Array.from(values, (v) => Number(v.toFixed(digits)));
}
