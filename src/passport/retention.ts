/**
 * Retention (GDPR Art. 5(1)(e) storage limitation): a voiceprint not used for `retentionDays` — and
 * an enrolment abandoned that long — is erased, and so is every verification record older than
 * `historyRetentionDays`, whoever it was of, the record of a consent that ended more than
 * `consentRecordRetentionDays` ago once nothing else of its subject is held, and, where
 * `auditRetentionDays` is set, every audit entry older than that. The service's timer
 * (src/retention-sweep.ts) and the CLI's `voice-passport purge` both run them through
 * `purgeAllExpired`. Each purge is a sequence of short transactions (src/passport/steps.ts): the
 * service serves requests between them, so a subject found due is checked again when erased.
 *
 * A subject is never kept longer than the consent notice they agreed to says (Art. 13(2)(a); Art.
 * 5(1)(a) fairness): where that notice states a shorter period than the configuration, the shorter
 * one is theirs (`noticeLimits`). The configuration can shorten what a notice said, never stretch it.
 */
import type { ErasureReceipt, NoticeCutoff, Store } from '../store/index.js';
import type { ConsentNotices, NoticeRetention } from './consent-notices.js';
import { idempotencyWindowHours } from './idempotency.js';
import type { Steps } from './steps.js';

export interface PurgeResult {
  cutoff: string;
  purged: number;
  /** One per erased subject (pseudonym, what was removed, audit seq); no biometric data. */
  receipts: ErasureReceipt[];
  /** Enrolled subjects whose abandoned re-enrolment's samples were discarded (the voiceprint kept). */
  reEnrolmentsDiscarded: number;
  /** False when a long reader kept erased pages in the WAL; the next checkpoint removes them. */
  checkpointComplete: boolean;
}

const dayMs = 86_400_000;

/**
 * Records (verification records, or subjects' consent records) erased in one transaction with one
 * audit entry: a step of at most about 40 ms at 100 000 subjects (scripts/bench/retention-sweep-bench.ts,
 * its steps' p99), so the service's longest pause while records go stays near the sweep's slice.
 * Larger batches pause longer; smaller ones take longer in all, each commit writing the indexes'
 * pages to the -wal again.
 */
export const recordBatchSize = 500;

/**
 * The configuration's defaults (VP_RETENTION_DAYS, VP_HISTORY_RETENTION_DAYS,
 * VP_CONSENT_RECORD_RETENTION_DAYS, VP_AUDIT_RETENTION_DAYS):
 * three years unused for a voiceprint; 400 days for a verification's record, which outlive the 13
 * months in which a customer may dispute a payment (PSD2 Art. 71(1)); five years for the record of a
 * consent after it ended, the Dutch limitation period for claims (Burgerlijk Wetboek 3:310), in which
 * the bank may have to show it had consent (GDPR Art. 7(1)); the audit log kept whole, since its
 * period is the bank's record-keeping duty.
 */
export const defaultRetention = { retentionDays: 1095, historyRetentionDays: 400, consentRecordRetentionDays: 1826, auditRetentionDays: null } as const;

/** Voiceprints last used before this instant are due for erasure. */
export function retentionCutoff(options: { retentionDays: number; now: Date }): Date {
  return daysBefore(options.now, options.retentionDays, 'retentionDays');
}

function daysBefore(now: Date, days: number, name: string): Date {
  if (!Number.isFinite(days) || days < 1) throw new RangeError(`${name} must be at least 1`);
  return new Date(now.getTime() - days * dayMs);
}

/**
 * A shorter period a consent notice states than the configuration: its subjects are kept no longer.
 * Null: the notice states none shorter for that kind of data.
 */
export interface NoticeLimit {
  noticeVersion: string;
  voiceprintUnusedDays: number | null;
  verificationHistoryDays: number | null;
  consentRecordDays: number | null;
}

type RetentionKind = Exclude<keyof NoticeLimit, 'noticeVersion'>;

/** The nearer cutoffs of the notices with a shorter period of the one kind. */
function noticeCutoffs(limits: readonly NoticeLimit[] | undefined, kind: RetentionKind, now: Date): NoticeCutoff[] {
  return (limits ?? []).flatMap((l) => (l[kind] === null ? [] : [{ noticeVersion: l.noticeVersion, cutoff: daysBefore(now, l[kind], kind) }]));
}

/** What a purge would erase now, erasing nothing (`voice-passport purge --dry-run`). */
export function findExpiredVoiceprints(
  store: Pick<Store, 'erasure'>,
  options: { retentionDays: number; now: Date; noticeLimits?: readonly NoticeLimit[] },
): { cutoff: string; subjectPseudonyms: string[]; reEnrolmentPseudonyms: string[] } {
  const cutoff = retentionCutoff(options);
  const noticeCuts = noticeCutoffs(options.noticeLimits, 'voiceprintUnusedDays', options.now);
  return { cutoff: cutoff.toISOString(), subjectPseudonyms: store.erasure.findExpired(cutoff, noticeCuts), reEnrolmentPseudonyms: store.erasure.findAbandonedReEnrolments(cutoff, noticeCuts) };
}

/**
 * Finds the expired subjects (a step), then erases each in its own transaction (a step each),
 * checked again as it is erased; then, the same way, discards the samples of re-enrolments abandoned
 * as long (an enrolled customer who began to enrol again and gave up: the voiceprint is theirs, the
 * samples serve nothing); then checkpoints once. `actorKeyId` goes into each audit entry: null for
 * the service's timer, "cli" for the command.
 */
export function* purgeExpiredVoiceprints(
  store: Pick<Store, 'db' | 'erasure'>,
  options: { retentionDays: number; now: Date; actorKeyId?: string | null; noticeLimits?: readonly NoticeLimit[] },
): Steps<PurgeResult> {
  const cutoff = retentionCutoff(options);
  const noticeCuts = noticeCutoffs(options.noticeLimits, 'voiceprintUnusedDays', options.now);
  const receipts: ErasureReceipt[] = [];
  for (const pseudonym of store.erasure.findExpired(cutoff, noticeCuts)) {
    yield;
    const receipt = store.erasure.eraseIfExpired(pseudonym, cutoff, noticeCuts, options.actorKeyId ?? null);
    if (receipt !== undefined) receipts.push(receipt);
  }
  yield;
  let reEnrolmentsDiscarded = 0;
  for (const pseudonym of store.erasure.findAbandonedReEnrolments(cutoff, noticeCuts)) {
    yield;
    if (store.erasure.discardAbandonedReEnrolment(pseudonym, cutoff, noticeCuts, options.actorKeyId ?? null) !== undefined) reEnrolmentsDiscarded++;
  }
  const checkpointComplete = receipts.length === 0 && reEnrolmentsDiscarded === 0 ? true : store.db.checkpoint().complete;
  return { cutoff: cutoff.toISOString(), purged: receipts.length, receipts, reEnrolmentsDiscarded, checkpointComplete };
}

/** A purge of many subjects' records with one audit entry: verification records, or consent records (their subjects). */
export interface RecordPurgeResult {
  cutoff: string;
  /** Verification records, or subjects whose consent records went. */
  erased: number;
  /** Seqs of the `history.purged` or `consent-records.purged` audit entries, one per batch that erased any; none when nothing was. */
  auditSeqs: number[];
  checkpointComplete: boolean;
}

/**
 * Erases every verification record older than `historyRetentionDays`, in batches, each one
 * transaction with one `history.purged` audit entry naming the cutoff and the count (no subject: the
 * records are of many). The subjects' exports, the operator statistics and restores (which bring old records back until
 * the next purge, run at every start) see only what is younger. The audit log's own `verification`
 * entries follow the audit log's retention (purgeExpiredAudit).
 */
export function* purgeExpiredHistory(
  store: Pick<Store, 'db' | 'verifications' | 'audit'>,
  options: { historyRetentionDays: number; now: Date; actorKeyId?: string | null; noticeLimits?: readonly NoticeLimit[]; batchSize?: number },
): Steps<RecordPurgeResult> {
  const cutoff = daysBefore(options.now, options.historyRetentionDays, 'historyRetentionDays');
  const noticeCuts = noticeCutoffs(options.noticeLimits, 'verificationHistoryDays', options.now);
  // Found once, then erased in batches by row number (the query again for each batch would cost a
  // pass over the time index each). A record found due stays due: its time does not change, and only
  // a new consent to another notice could lengthen its period, a moment after it had passed.
  const due = store.verifications.findOlderThan(cutoff, noticeCuts);
  const latest = noticeCuts.reduce((l, n) => (n.cutoff > l ? n.cutoff : l), cutoff);
  return yield* purgeInBatches(store, options.actorKeyId ?? null, cutoff, 'history.purged', due, options.batchSize ?? recordBatchSize, (rowids) => store.verifications.erase(rowids, latest), (n) => ({
    verifications: n,
    retentionDays: options.historyRetentionDays,
  }));
}

/**
 * Erases what was found due, `batchSize` at a time, each batch a step: one transaction with one audit
 * entry naming the cutoff and the count (no subject: the records are of many), yielding between
 * them; then checkpoints, as an erasure does: the zeroed pages reach the .db file and the -wal is
 * emptied, so the old records are nowhere. A batch that erased nothing writes no entry.
 */
function* purgeInBatches<T>(
  store: Pick<Store, 'db' | 'audit'>,
  actorKeyId: string | null,
  cutoff: Date,
  action: 'history.purged' | 'consent-records.purged',
  due: readonly T[],
  batchSize: number,
  eraseSome: (batch: readonly T[]) => number,
  details: (erased: number) => Record<string, number>,
): Steps<RecordPurgeResult> {
  let erased = 0;
  const auditSeqs: number[] = [];
  for (let next = 0; next < due.length; next += batchSize) {
    yield;
    erased += store.db.transaction(() => {
      const n = eraseSome(due.slice(next, next + batchSize));
      if (n > 0) auditSeqs.push(store.audit.append({ action, actorKeyId, subjectPseudonym: null, outcome: 'erased', details: { cutoff: cutoff.toISOString(), ...details(n) } }).seq);
      return n;
    });
  }
  const checkpointComplete = erased === 0 ? true : store.db.checkpoint().complete;
  return { cutoff: cutoff.toISOString(), erased, auditSeqs, checkpointComplete };
}

/** What purgeExpiredHistory would erase now, erasing nothing (`voice-passport purge --dry-run`). */
export function countExpiredHistory(
  store: Pick<Store, 'verifications'>,
  options: { historyRetentionDays: number; now: Date; noticeLimits?: readonly NoticeLimit[] },
): { cutoff: string; wouldErase: number } {
  const cutoff = daysBefore(options.now, options.historyRetentionDays, 'historyRetentionDays');
  return { cutoff: cutoff.toISOString(), wouldErase: store.verifications.countOlderThan(cutoff, noticeCutoffs(options.noticeLimits, 'verificationHistoryDays', options.now)) };
}

/**
 * Erases the record of every consent that ended more than `consentRecordDays` ago (or its notice's
 * shorter period) of a subject of whom nothing else is held: its consent events and subject row, in
 * batches of subjects, each one transaction with one `consent-records.purged` entry. The audit log's
 * entries about the subject follow the audit log's own retention.
 */
export function* purgeExpiredConsentRecords(
  store: Pick<Store, 'db' | 'erasure' | 'audit'>,
  options: { consentRecordDays: number; now: Date; actorKeyId?: string | null; noticeLimits?: readonly NoticeLimit[]; batchSize?: number },
): Steps<RecordPurgeResult> {
  const cutoff = daysBefore(options.now, options.consentRecordDays, 'consentRecordDays');
  const noticeCuts = noticeCutoffs(options.noticeLimits, 'consentRecordDays', options.now);
  const due = store.erasure.findExpiredConsentRecords(cutoff, noticeCuts);
  return yield* purgeInBatches(store, options.actorKeyId ?? null, cutoff, 'consent-records.purged', due, options.batchSize ?? recordBatchSize, (batch) => store.erasure.eraseConsentRecords(batch, cutoff, noticeCuts), (n) => ({
    subjects: n,
    retentionDays: options.consentRecordDays,
  }));
}

/** What purgeExpiredConsentRecords would erase now, erasing nothing (`voice-passport purge --dry-run`). */
export function countExpiredConsentRecords(
  store: Pick<Store, 'erasure'>,
  options: { consentRecordDays: number; now: Date; noticeLimits?: readonly NoticeLimit[] },
): { cutoff: string; wouldErase: number } {
  const cutoff = daysBefore(options.now, options.consentRecordDays, 'consentRecordDays');
  return { cutoff: cutoff.toISOString(), wouldErase: store.erasure.findExpiredConsentRecords(cutoff, noticeCutoffs(options.noticeLimits, 'consentRecordDays', options.now)).length };
}

export interface AuditPurgeResult {
  cutoff: string;
  /** Audit entries removed. */
  pruned: number;
  /** The entry the log now continues from, and the seq of the `audit.pruned` entry; null when nothing was pruned. */
  through: { seq: number; hash: string } | null;
  auditSeq: number | null;
  checkpointComplete: boolean;
}

/**
 * Removes the audit entries older than `auditRetentionDays`, as a prefix of the hash chain whose rest
 * stays checkable from the recorded anchor, with an `audit.pruned` entry (AuditLog.pruneBefore).
 */
export function purgeExpiredAudit(store: Pick<Store, 'db' | 'audit'>, options: { auditRetentionDays: number; now: Date; actorKeyId?: string | null }): AuditPurgeResult {
  const cutoff = daysBefore(options.now, options.auditRetentionDays, 'auditRetentionDays');
  const r = store.audit.pruneBefore(cutoff, { actorKeyId: options.actorKeyId ?? null, retentionDays: options.auditRetentionDays });
  if (r === null) return { cutoff: cutoff.toISOString(), pruned: 0, through: null, auditSeq: null, checkpointComplete: true };
  return { cutoff: cutoff.toISOString(), pruned: r.pruned, through: r.through, auditSeq: r.entry.seq, checkpointComplete: store.db.checkpoint().complete };
}

/** What purgeExpiredAudit would remove now, removing nothing (`voice-passport purge --dry-run`). */
export function countExpiredAudit(store: Pick<Store, 'audit'>, options: { auditRetentionDays: number; now: Date }): { cutoff: string; wouldPrune: number } {
  const cutoff = daysBefore(options.now, options.auditRetentionDays, 'auditRetentionDays');
  return { cutoff: cutoff.toISOString(), wouldPrune: store.audit.countPrunable(cutoff) };
}

export interface RetentionSettings {
  retentionDays: number;
  historyRetentionDays: number;
  consentRecordRetentionDays: number;
  /** Null: the audit log is kept whole. */
  auditRetentionDays: number | null;
  /** The notices that state shorter periods (retentionSettings derives them from the notices). */
  noticeLimits: readonly NoticeLimit[];
}

type ConfiguredPeriods = Pick<RetentionSettings, 'retentionDays' | 'historyRetentionDays' | 'consentRecordRetentionDays'>;

/**
 * Each kind of data a notice names a period for: the configured period it is held to, its variable,
 * and how the warnings name it. The one place the notice's names meet the configuration's.
 */
const retentionKinds: ReadonlyArray<{ kind: RetentionKind; configured: keyof ConfiguredPeriods; variable: string; what: string }> = [
  { kind: 'voiceprintUnusedDays', configured: 'retentionDays', variable: 'VP_RETENTION_DAYS', what: 'an unused voiceprint' },
  { kind: 'verificationHistoryDays', configured: 'historyRetentionDays', variable: 'VP_HISTORY_RETENTION_DAYS', what: 'the record of each verification' },
  { kind: 'consentRecordDays', configured: 'consentRecordRetentionDays', variable: 'VP_CONSENT_RECORD_RETENTION_DAYS', what: 'the record of a consent after it ended' },
];

/** The configured periods, and the shorter ones of the notices (the audit log's is the bank's, in no notice). */
export function retentionSettings(
  config: ConfiguredPeriods & Pick<RetentionSettings, 'auditRetentionDays'>,
  notices: Pick<ConsentNotices, 'versions' | 'retention'>,
): RetentionSettings {
  const noticeLimits = notices.versions().flatMap((noticeVersion) => {
    const applied = appliedRetention(config, notices.retention(noticeVersion));
    const limit = { noticeVersion } as NoticeLimit;
    for (const { kind, configured } of retentionKinds) limit[kind] = applied[kind] < config[configured] ? applied[kind] : null;
    return retentionKinds.every(({ kind }) => limit[kind] === null) ? [] : [limit];
  });
  return {
    retentionDays: config.retentionDays,
    historyRetentionDays: config.historyRetentionDays,
    consentRecordRetentionDays: config.consentRecordRetentionDays,
    auditRetentionDays: config.auditRetentionDays,
    noticeLimits,
  };
}

/** Days; every kind has one. */
export type AppliedRetention = Record<RetentionKind, number>;

/** The periods that apply to a subject who agreed to a notice stating `stated` (undefined: no active consent): the shorter of the two. */
export function appliedRetention(settings: ConfiguredPeriods, stated: NoticeRetention | undefined): AppliedRetention {
  const applied = {} as AppliedRetention;
  for (const { kind, configured } of retentionKinds) {
    const days = stated?.[kind] ?? null;
    applied[kind] = days === null ? settings[configured] : Math.min(days, settings[configured]);
  }
  return applied;
}

/**
 * Where the notice offered now and the configuration disagree, said once at start: customers agreeing
 * today are told one period and kept for another (the shorter, by the rule above), or told none.
 */
export function noticeRetentionWarnings(settings: ConfiguredPeriods, notices: Pick<ConsentNotices, 'current' | 'retention'>): string[] {
  const stated = notices.retention(notices.current)!;
  const v = notices.current;
  return retentionKinds.flatMap(({ kind, configured: key, variable, what }) => {
    const days = stated[kind];
    const configured = settings[key];
    if (days === null) return [`The current consent notice ${v} does not state how long ${what} is kept (${variable} is ${configured} days): customers agreeing to it are not told (GDPR Art. 13(2)(a)).`];
    if (days > configured) return [`The current consent notice ${v} tells customers ${days} days for ${what}, but ${variable} is ${configured}: it is erased sooner than they were told.`];
    if (days < configured) return [`The current consent notice ${v} tells customers ${days} days for ${what}, shorter than ${variable} (${configured}): those who agree to it are kept ${days} days, as told.`];
    return [];
  });
}

export interface AllPurgeResult {
  voiceprints: PurgeResult;
  history: RecordPurgeResult;
  consentRecords: RecordPurgeResult;
  /** Answers kept for retried requests (idempotency.ts) removed once past their window. */
  idempotentAnswers: number;
  /** Null when the audit log is kept whole. */
  audit: AuditPurgeResult | null;
}

/** Answers kept for retried requests made before this instant no longer count (idempotency.ts). */
export function idempotentAnswersCutoff(now: Date): Date {
  return new Date(now.getTime() - idempotencyWindowHours * 3_600_000);
}

/**
 * The purges in their one order: voiceprints, history, consent records (whose subjects must hold
 * nothing else, so after the first two), the answers kept for retried requests, then the audit log,
 * last so the entries the others write are the newest and stay. The last two are a step each.
 */
export function* purgeAllExpired(store: Pick<Store, 'db' | 'erasure' | 'verifications' | 'idempotency' | 'audit'>, settings: RetentionSettings, options: { now: Date; actorKeyId?: string | null }): Steps<AllPurgeResult> {
  const { now } = options;
  const actorKeyId = options.actorKeyId ?? null;
  const { noticeLimits } = settings;
  const voiceprints = yield* purgeExpiredVoiceprints(store, { retentionDays: settings.retentionDays, now, actorKeyId, noticeLimits });
  const history = yield* purgeExpiredHistory(store, { historyRetentionDays: settings.historyRetentionDays, now, actorKeyId, noticeLimits });
  const consentRecords = yield* purgeExpiredConsentRecords(store, { consentRecordDays: settings.consentRecordRetentionDays, now, actorKeyId, noticeLimits });
  yield;
  // Copies of answers already recorded and audited as verifications or samples: removed unaudited.
  const idempotentAnswers = store.idempotency.removeBefore(idempotentAnswersCutoff(now));
  yield;
  const audit = settings.auditRetentionDays === null ? null : purgeExpiredAudit(store, { auditRetentionDays: settings.auditRetentionDays, now, actorKeyId });
  return { voiceprints, history, consentRecords, idempotentAnswers, audit };
}
