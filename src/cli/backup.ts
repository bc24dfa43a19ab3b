/**
 * `voice-passport backup FILE` and `voice-passport restore FILE [--audit-log EXPORT]`
 * (src/store/backup.ts): a consistent copy of the store, taken while the service runs, and its restore
 * with the service stopped, which applies again the erasures and key revocations recorded since the
 * backup, by the database it replaces or in an exported audit log (GDPR Art. 17, 32(1)(c)).
 * Neither needs the master key: a backup holds only wrapped keys and ciphertexts.
 */
import { parseArgs } from 'node:util';
import { VoicePassportError } from '../errors.js';
import { backupStore, restoreStore } from '../store/backup.js';
import { cliActor, withAdminStore } from './admin-store.js';
import { printJson } from './output.js';

const backupUsage = 'usage: voice-passport backup FILE   (a new file; the service may run)';
const restoreUsage = 'usage: voice-passport restore FILE [--audit-log EXPORT]   (a file made by backup; stop the service first; EXPORT: the audit log since, when the database is lost)';

function fileArgument(argv: string[], usage: string, withAuditLog = false): { file: string; auditLog: string | undefined } {
  try {
    const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: withAuditLog ? { 'audit-log': { type: 'string' } } : {} });
    if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'missing FILE' : 'one FILE only');
    const auditLog = (values as { 'audit-log'?: string })['audit-log'];
    return { file: positionals[0]!, auditLog };
  } catch (e) {
    throw new VoicePassportError('validation-failed', `${(e as Error).message}\n${usage}`);
  }
}

export function backupCommand(argv: string[], dataDir: string): void {
  const { file } = fileArgument(argv, backupUsage);
  printJson(withAdminStore(dataDir, { mustExist: true }, (store) => backupStore(store, file, cliActor.keyId)));
}

export function restoreCommand(argv: string[], dataDir: string): void {
  const { file, auditLog } = fileArgument(argv, restoreUsage, true);
  const receipt = restoreStore({ dataDir, file, actorKeyId: cliActor.keyId, ...(auditLog === undefined ? {} : { auditExport: auditLog }) });
  for (const warning of receipt.warnings) process.stderr.write(`warning: ${warning}\n`);
  printJson(receipt);
}
