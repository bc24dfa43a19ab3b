/** Command-line options for the CLI commands: node:util parseArgs, strict, with the usage on error. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { VoicePassportError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict parse with positionals allowed; an unknown or malformed option is `validation-failed` with the command's usage. */
export function parseCliArgs<const O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, allowPositionals: true as const, strict: true as const, options });
  } catch (e) {
    throw new VoicePassportError('validation-failed', `${(e as Error).message}\n${usage}`);
  }
}

/** An option with a fixed set of values: the fallback when absent, a validation-failed naming them otherwise. */
export function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new VoicePassportError('validation-failed', `--${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}
