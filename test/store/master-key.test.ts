/** Master key sources and the data-dir fallback with its warning (GDPR Art. 32(1)(a); ISO/IEC 24745 key separation). */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dataDirKeyFileName, loadMasterKey, loadPreviousMasterKey, parseMasterKey } from '../../src/store/master-key.js';
import { removeDir, tempDataDir, testMasterKey } from './helpers.js';

describe('loadMasterKey', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDataDir();
  });
  afterEach(() => removeDir(dir));

  it('takes VP_MASTER_KEY (base64 of 32 bytes) and writes nothing', () => {
    const r = loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY: ` ${testMasterKey}\n` } });
    expect(r.key).toEqual(Buffer.from(testMasterKey, 'base64'));
    expect(r).toMatchObject({ source: 'VP_MASTER_KEY', generated: false, keyFile: null, keptInDataDir: false, warnings: [] });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('takes VP_MASTER_KEY_FILE outside the data dir without warnings when it is 0600', () => {
    const other = tempDataDir();
    try {
      const file = path.join(other, 'vp.key');
      fs.writeFileSync(file, `${testMasterKey}\n`, { mode: 0o600 });
      const r = loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY_FILE: file } });
      expect(r.key).toEqual(Buffer.from(testMasterKey, 'base64'));
      expect(r).toMatchObject({ source: 'VP_MASTER_KEY_FILE', keyFile: file, keptInDataDir: false, warnings: [] });
      // A path copied with its line end names the same file.
      expect(loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY_FILE: `${file}\n` } })).toMatchObject({ keyFile: file });
      fs.chmodSync(file, 0o644);
      expect(loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY_FILE: file } }).warnings).toEqual([expect.stringMatching(/readable by other users \(mode 644\)/)]);
    } finally {
      removeDir(other);
    }
  });

  it('warns when VP_MASTER_KEY_FILE points into the data dir', () => {
    const file = path.join(dir, 'k');
    fs.writeFileSync(file, testMasterKey, { mode: 0o600 });
    const r = loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY_FILE: file } });
    expect(r.keptInDataDir).toBe(true);
    expect(r.warnings).toEqual([expect.stringMatching(/beside the database/)]);
  });

  it('generates a 0600 key file in the data dir on first start, then reuses it', () => {
    const first = loadMasterKey({ dataDir: dir, env: {} });
    const file = path.join(dir, dataDirKeyFileName);
    expect(first).toMatchObject({ source: 'data-dir', generated: true, keyFile: file, keptInDataDir: true });
    expect(first.warnings).toEqual([expect.stringMatching(/In production set VP_MASTER_KEY or VP_MASTER_KEY_FILE/)]);
    expect(first.key.length).toBe(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const second = loadMasterKey({ dataDir: dir, env: {} });
    expect(second.generated).toBe(false);
    expect(second.key).toEqual(first.key);
  });

  it('creates a missing data dir for the generated key', () => {
    const nested = path.join(dir, 'a', 'b');
    expect(loadMasterKey({ dataDir: nested, env: {} }).generated).toBe(true);
    expect(fs.existsSync(path.join(nested, dataDirKeyFileName))).toBe(true);
  });

  it('refuses both variables, bad base64, wrong lengths and unreadable files with config-invalid', () => {
    const invalid = expect.objectContaining({ code: 'config-invalid' });
    expect(() => loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY: testMasterKey, VP_MASTER_KEY_FILE: '/x' } })).toThrow(invalid);
    expect(() => loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY: Buffer.alloc(16).toString('base64') } })).toThrow(invalid);
    expect(() => loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY: 'not base64 at all, not at all, not at all!!' } })).toThrow(invalid);
    expect(() => loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY_FILE: path.join(dir, 'missing') } })).toThrow(invalid);
  });

  it('parses base64url too, and says how to make a key', () => {
    expect(parseMasterKey(Buffer.alloc(32, 0xfb).toString('base64url'), 'X')).toEqual(Buffer.alloc(32, 0xfb));
    expect(() => parseMasterKey('abc', 'VP_MASTER_KEY')).toThrow(/openssl rand -base64 32/);
  });
});

describe('loadPreviousMasterKey', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDataDir();
  });
  afterEach(() => removeDir(dir));

  it('is null when neither variable is set (blank counts as unset)', () => {
    expect(loadPreviousMasterKey({})).toBeNull();
    expect(loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY: ' ', VP_PREVIOUS_MASTER_KEY_FILE: '' })).toBeNull();
  });

  it('takes VP_PREVIOUS_MASTER_KEY, or VP_PREVIOUS_MASTER_KEY_FILE with a warning when others can read it', () => {
    expect(loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY: testMasterKey })).toEqual({ key: Buffer.from(testMasterKey, 'base64'), source: 'VP_PREVIOUS_MASTER_KEY', warnings: [] });
    const file = path.join(dir, 'old.key');
    fs.writeFileSync(file, `${testMasterKey}\n`, { mode: 0o600 });
    expect(loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY_FILE: file })).toEqual({ key: Buffer.from(testMasterKey, 'base64'), source: 'VP_PREVIOUS_MASTER_KEY_FILE', warnings: [] });
    fs.chmodSync(file, 0o640);
    expect(loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY_FILE: file })?.warnings).toEqual([expect.stringMatching(/old\.key is readable by other users \(mode 640\)/)]);
  });

  it('refuses both variables, a malformed key and a missing file with config-invalid naming the variable', () => {
    const naming = (name: string) => expect.objectContaining({ code: 'config-invalid', message: expect.stringContaining(name) });
    expect(() => loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY: testMasterKey, VP_PREVIOUS_MASTER_KEY_FILE: '/x' })).toThrow(naming('not both'));
    expect(() => loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY: Buffer.alloc(31).toString('base64') })).toThrow(naming('VP_PREVIOUS_MASTER_KEY must be 32 random bytes'));
    expect(() => loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY_FILE: path.join(dir, 'missing') })).toThrow(naming('VP_PREVIOUS_MASTER_KEY_FILE'));
  });
});
