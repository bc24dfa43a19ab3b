/**
 * `voice-passport backup FILE`, `restore FILE` and `backup-key FILE` (src/store/backup.ts): a
 * consistent copy of the store, taken while the service runs and encrypted to age recipients
 * (src/store/backup-encryption.ts), its restore with the service stopped, which applies again the
 * erasures and key revocations recorded since the backup, by the database it replaces or in an
 * exported audit log (GDPR Art. 17, 32(1)(a) and (c)), and a new age identity for the backups.
 * None needs the master key: a backup holds only wrapped keys and ciphertexts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VoicePassportError } from '../errors.js';
import { backupStore, restoreStore } from '../store/backup.js';
import { checkRecipients, newIdentity, readIdentityFile, readRecipientsFile } from '../store/backup-encryption.js';
import { cliActor, openAdminStore } from './admin-store.js';
import { parseCliArgs } from './args.js';
import { printJson } from './output.js';

const backupUsage =
  'usage: voice-passport backup FILE (--recipient AGE1… [--recipient …] | --recipients-file FILE | --unencrypted)   (a new file; the service may run)';
const restoreUsage =
  'usage: voice-passport restore FILE [--identity IDENTITY_FILE …] [--audit-log EXPORT]   (a file made by backup; stop the service first; IDENTITY_FILE: for an encrypted backup; EXPORT: the audit log since, when the database is lost)';
const backupKeyUsage = 'usage: voice-passport backup-key FILE   (writes a new age identity to FILE, 0600, and prints its recipient)';

function oneFile(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new VoicePassportError('validation-failed', `${positionals.length === 0 ? 'missing FILE' : 'one FILE only'}\n${usage}`);
  return positionals[0]!;
}

/** The backup's recipients, or null for --unencrypted: exactly one of the two ways must be chosen. */
function recipientsOf(values: { recipient?: string[]; 'recipients-file'?: string[]; unencrypted?: boolean }): string[] | null {
  const given = [...(values.recipient ?? []), ...(values['recipients-file'] ?? [])].length > 0;
  if (given === (values.unencrypted === true)) {
    throw new VoicePassportError(
      'validation-failed',
      `${given ? '--unencrypted contradicts the recipients given' : 'say whom the backup is encrypted to (--recipient, --recipients-file), or --unencrypted to write it in the clear'}\n${backupUsage}`,
    );
  }
  if (!given) return null;
  return [...(values.recipient?.length ? checkRecipients(values.recipient, '--recipient') : []), ...(values['recipients-file'] ?? []).flatMap(readRecipientsFile)];
}

export async function backupCommand(argv: string[], dataDir: string): Promise<void> {
  const { positionals, values } = parseCliArgs(
    argv,
    { recipient: { type: 'string', multiple: true }, 'recipients-file': { type: 'string', multiple: true }, unencrypted: { type: 'boolean' } },
    backupUsage,
  );
  const file = oneFile(positionals, backupUsage);
  const recipients = recipientsOf(values);
  const store = openAdminStore(dataDir, { mustExist: true });
  try {
    printJson(await backupStore(store, file, cliActor.keyId, recipients));
  } finally {
    store.close();
  }
}

export async function restoreCommand(argv: string[], dataDir: string): Promise<void> {
  const { positionals, values } = parseCliArgs(argv, { identity: { type: 'string', multiple: true }, 'audit-log': { type: 'string' } }, restoreUsage);
  const file = oneFile(positionals, restoreUsage);
  const identities = (values.identity ?? []).flatMap(readIdentityFile);
  const auditLog = values['audit-log'];
  const receipt = await restoreStore({ dataDir, file, identities, actorKeyId: cliActor.keyId, ...(auditLog === undefined ? {} : { auditExport: auditLog }) });
  for (const warning of receipt.warnings) process.stderr.write(`warning: ${warning}\n`);
  printJson(receipt);
}

/** Like `age-keygen -o FILE`: the identity to FILE (new, 0600), its recipient to stdout. */
export async function backupKeyCommand(argv: string[]): Promise<void> {
  const { positionals } = parseCliArgs(argv, {}, backupKeyUsage);
  const file = path.resolve(oneFile(positionals, backupKeyUsage));
  const { recipient, fileText } = await newIdentity(new Date());
  try {
    fs.writeFileSync(file, fileText, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    throw new VoicePassportError('validation-failed', `Cannot create the identity file ${file}: ${(e as Error).message}. Name a new file.`);
  }
  printJson({ file, recipient });
}
