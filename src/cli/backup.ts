/**
 * `voice-passport backup FILE` and `voice-passport restore FILE` (src/store/backup.ts): a consistent
 * copy of the store, taken while the service runs, and its restore with the service stopped, which
 * applies again the erasures and key revocations recorded since the backup (GDPR Art. 17, 32(1)(c)).
 * Neither needs the master key: a backup holds only wrapped keys and ciphertexts.
 */
import { parseArgs } from 'node:util';
import { VoicePassportError } from '../errors.js';
import { backupStore, restoreStore } from '../store/backup.js';
import { withAdminStore } from './admin-store.js';
import { printJson } from './output.js';

const backupUsage = 'usage: voice-passport backup FILE   (a new file; the service may run)';
const restoreUsage = 'usage: voice-passport restore FILE   (a file made by backup; stop the service first)';

function fileArgument(argv: string[], usage: string): string {
  try {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
    if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'missing FILE' : 'one FILE only');
    return positionals[0]!;
  } catch (e) {
    throw new VoicePassportError('validation-failed', `${(e as Error).message}\n${usage}`);
  }
}

export function backupCommand(argv: string[], dataDir: string): void {
  const file = fileArgument(argv, backupUsage);
  printJson(withAdminStore(dataDir, { mustExist: true }, (store) => backupStore(store, file)));
}

export function restoreCommand(argv: string[], dataDir: string): void {
  const file = fileArgument(argv, restoreUsage);
  const receipt = restoreStore({ dataDir, file });
  for (const warning of receipt.warnings) process.stderr.write(`warning: ${warning}\n`);
  printJson(receipt);
}
