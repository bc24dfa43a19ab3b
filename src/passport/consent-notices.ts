/**
 * The consent notice texts (GDPR Art. 7(1), 13): versioned files `consent-notices/<version>.<locale>.md`
 * in the repository, loaded once at start. A consent record names the version shown, so the exact
 * text a subject agreed to can always be shown again; each text's SHA-256 lets a bank prove which
 * bytes that was.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { VoicePassportError } from '../errors.js';
import { findPackageDir } from '../package-dir.js';

export interface ConsentNotice {
  version: string;
  /** ISO 639-1 language, e.g. "en", "nl". */
  locale: string;
  text: string;
  sha256: string;
}

export const noticeVersionPattern = /^v[0-9]{1,4}$/;
const fileNamePattern = /^(v[0-9]{1,4})\.([a-z]{2})\.md$/;

export class ConsentNotices {
  private constructor(private readonly byVersion: ReadonlyMap<string, readonly ConsentNotice[]>) {}

  /** Reads every `<version>.<locale>.md` in `dir`. A directory without any notice is a start-up error. */
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
    return ConsentNotices.fromList(notices);
  }

  static fromList(notices: readonly ConsentNotice[]): ConsentNotices {
    const map = new Map<string, ConsentNotice[]>();
    for (const n of notices) map.set(n.version, [...(map.get(n.version) ?? []), n].sort((a, b) => a.locale.localeCompare(b.locale)));
    return new ConsentNotices(map);
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
}

/** `consent-notices/` of this package. */
export function defaultConsentNoticesDir(): string {
  return findPackageDir('consent-notices');
}
