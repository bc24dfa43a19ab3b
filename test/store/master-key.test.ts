/** Master key sources and the data-dir fallback with its warning (GDPR Art. 32(1)(a); ISO/IEC 24745 key separation). */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

  describe('the generated key file', () => {
    afterEach(() => vi.restoreAllMocks());

    it('is never seen half written: a start that fails to write it leaves none, and the next start makes one', () => {
      const file = path.join(dir, dataDirKeyFileName);
      const write = fs.writeSync;
      vi.spyOn(fs, 'writeSync').mockImplementationOnce(() => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      });
      expect(() => loadMasterKey({ dataDir: dir, env: {} })).toThrow(expect.objectContaining({ code: 'config-invalid', message: expect.stringMatching(/ENOSPC/) }));
      expect(fs.existsSync(file)).toBe(false);
      vi.mocked(fs.writeSync).mockImplementation(write);
      const next = loadMasterKey({ dataDir: dir, env: {} });
      expect(next).toMatchObject({ generated: true, keyFile: file });
      expect(fs.readFileSync(file, 'utf8')).toBe(`${next.key.toString('base64')}\n`);
      // Only the key file: no work file left beside it.
      expect(fs.readdirSync(dir)).toEqual([dataDirKeyFileName]);
    });

    it('gives two starts at once the same key: one that finds it being written does not read it half written', () => {
      const write = fs.writeSync;
      let other: ReturnType<typeof loadMasterKey> | Error | undefined;
      vi.spyOn(fs, 'writeSync').mockImplementation((...args: Parameters<typeof fs.writeSync>) => {
        if (other === undefined) {
          other = new Error('pending');
          // A second process starts while the first is writing its key.
          try {
            other = loadMasterKey({ dataDir: dir, env: {} });
          } catch (e) {
            other = e as Error;
          }
        }
        return (write as (...a: unknown[]) => number)(...args);
      });
      const first = loadMasterKey({ dataDir: dir, env: {} });
      expect(other).not.toBeInstanceOf(Error);
      const second = other as ReturnType<typeof loadMasterKey>;
      expect(second.key).toEqual(first.key);
      expect([first.generated, second.generated].filter(Boolean)).toHaveLength(1);
      expect(fs.readFileSync(path.join(dir, dataDirKeyFileName), 'utf8')).toBe(`${first.key.toString('base64')}\n`);
      expect(fs.readdirSync(dir)).toEqual([dataDirKeyFileName]);
    });

    it('is on disk (the file and its directory entry fsynced) before the key is used to write the store', () => {
      const synced: fs.Stats[] = [];
      const fsync = fs.fsyncSync;
      vi.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
        synced.push(fs.fstatSync(fd));
        fsync(fd);
      });
      const nested = path.join(dir, 'data');
      const r = loadMasterKey({ dataDir: nested, env: {} });
      expect(r.generated).toBe(true);
      // Else a power cut after the store's first commit (synchronous=FULL) can leave master.key
      // empty or missing (delayed allocation), and no key opens the store's voiceprints again.
      const isSynced = (p: string) => synced.some((s) => s.ino === fs.statSync(p).ino && s.dev === fs.statSync(p).dev);
      expect(isSynced(path.join(nested, dataDirKeyFileName))).toBe(true);
      expect(isSynced(nested)).toBe(true);
      // A created data dir is itself an entry of its parent.
      expect(isSynced(dir)).toBe(true);
    });
  });

  it('refuses both variables, bad base64, wrong lengths and unreadable files with config-invalid', () => {
    const invalid = expect.objectContaining({ code: 'config-invalid' });
    expect(() => loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY: testMasterKey, VP_MASTER_KEY_FILE: '/x' } })).toThrow(invalid);
    expect(() => loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY: Buffer.alloc(16).toString('base64') } })).toThrow(invalid);
    expect(() => loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY: 'not base64 at all, not at all, not at all!!' } })).toThrow(invalid);
    expect(() => loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY_FILE: path.join(dir, 'missing') } })).toThrow(invalid);
  });

  it('never echoes a key put in VP_MASTER_KEY_FILE by mistake (as a path in the error, and so in the log)', () => {
    for (const key of [testMasterKey, Buffer.alloc(32, 0xfb).toString('base64'), Buffer.alloc(32, 0xab).toString('hex')]) {
      let message = '';
      try {
        loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY_FILE: `${key}\n` } });
      } catch (e) {
        expect(e).toMatchObject({ code: 'config-invalid' });
        message = (e as Error).message;
      }
      expect(message).toMatch(/VP_MASTER_KEY_FILE holds what looks like a key/);
      expect(message).not.toContain(key.slice(0, 12));
      expect(message).not.toContain(key.slice(-12));
    }
    // A file of that name is still a file.
    const named = Buffer.alloc(32, 0x11).toString('base64url');
    fs.writeFileSync(path.join(dir, named), `${testMasterKey}\n`, { mode: 0o600 });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(loadMasterKey({ dataDir: dir, env: { VP_MASTER_KEY_FILE: named } }).key).toEqual(Buffer.from(testMasterKey, 'base64'));
    } finally {
      process.chdir(cwd);
    }
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
    // The previous key in the _FILE variable by mistake: named, never echoed.
    expect(() => loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY_FILE: testMasterKey })).toThrow(naming('VP_PREVIOUS_MASTER_KEY_FILE holds what looks like a key'));
    expect(() => loadPreviousMasterKey({ VP_PREVIOUS_MASTER_KEY_FILE: testMasterKey })).not.toThrow(expect.objectContaining({ message: expect.stringContaining(testMasterKey.slice(0, 12)) }));
  });
});
