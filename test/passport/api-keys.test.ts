import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapApiKeys, initialKeysFileName } from '../../src/passport/api-keys.js';
import type { Store } from '../../src/store/index.js';
import { openTestStore, removeDir, tempDataDir } from '../store/helpers.js';

let dir: string;
let store: Store;
afterEach(() => {
  store.close();
  removeDir(dir);
});

describe('bootstrapApiKeys (first start)', () => {
  it('creates one key per role, writes them once to a 0600 file, and does nothing when keys exist', () => {
    dir = tempDataDir();
    store = openTestStore(dir);
    const r = bootstrapApiKeys(store, dir)!;
    expect(r.file).toBe(path.join(dir, initialKeysFileName));
    expect(r.keys.map((k) => k.role)).toEqual(['telephony', 'enrolment', 'operator', 'admin']);
    expect(fs.statSync(r.file).mode & 0o777).toBe(0o600);
    const written = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { note: string; keys: Array<{ id: string; role: string; key: string }> };
    expect(written.note).toBe('Created at first start. Store these keys in your secret manager, then delete this file. They are not shown again.');
    expect(written.keys.map((k) => [k.id, k.role])).toEqual(r.keys.map((k) => [k.id, k.role]));
    for (const k of written.keys) expect(store.apiKeys.authenticate(k.key)).toMatchObject({ id: k.id, role: k.role });
    expect(store.audit.list({ action: 'key.created' }).map((e) => [e.actorKeyId, e.details.role])).toEqual(written.keys.map((k) => [null, k.role]));

    fs.unlinkSync(r.file);
    expect(bootstrapApiKeys(store, dir)).toBeUndefined();
    expect(fs.existsSync(r.file)).toBe(false);
    expect(store.apiKeys.list()).toHaveLength(4);
  });
});
