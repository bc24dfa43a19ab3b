import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import { ConsentNotices, defaultConsentNoticesDir } from '../../src/passport/consent-notices.js';

describe('ConsentNotices', () => {
  it('loads the repository notices: v1 in English and Dutch, with their SHA-256', () => {
    const dir = defaultConsentNoticesDir();
    expect(dir).toBe(path.resolve('consent-notices'));
    const notices = ConsentNotices.load(dir);
    expect(notices.versions()).toEqual(['v1']);
    expect(notices.locales('v1')).toEqual(['en', 'nl']);
    const nl = notices.get('v1')![1]!;
    const text = fs.readFileSync(path.join(dir, 'v1.nl.md'), 'utf8');
    expect(nl).toEqual({ version: 'v1', locale: 'nl', text, sha256: createHash('sha256').update(text).digest('hex') });
    expect(notices.get('v2')).toBeUndefined();
    expect(notices.locales('v2')).toEqual([]);
  });

  it('orders versions numerically and ignores other files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-notices-'));
    try {
      for (const name of ['v10.en.md', 'v2.en.md', 'v2.nl.md', 'README.md', 'v3.english.md']) fs.writeFileSync(path.join(dir, name), name);
      const notices = ConsentNotices.load(dir);
      expect(notices.versions()).toEqual(['v2', 'v10']);
      expect(notices.locales('v2')).toEqual(['en', 'nl']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a directory without notices, or none at all, stops the start with config-invalid', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-notices-'));
    try {
      expect(() => ConsentNotices.load(dir)).toThrow(VoicePassportError);
      expect(() => ConsentNotices.load(path.join(dir, 'missing'))).toThrow(/Cannot read the consent notices/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
