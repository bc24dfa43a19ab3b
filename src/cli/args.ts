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
