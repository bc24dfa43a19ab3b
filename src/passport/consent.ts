/**
 * Consent use cases (GDPR Art. 9(2)(a): explicit consent is the lawful basis for processing the
 * voiceprint; Art. 7(1): it must be provable — notice version, channel, time, actor; Art. 7(3):
 * withdrawing is as easy as giving, and ends the processing).
 */
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import { consentChannels } from '../store/index.js';
import type { Actor, PassportContext } from './context.js';
import { noticeVersionPattern, type ConsentNotice, type NoticeRetention } from './consent-notices.js';
import { appliedRetention, noticeRetentionWarnings, type AppliedRetention } from './retention.js';
import { consentView, pseudonymOf, type ConsentView } from './views.js';

/** BCP 47 language tag, loosely: a 2-3 letter language and optional subtags, e.g. "nl", "nl-NL". */
export const localePattern = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/;

/**
 * A language tag's primary language subtag (BCP 47, RFC 5646 §2.2.1), lower-case: "en-GB" → "en".
 * A notice's text is matched on the whole subtag, so "nld" or "english" is not taken for "nl" or
 * "en" (the first two letters of "fil", Filipino, would have picked a Finnish "fi" text).
 */
export function primaryLanguage(tag: string): string {
  return tag.split('-')[0]!.toLowerCase();
}

export const giveConsentSchema = z
  .object({
    noticeVersion: z.string().regex(noticeVersionPattern, 'a notice version such as "v1"'),
    channel: z.enum(consentChannels),
    locale: z.string().regex(localePattern, 'a language tag such as "nl" or "en-GB"').optional(),
    /** The bank's own reference to its proof, e.g. an IVR recording id or a signed form id. */
    evidence: z.string().min(1).max(4096).optional(),
  })
  .strict();

export type GiveConsentInput = z.infer<typeof giveConsentSchema>;

export interface ConsentResponse {
  consent: ConsentView;
}

export function giveConsent(ctx: PassportContext, actor: Actor, customerId: string, input: GiveConsentInput): ConsentResponse {
  const pseudonym = pseudonymOf(ctx, customerId);
  const locales = ctx.notices.locales(input.noticeVersion);
  if (locales.length === 0) {
    throw new VoicePassportError('validation-failed', `There is no consent notice "${input.noticeVersion}"; consent must name the notice shown.`, {
      availableVersions: ctx.notices.versions(),
    });
  }
  // Consent is informed only by the notice the bank offers now (Art. 7(1), 13): an older text may
  // name other periods or purposes, and a stale IVR or form still showing it must be updated, not
  // recorded. Consents already given under it stay valid and are kept to its periods.
  if (input.noticeVersion !== ctx.notices.current) {
    throw new VoicePassportError(
      'notice-superseded',
      `Notice ${input.noticeVersion} has been superseded by ${ctx.notices.current}: show the customer ${ctx.notices.current} (GET /v1/consent-notices/${ctx.notices.current}) and record consent to it.`,
      { currentVersion: ctx.notices.current },
    );
  }
  const language = input.locale === undefined ? undefined : primaryLanguage(input.locale);
  if (language !== undefined && !locales.includes(language)) {
    throw new VoicePassportError('validation-failed', `Notice ${input.noticeVersion} has no "${input.locale}" text, so it cannot have been shown in that language.`, {
      availableLocales: locales,
    });
  }
  // The telephony role records consent captured in its own IVR, nothing else (least privilege).
  if (actor.role === 'telephony' && input.channel !== 'ivr') {
    throw new VoicePassportError('forbidden', 'A telephony key records consent captured in the IVR only (channel "ivr").');
  }
  // The exact words agreed to, where the language shown is named (Art. 7(1)): the record then proves
  // them even if the file under this version were edited later (noticesInUseWarnings).
  const noticeSha256 = language === undefined ? null : ctx.notices.get(input.noticeVersion)!.find((n) => n.locale === language)!.sha256;
  ctx.store.db.transaction(() => {
    ctx.store.consents.give(pseudonym, {
      noticeVersion: input.noticeVersion,
      channel: input.channel,
      locale: input.locale ?? null,
      evidence: input.evidence ?? null,
      noticeSha256,
      actorKeyId: actor.keyId,
    });
    ctx.store.audit.append({
      action: 'consent.given',
      actorKeyId: actor.keyId,
      subjectPseudonym: pseudonym,
      outcome: 'given',
      // The evidence text may itself be personal data: the audit log notes only that there was one.
      details: { noticeVersion: input.noticeVersion, channel: input.channel, locale: input.locale ?? null, noticeSha256, evidence: input.evidence !== undefined },
    });
  });
  return { consent: consentView(ctx.store.consents.current(pseudonym)) };
}

export interface WithdrawalResponse {
  consent: ConsentView;
  /** What the withdrawal erased (Art. 7(3) with Art. 17(1)(b): no other legal ground remains). */
  erased: { voiceprint: boolean; dataKey: boolean; enrolmentSamples: number; verifications: number };
  /** False when there was no active consent to withdraw (the call is idempotent). */
  withdrawn: boolean;
  auditSeq: number;
}

/**
 * Withdraws consent and erases the voiceprint in one transaction (store/erasure.ts), then checkpoints
 * the WAL so the erased bytes leave the disk. What remains is the minimal proof: the consent events
 * (given, withdrawn) and audit entries, no biometric data.
 */
export function withdrawConsent(ctx: PassportContext, actor: Actor, customerId: string): WithdrawalResponse {
  const pseudonym = pseudonymOf(ctx, customerId);
  const r = ctx.store.erasure.erase(pseudonym, { reason: 'consent-withdrawn', actorKeyId: actor.keyId });
  return {
    consent: consentView(ctx.store.consents.current(pseudonym)),
    erased: { voiceprint: r.voiceprintErased, dataKey: r.dataKeyDestroyed, enrolmentSamples: r.enrolmentSamplesErased, verifications: r.verificationsErased },
    withdrawn: r.consentWithdrawn,
    auditSeq: r.auditSeq,
  };
}

/**
 * Notice texts that consents rest on but that can no longer be shown as agreed to (Art. 7(1)): a
 * version whose text is gone (its periods are then unknown, so the configured ones apply), a
 * language removed from it, or a text whose bytes differ from those recorded with a consent (a text
 * in use never changes; a new wording is a new version). Said at start (service.ts).
 */
export function noticesInUseWarnings(store: Pick<PassportContext['store'], 'consents'>, notices: Pick<PassportContext['notices'], 'get'>): string[] {
  const missing = store.consents.noticeVersionsInUse().filter((v) => notices.get(v) === undefined);
  const warnings =
    missing.length === 0
      ? []
      : [`Consents were given under notice ${missing.join(', ')}, whose text is not among the consent notices: put it back (a notice in use must stay servable), or those consents cannot be shown and are kept to the configured periods.`];
  const changed = new Map<string, Set<string>>();
  for (const t of store.consents.noticeTextsInUse()) {
    const texts = notices.get(t.noticeVersion);
    if (texts === undefined) continue;
    const language = primaryLanguage(t.locale);
    if (texts.find((n) => n.locale === language)?.sha256 === t.sha256) continue;
    const key = `${t.noticeVersion} (${language})`;
    changed.set(key, (changed.get(key) ?? new Set()).add(t.sha256));
  }
  for (const [text, hashes] of changed) {
    warnings.push(
      `Consents were given to notice ${text} as the text with SHA-256 ${[...hashes].join(', ')}, which that notice no longer serves: put the agreed text back (a text in use never changes; a new wording is a new version).`,
    );
  }
  return warnings;
}

export interface NoticeResponse {
  version: string;
  /** True for the version offered to customers now (notices.json). */
  current: boolean;
  /** The periods its text states, in days (null: it names none). */
  retention: NoticeRetention;
  availableLocales: string[];
  notices: ConsentNotice[];
}

/**
 * One notice version: the text in the first preferred language that exists, or every language when
 * there is no preference (or none of the preferred ones exists and `strict` is false).
 * `strict` (an explicit ?locale) makes a missing language a 404 rather than a fallback.
 */
export function getConsentNotice(ctx: PassportContext, version: string, preferred: readonly string[], strict: boolean): NoticeResponse {
  const all = ctx.notices.get(version);
  if (all === undefined) {
    throw new VoicePassportError('not-found', `There is no consent notice "${version}".`, { availableVersions: ctx.notices.versions() });
  }
  const about = { version, current: version === ctx.notices.current, retention: ctx.notices.retention(version)!, availableLocales: all.map((n) => n.locale) };
  for (const tag of preferred) {
    const match = all.find((n) => n.locale === primaryLanguage(tag));
    if (match) return { ...about, notices: [match] };
  }
  if (strict && preferred.length > 0) {
    throw new VoicePassportError('not-found', `Notice ${version} has no text in ${preferred.join(', ')}.`, { availableLocales: about.availableLocales });
  }
  return { ...about, notices: [...all] };
}

export interface NoticeListResponse {
  /** The version to show a customer asked for consent now. */
  current: string;
  /** Oldest first: consents given under each stay valid and are kept to its periods. */
  versions: Array<{
    version: string;
    current: boolean;
    availableLocales: string[];
    /** What the text states. */
    retention: NoticeRetention;
    /** What the service keeps to for those who agreed to it: the shorter of the text's and the configuration's. */
    appliedRetention: AppliedRetention;
  }>;
  /** Where the current notice and the configuration disagree (noticeRetentionWarnings; also logged at start). */
  warnings: string[];
}

/** Every notice version, which one is offered now, and the periods each states and is held to (Art. 13(2)(a)). */
export function listConsentNotices(ctx: PassportContext): NoticeListResponse {
  return {
    current: ctx.notices.current,
    versions: ctx.notices.versions().map((version) => {
      const retention = ctx.notices.retention(version)!;
      return {
        version,
        current: version === ctx.notices.current,
        availableLocales: ctx.notices.locales(version),
        retention,
        appliedRetention: appliedRetention(ctx.retention, retention),
      };
    }),
    warnings: noticeRetentionWarnings(ctx.retention, ctx.notices),
  };
}
