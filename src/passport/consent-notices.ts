/**
 * The consent notice texts (GDPR Art. 7(1), 13): versioned files `consent-notices/<version>.<locale>.md`
 * in the repository (or VP_CONSENT_NOTICES_DIR), loaded once at start. A consent record names the
 * version shown, so the exact text a subject agreed to can always be shown again; each text's SHA-256
 * lets a bank prove which bytes that was.
 *
 * Beside the texts, `notices.json` says which version is offered now and, for each version, the
 * storage periods its text tells the customer (Art. 13(2)(a)). The retention purge keeps each
 * subject's data no longer than the notice they agreed to says (src/passport/retention.ts), so a
 * configuration changed later never stretches what a customer was told.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import { findPackageDir } from '../package-dir.js';

export interface ConsentNotice {
  version: string;
  /** ISO 639-1 language, e.g. "en", "nl". */
  locale: string;
  text: string;
  sha256: string;
}

/** The storage periods a notice's text states, in days; null where the text names none. */
export interface NoticeRetention {
  /** "Erased after N days unused": the voiceprint (and an abandoned enrolment). */
  voiceprintUnusedDays: number | null;
  /** Each verification's record is kept N days. */
  verificationHistoryDays: number | null;
  /** The record of consent and its end is kept N days after the consent ended (withdrawal or erasure). */
  consentRecordDays: number | null;
}

export const noticeVersionPattern = /^v[0-9]{1,4}$/;
const fileNamePattern = /^(v[0-9]{1,4})\.([a-z]{2})\.md$/;
export const noticeIndexFile = 'notices.json';

const days = z.number().int().min(1).max(36_500).nullable();
const indexSchema = z
  .object({
    current: z.string().regex(noticeVersionPattern, 'a notice version such as "v2"'),
    versions: z.record(
      z.string().regex(noticeVersionPattern, 'a notice version such as "v2"'),
      z.object({ retention: z.object({ voiceprintUnusedDays: days, verificationHistoryDays: days, consentRecordDays: days }).strict() }).strict(),
    ),
  })
  .strict();

export class ConsentNotices {
  private constructor(
    private readonly byVersion: ReadonlyMap<string, readonly ConsentNotice[]>,
    private readonly retentionByVersion: ReadonlyMap<string, NoticeRetention>,
    /** The version offered to customers now. */
    readonly current: string,
  ) {}

  /**
   * Reads every `<version>.<locale>.md` in `dir` and its `notices.json`. A directory without any
   * notice, an index that is missing or invalid, or one that does not list exactly the versions
   * present is a start-up error: a notice whose periods are unknown cannot be kept to.
   */
  static load(dir: string): ConsentNotices {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      throw new VoicePassportError('config-invalid', `Cannot read the consent notices in ${dir}: ${(e as Error).message}.`);
    }
    const notices: ConsentNotice[] = [];
    for (const name of names.sort()) {
      const m = fileNamePattern.exec(name);
      if (!m) continue;
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      notices.push({ version: m[1]!, locale: m[2]!, text, sha256: createHash('sha256').update(text, 'utf8').digest('hex') });
    }
    if (notices.length === 0) throw new VoicePassportError('config-invalid', `No consent notices (<version>.<locale>.md) in ${dir}.`);
    const indexPath = path.join(dir, noticeIndexFile);
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
    } catch (e) {
      throw new VoicePassportError('config-invalid', `Cannot read ${indexPath} (the current notice and the periods each notice states): ${(e as Error).message}.`);
    }
    const parsed = indexSchema.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new VoicePassportError('config-invalid', `${indexPath} is invalid: ${problems}.`);
    }
    const retention = new Map(Object.entries(parsed.data.versions).map(([v, e]) => [v, e.retention] as const));
    return ConsentNotices.fromList(notices, { current: parsed.data.current, retention }, indexPath);
  }

  /** `where` names the index in error messages. */
  static fromList(notices: readonly ConsentNotice[], index: { current: string; retention: ReadonlyMap<string, NoticeRetention> }, where = 'the notice index'): ConsentNotices {
    const map = new Map<string, ConsentNotice[]>();
    for (const n of notices) map.set(n.version, [...(map.get(n.version) ?? []), n].sort((a, b) => a.locale.localeCompare(b.locale)));
    const texts = [...map.keys()];
    const unlisted = texts.filter((v) => !index.retention.has(v));
    const missing = [...index.retention.keys()].filter((v) => !map.has(v));
    if (unlisted.length > 0 || missing.length > 0) {
      const parts = [
        unlisted.length > 0 ? `the texts of ${unlisted.join(', ')} are not listed in it` : '',
        missing.length > 0 ? `it lists ${missing.join(', ')}, which have no text` : '',
      ].filter((p) => p !== '');
      throw new VoicePassportError('config-invalid', `${where} does not match the notice texts: ${parts.join('; ')}.`);
    }
    if (!map.has(index.current)) throw new VoicePassportError('config-invalid', `${where} names ${index.current} as current, which has no text.`);
    return new ConsentNotices(map, index.retention, index.current);
  }

  versions(): string[] {
    return [...this.byVersion.keys()].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  }

  /** Every language of one version (sorted by locale), or undefined for an unknown version. */
  get(version: string): readonly ConsentNotice[] | undefined {
    return this.byVersion.get(version);
  }

  locales(version: string): string[] {
    return (this.byVersion.get(version) ?? []).map((n) => n.locale);
  }

  /** The periods the version's text states; undefined for an unknown version. */
  retention(version: string): NoticeRetention | undefined {
    return this.retentionByVersion.get(version);
  }
}

/** `consent-notices/` of this package. */
export function defaultConsentNoticesDir(): string {
  return findPackageDir('consent-notices');
}
