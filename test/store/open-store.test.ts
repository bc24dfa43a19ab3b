/** Opening the store: master key check (GDPR Art. 32(1)(a)), key-less CLI access, two processes on one data dir. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, openStoreWithoutMasterKey } from '../../src/store/index.js';
import { dataDirKeyFileName } from '../../src/store/master-key.js';
import { loadMigrations } from '../../src/store/migrate.js';
import { embedding, openTestStore, removeDir, tempDataDir, testMasterKey } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = tempDataDir();
});
afterEach(() => removeDir(dir));

describe('openStore', () => {
  it('opens a migrated store and reopens it with the same key: pseudonyms and voiceprints survive', () => {
    const a = openTestStore(dir);
    expect(a.schemaVersion).toBe(loadMigrations().length);
    expect(a.masterKey).toEqual({ source: 'VP_MASTER_KEY', generated: false, keyFile: null, keptInDataDir: false, warnings: [] });
    const p = a.pseudonymise('cust-1');
    a.consents.give(p, { noticeVersion: 'v1', channel: 'app', actorKeyId: null });
    a.voiceprints.completeEnrolment(p, { embedding: embedding(1), modelId: 'm', sampleCount: 1, netSpeechSeconds: 20 });
    a.close();
    const b = openTestStore(dir);
    expect(b.pseudonymise('cust-1')).toBe(p);
    expect(b.voiceprints.voiceprint(p)?.embedding).toEqual(embedding(1));
    expect(b.db.integrityCheck()).toEqual([]);
    b.close();
  });

  it('refuses another master key for the same data dir with config-invalid', () => {
    openTestStore(dir).close();
    const other = Buffer.alloc(32, 9).toString('base64');
    expect(() => openStore({ dataDir: dir, env: { VP_MASTER_KEY: other } })).toThrow(
      expect.objectContaining({ code: 'config-invalid', message: expect.stringMatching(/not the one the store in this data directory is under/) }),
    );
  });

  it('does not generate a key file for a data dir set up with an external key', () => {
    openTestStore(dir).close();
    expect(() => openStore({ dataDir: dir, env: {} })).toThrow(expect.objectContaining({ code: 'config-invalid', message: expect.stringMatching(/set the same one/) }));
    expect(fs.existsSync(path.join(dir, dataDirKeyFileName))).toBe(false);
  });

  it('generates a data-dir key on first start without a key, flags it, and keeps using it', () => {
    const a = openStore({ dataDir: dir, env: {} });
    expect(a.masterKey).toMatchObject({ source: 'data-dir', generated: true, keptInDataDir: true, warnings: [expect.stringMatching(/beside the database/)] });
    const p = a.pseudonymise('cust-1');
    a.close();
    const b = openStore({ dataDir: dir, env: {} });
    expect(b.masterKey.generated).toBe(false);
    expect(b.pseudonymise('cust-1')).toBe(p);
    b.close();
  });

  it('lets key-less CLI work (keys, audit) on a data dir whose master key it does not have', () => {
    openTestStore(dir).close();
    const s = openStoreWithoutMasterKey({ dataDir: dir });
    const { record } = s.apiKeys.create({ role: 'admin', name: 'bootstrap' });
    s.audit.append({ action: 'key.created', actorKeyId: null, subjectPseudonym: null, outcome: 'ok', details: { keyId: record.id, role: 'admin' } });
    expect(s.audit.verify()).toMatchObject({ ok: true, entries: 1 });
    s.close();
    expect(fs.existsSync(path.join(dir, dataDirKeyFileName))).toBe(false);
    const full = openStore({ dataDir: dir, env: { VP_MASTER_KEY: testMasterKey } });
    expect(full.apiKeys.list().map((k) => k.name)).toEqual(['bootstrap']);
    full.close();
  });

  it('two connections (server and CLI) see each other\'s writes', () => {
    const server = openTestStore(dir);
    const cli = openStoreWithoutMasterKey({ dataDir: dir });
    const { key } = cli.apiKeys.create({ role: 'telephony' });
    expect(server.apiKeys.authenticate(key)?.role).toBe('telephony');
    server.audit.append({ action: 'policy.updated', actorKeyId: null, subjectPseudonym: null, outcome: 'ok' });
    cli.audit.append({ action: 'key.created', actorKeyId: null, subjectPseudonym: null, outcome: 'ok' });
    expect(server.audit.verify()).toMatchObject({ ok: true, entries: 2 });
    cli.close();
    server.close();
  });
});
