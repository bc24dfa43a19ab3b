/**
 * `voice-passport purge [--dry-run]`: the retention purge (GDPR Art. 5(1)(e) storage limitation), the
 * same use case the service runs on its timer. Erases every voiceprint not used for VP_RETENTION_DAYS
 * (and enrolments abandoned that long); each erasure is audited by the store with the actor "cli".
 * `--dry-run` lists the subject pseudonyms that would be erased and changes nothing.
 */
import { parseArgs } from 'node:util';
import { VoicePassportError } from '../errors.js';
import { findExpiredVoiceprints, purgeExpiredVoiceprints } from '../passport/retention.js';
import { cliActor, withAdminStore } from './admin-store.js';
import { printJson } from './output.js';

export function purgeCommand(argv: string[], config: { dataDir: string; retentionDays: number }, now: Date = new Date()): void {
  let dryRun: boolean;
  try {
    const { values } = parseArgs({ args: argv, allowPositionals: false, strict: true, options: { 'dry-run': { type: 'boolean' } } });
    dryRun = values['dry-run'] === true;
  } catch (e) {
    throw new VoicePassportError('validation-failed', `${(e as Error).message}\nusage: voice-passport purge [--dry-run]`);
  }
  const options = { retentionDays: config.retentionDays, now };
  const output = withAdminStore(config.dataDir, { mustExist: true }, (store) => {
    if (dryRun) {
      const due = findExpiredVoiceprints(store, options);
      return { cutoff: due.cutoff, dryRun: true, erased: 0, wouldErase: due.subjectPseudonyms.length, subjectPseudonyms: due.subjectPseudonyms };
    }
    const r = purgeExpiredVoiceprints(store, { ...options, actorKeyId: cliActor.keyId });
    return { cutoff: r.cutoff, erased: r.purged, receipts: r.receipts, checkpointComplete: r.checkpointComplete };
  });
  printJson(output);
}
