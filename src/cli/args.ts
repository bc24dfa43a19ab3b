/** Command-line options for the CLI commands: node:util parseArgs, strict, with the usage on error. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { VoicePassportError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Strict parse with positionals allowed; an unknown or malformed option is `validation-failed` with the
 * command's usage, and so is an option that takes one value given twice: node keeps the last silently,
 * and `keys create --role admin --role operator` would make an operator key.
 */
export function parseCliArgs<const O extends Options>(argv: string[], options: O, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true as const, strict: true as const, options, tokens: true as const });
  } catch (e) {
    throw new VoicePassportError('validation-failed', `${(e as Error).message}\n${usage}`);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.multiple === true) continue;
    if (seen.has(token.name)) throw new VoicePassportError('validation-failed', `--${token.name} is given twice; give it once\n${usage}`);
    seen.add(token.name);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** An option with a fixed set of values: the fallback when absent, a validation-failed naming them otherwise. */
export function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new VoicePassportError('validation-failed', `--${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}
