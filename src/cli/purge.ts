/**
 * `voice-passport purge [--dry-run]`: the retention purge (GDPR Art. 5(1)(e) storage limitation), the
 * same use cases the service runs on its timer. Erases every voiceprint not used for VP_RETENTION_DAYS
 * (and enrolments abandoned that long), each erasure audited by the store with the actor "cli", the
 * samples of enrolled subjects' re-enrolments abandoned that long (`enrolment.discarded`), and
 * every verification record older than VP_HISTORY_RETENTION_DAYS (a `history.purged` entry per
 * batch of 500), the record of every consent that ended more than VP_CONSENT_RECORD_RETENTION_DAYS ago
 * of a subject of whom nothing else is held (a `consent-records.purged` entry per batch), each period shortened where the
 * subject's consent notice states less (VP_CONSENT_NOTICES_DIR), and,
 * where VP_AUDIT_RETENTION_DAYS is set, the audit entries older than that (one `audit.pruned` entry).
 * `--dry-run` lists the subject pseudonyms and counts the records and entries that would go, changing
 * nothing. It counts each against the store as it is: a consent record that this run's erasure of old
 * verification records would free is counted by the next dry run.
 */
import { VoicePassportError } from '../errors.js';
import type { Config } from '../config.js';
import { ConsentNotices, defaultConsentNoticesDir } from '../passport/consent-notices.js';
import { countExpiredAudit, countExpiredConsentRecords, countExpiredHistory, findExpiredVoiceprints, idempotentAnswersCutoff, purgeAllExpired, retentionSettings } from '../passport/retention.js';
import { runThrough } from '../passport/steps.js';
import { cliActor, withAdminStore } from './admin-store.js';
import { parseCliArgs } from './args.js';
import { printJson } from './output.js';

export function purgeCommand(
  argv: string[],
  config: Pick<Config, 'dataDir' | 'retentionDays' | 'historyRetentionDays' | 'consentRecordRetentionDays' | 'auditRetentionDays' | 'consentNoticesDir'>,
  now: Date = new Date(),
): void {
  const purgeUsage = 'usage: voice-passport purge [--dry-run]';
  const { values, positionals } = parseCliArgs(argv, { 'dry-run': { type: 'boolean' } }, purgeUsage);
  if (positionals.length > 0) throw new VoicePassportError('validation-failed', `Unexpected argument '${positionals[0]}'. This command does not take positional arguments\n${purgeUsage}`);
  const dryRun = values['dry-run'] === true;
  // The same limits as the service: each subject kept no longer than the notice they agreed to says.
  const settings = retentionSettings(config, ConsentNotices.load(config.consentNoticesDir ?? defaultConsentNoticesDir()));
  const { noticeLimits } = settings;
  const output = withAdminStore(config.dataDir, { mustExist: true }, (store) => {
    if (dryRun) {
      const due = findExpiredVoiceprints(store, { retentionDays: config.retentionDays, now, noticeLimits });
      const history = countExpiredHistory(store, { historyRetentionDays: config.historyRetentionDays, now, noticeLimits });
      const consentRecords = countExpiredConsentRecords(store, { consentRecordDays: config.consentRecordRetentionDays, now, noticeLimits });
      const audit = config.auditRetentionDays === null ? null : countExpiredAudit(store, { auditRetentionDays: config.auditRetentionDays, now });
      return {
        cutoff: due.cutoff,
        dryRun: true,
        erased: 0,
        wouldErase: due.subjectPseudonyms.length,
        subjectPseudonyms: due.subjectPseudonyms,
        reEnrolments: { discarded: 0, wouldDiscard: due.reEnrolmentPseudonyms.length, subjectPseudonyms: due.reEnrolmentPseudonyms },
        history: { cutoff: history.cutoff, erased: 0, wouldErase: history.wouldErase },
        consentRecords: { cutoff: consentRecords.cutoff, erased: 0, wouldErase: consentRecords.wouldErase },
        idempotentAnswers: { erased: 0, wouldErase: store.idempotency.countBefore(idempotentAnswersCutoff(now)) },
        audit: audit === null ? null : { cutoff: audit.cutoff, pruned: 0, wouldPrune: audit.wouldPrune },
      };
    }
    const { voiceprints: r, history: h, consentRecords: c, idempotentAnswers, audit: a } = runThrough(purgeAllExpired(store, settings, { now, actorKeyId: cliActor.keyId }));
    return {
      cutoff: r.cutoff,
      erased: r.purged,
      receipts: r.receipts,
      reEnrolments: { discarded: r.reEnrolmentsDiscarded },
      history: { cutoff: h.cutoff, erased: h.erased, auditSeqs: h.auditSeqs },
      consentRecords: { cutoff: c.cutoff, erased: c.erased, auditSeqs: c.auditSeqs },
      idempotentAnswers: { erased: idempotentAnswers },
      audit: a === null ? null : { cutoff: a.cutoff, pruned: a.pruned, through: a.through, auditSeq: a.auditSeq },
      checkpointComplete: r.checkpointComplete && h.checkpointComplete && c.checkpointComplete && (a?.checkpointComplete ?? true),
    };
  });
  printJson(output);
}
