import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import { ConsentNotices, defaultConsentNoticesDir } from '../../src/passport/consent-notices.js';

describe('ConsentNotices', () => {
  it('loads the repository notices: v1 and v2 in English and Dutch, with their SHA-256, v2 current, and the periods each states', () => {
    const dir = defaultConsentNoticesDir();
    expect(dir).toBe(path.resolve('consent-notices'));
    const notices = ConsentNotices.load(dir);
    expect(notices.versions()).toEqual(['v1', 'v2']);
    expect(notices.current).toBe('v2');
    expect(notices.locales('v1')).toEqual(['en', 'nl']);
    expect(notices.locales('v2')).toEqual(['en', 'nl']);
    const nl = notices.get('v1')![1]!;
    const text = fs.readFileSync(path.join(dir, 'v1.nl.md'), 'utf8');
    expect(nl).toEqual({ version: 'v1', locale: 'nl', text, sha256: createHash('sha256').update(text).digest('hex') });
    // A consent names the version it was given under, and the bank proves the text by its hash:
    // the bytes of a version in use must never change (a changed text is a new version).
    expect(notices.get('v1')!.map((n) => n.sha256)).toEqual([
      '49f713a4e884503b337659a1a8a942c993f3c277845714a4065c2d1bc09be33a',
      'f99e4f6452ad9e9bc017593c8a171d6139c6f5b857de2d370d250a6df8b20413',
    ]);
    expect(notices.get('v2')!.map((n) => n.sha256)).toEqual([
      'f6f1a04b801bce08abdbaacf63d7dbfe9f9a930a730690d4b75a35e41fcb76eb',
      '4b1eeaa68be21a65acb3b5e6cc8ba2c706169187f8a75f3e37c86fdcbc4bf5c1',
    ]);
    expect(notices.retention('v1')).toEqual({ voiceprintUnusedDays: 1095, verificationHistoryDays: null, consentRecordDays: null });
    expect(notices.retention('v2')).toEqual({ voiceprintUnusedDays: 1095, verificationHistoryDays: 400, consentRecordDays: 1826 });
    expect(notices.get('v3')).toBeUndefined();
    expect(notices.locales('v3')).toEqual([]);
    expect(notices.retention('v3')).toBeUndefined();
  });

  it('the periods in notices.json are those the texts state: v1 names three years, v2 also 400 days and five years', () => {
    const dir = defaultConsentNoticesDir();
    const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8').replace(/\s+/g, ' ');
    expect(read('v1.en.md')).toContain('until you have not used the voice passport for three years');
    expect(read('v1.en.md')).not.toMatch(/\d+ days/);
    expect(read('v2.en.md')).toContain('until you have not used the voice passport for three years');
    expect(read('v2.en.md')).toContain('The record of each use: 400 days');
    expect(read('v2.en.md')).toContain('is kept for five years after your consent ends');
    expect(read('v2.nl.md')).toContain('drie jaar niet hebt gebruikt');
    expect(read('v2.nl.md')).toContain('De registratie van elk gebruik: 400 dagen');
    expect(read('v2.nl.md')).toContain('tot vijf jaar nadat uw toestemming is geëindigd');
  });

  describe('from a directory', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-notices-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
    const index = (value: unknown) => write('notices.json', JSON.stringify(value));
    const stated = (voiceprintUnusedDays: number | null, verificationHistoryDays: number | null, consentRecordDays: number | null = null) => ({
      retention: { voiceprintUnusedDays, verificationHistoryDays, consentRecordDays },
    });

    it('orders versions numerically and ignores other files', () => {
      for (const name of ['v10.en.md', 'v2.en.md', 'v2.nl.md', 'README.md', 'v3.english.md']) write(name, name);
      index({ current: 'v10', versions: { v2: stated(1095, null), v10: stated(365, 90, 730) } });
      const notices = ConsentNotices.load(dir);
      expect(notices.versions()).toEqual(['v2', 'v10']);
      expect(notices.locales('v2')).toEqual(['en', 'nl']);
      expect(notices.current).toBe('v10');
      expect(notices.retention('v10')).toEqual({ voiceprintUnusedDays: 365, verificationHistoryDays: 90, consentRecordDays: 730 });
    });

    it('a directory without notices, or none at all, stops the start with config-invalid', () => {
      expect(() => ConsentNotices.load(dir)).toThrow(VoicePassportError);
      expect(() => ConsentNotices.load(path.join(dir, 'missing'))).toThrow(/Cannot read the consent notices/);
    });

    it('texts without notices.json, or with one that is broken, invalid or does not match them, stop the start and say why', () => {
      write('v1.en.md', 'one');
      write('v2.en.md', 'two');
      const failure = () => {
        try {
          ConsentNotices.load(dir);
        } catch (e) {
          expect(e).toBeInstanceOf(VoicePassportError);
          expect((e as VoicePassportError).code).toBe('config-invalid');
          return (e as Error).message;
        }
        throw new Error('loaded');
      };
      expect(failure()).toMatch(/^Cannot read .*notices\.json \(the current notice and the periods each notice states\): ENOENT/);
      write('notices.json', '{"current": "v2",');
      expect(failure()).toMatch(/^Cannot read .*notices\.json .*JSON/);
      index({ current: 'v2', versions: { v1: stated(0, null), v2: { retention: { voiceprintUnusedDays: 1095, verificationHistoryDays: 400 } } } });
      expect(failure()).toMatch(/notices\.json is invalid: versions\.v1\.retention\.voiceprintUnusedDays: .*>=1; versions\.v2\.retention\.consentRecordDays: .*\.$/);
      index({ current: 'v2', versions: { v1: stated(1095, null), v2: stated(1095, 400) }, draft: true });
      expect(failure()).toMatch(/notices\.json is invalid: \(root\): Unrecognized key: "draft"\.$/);
      index({ current: 'v2', versions: { v2: stated(1095, 400), v3: stated(1095, 400) } });
      expect(failure()).toMatch(/notices\.json does not match the notice texts: the texts of v1 are not listed in it; it lists v3, which have no text\.$/);
      index({ current: 'v3', versions: { v1: stated(1095, null), v2: stated(1095, 400) } });
      expect(failure()).toMatch(/notices\.json names v3 as current, which has no text\.$/);
      index({ current: 'v2', versions: { v1: stated(1095, null), v2: stated(1095, 400) } });
      expect(ConsentNotices.load(dir).current).toBe('v2');
    });
  });
});
