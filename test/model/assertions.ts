import { expect } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';

/** Euclidean length, for "is a unit vector" checks. */
export function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** The VoicePassportError a promise rejects with (fails the test if it resolves or throws something else). */
export async function caught(p: Promise<unknown>): Promise<VoicePassportError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VoicePassportError);
  return e as VoicePassportError;
}
