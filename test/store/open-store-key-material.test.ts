/**
 * The raw master keys openStore reads live no longer than it needs them: both are zeroed once the
 * key ring is built, also when the start fails (GDPR Art. 32(1)(a); NIST SP 800-57 Part 1 §6.1.2,
 * key material not kept beyond its use).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { removeDir, tempDataDir, testMasterKey } from './helpers.js';

const read = vi.hoisted(() => ({ keys: [] as Buffer[] }));

vi.mock('../../src/store/master-key.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/store/master-key.js')>();
  return {
    ...actual,
    loadPreviousMasterKey: (...args: Parameters<typeof actual.loadPreviousMasterKey>) => {
      const r = actual.loadPreviousMasterKey(...args);
      if (r !== null) read.keys.push(r.key);
      return r;
    },
    loadMasterKey: (...args: Parameters<typeof actual.loadMasterKey>) => {
      const r = actual.loadMasterKey(...args);
      read.keys.push(r.key);
      return r;
    },
  };
});

let dir: string;
beforeEach(() => {
  dir = tempDataDir();
  read.keys = [];
});
afterEach(() => removeDir(dir));

const zeroed = (b: Buffer) => b.every((x) => x === 0);

describe('openStore: raw master keys', () => {
  it('zeroes both keys after a start that rotates', () => {
    openStore({ dataDir: dir, env: { VP_MASTER_KEY: testMasterKey } }).close();
    read.keys = [];
    const s = openStore({ dataDir: dir, env: { VP_MASTER_KEY: Buffer.alloc(32, 0xb0).toString('base64'), VP_PREVIOUS_MASTER_KEY: testMasterKey } });
    s.close();
    expect(read.keys).toHaveLength(2);
    expect(read.keys.every(zeroed)).toBe(true);
  });

  it('zeroes the previous key when the current one cannot be read', () => {
    openStore({ dataDir: dir, env: { VP_MASTER_KEY: testMasterKey } }).close();
    read.keys = [];
    expect(() => openStore({ dataDir: dir, env: { VP_MASTER_KEY: 'not a key', VP_PREVIOUS_MASTER_KEY: testMasterKey } })).toThrow(expect.objectContaining({ code: 'config-invalid' }));
    expect(read.keys).toHaveLength(1);
    expect(zeroed(read.keys[0]!)).toBe(true);
  });
});
