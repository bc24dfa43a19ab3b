/**
 * `voice-passport keys create --role R [--name N] [--expires-in-days D] | list | revoke ID`: API key administration from the
 * host (issue 3; GDPR Art. 32(1)(b) access control). Runs the same use cases as the admin API, so
 * creation and revocation are audited the same way, with the actor "cli". The secret is printed once,
 * at creation; the store keeps only its SHA-256, and `list` never shows hashes or secrets.
 */
import { VoicePassportError } from '../errors.js';
import { createKey, createKeySchema, listKeys, revokeKey } from '../passport/api-keys.js';
import { apiKeyRoles, maxKeyLifetimeDays } from '../store/index.js';
import { cliActor, withAdminStore } from './admin-store.js';
import { parseCliArgs } from './args.js';
import { printJson } from './output.js';

const usage = `usage: voice-passport keys create --role ${apiKeyRoles.join('|')} [--name NAME] [--expires-in-days DAYS]
       voice-passport keys list
       voice-passport keys revoke KEY_ID`;

function invalid(message: string): VoicePassportError {
  return new VoicePassportError('validation-failed', `${message}\n${usage}`);
}

function parse(argv: string[], options: { role?: true; name?: true; expiry?: true }, positionals: number) {
  const parsed = parseCliArgs(
    argv,
    {
      ...(options.role ? { role: { type: 'string' as const } } : {}),
      ...(options.name ? { name: { type: 'string' as const } } : {}),
      ...(options.expiry ? { 'expires-in-days': { type: 'string' as const } } : {}),
    },
    usage,
  );
  if (parsed.positionals.length !== positionals) throw invalid(`expected ${positionals} argument(s), got ${parsed.positionals.length}`);
  return parsed as { values: { role?: string; name?: string; 'expires-in-days'?: string }; positionals: string[] };
}

export function keysCommand(argv: string[], dataDir: string): void {
  const [action, ...rest] = argv;
  switch (action) {
    case 'create': {
      const { values } = parse(rest, { role: true, name: true, expiry: true }, 0);
      const days = values['expires-in-days'];
      if (days !== undefined && !(/^[1-9][0-9]*$/.test(days) && Number(days) <= maxKeyLifetimeDays)) {
        throw invalid(`--expires-in-days must be a whole number of days from 1 to ${maxKeyLifetimeDays}`);
      }
      const input = createKeySchema.safeParse({
        role: values.role,
        ...(values.name === undefined ? {} : { name: values.name }),
        ...(days === undefined ? {} : { expiresAt: new Date(Date.now() + Number(days) * 86_400_000).toISOString() }),
      });
      if (!input.success) {
        throw invalid(values.role === undefined || !(apiKeyRoles as readonly string[]).includes(values.role)
          ? `--role must be one of ${apiKeyRoles.join(', ')}`
          : '--name must be 1-200 characters, without control characters or bidirectional overrides');
      }
      // Creating keys before the first server start is allowed: the server then skips its bootstrap keys.
      const created = withAdminStore(dataDir, { mustExist: false }, (store) => createKey(store, cliActor, input.data));
      printJson({ id: created.id, role: created.role, name: created.name, expiresAt: created.expiresAt, key: created.key });
      return;
    }
    case 'list': {
      parse(rest, {}, 0);
      printJson(withAdminStore(dataDir, { mustExist: true }, (store) => listKeys(store).keys));
      return;
    }
    case 'revoke': {
      const { positionals } = parse(rest, {}, 1);
      const id = positionals[0] as string;
      // The host may revoke the last admin key (a leaked one): it can create a new one right after.
      const revoked = withAdminStore(dataDir, { mustExist: true }, (store) => revokeKey(store, cliActor, id, { allowLastAdmin: true }));
      printJson({ id: revoked.id, revokedAt: revoked.revokedAt });
      return;
    }
    default:
      throw invalid(action === undefined ? 'missing keys action' : `unknown keys action "${action}"`);
  }
}
