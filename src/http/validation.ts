/** zod at the HTTP edge: every body and query is parsed strictly, unknown fields → 400. */
import type { z } from 'zod';
import { VoicePassportError } from '../errors.js';

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 20).map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  throw new VoicePassportError('validation-failed', `The request ${where} is not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`, { issues });
}
