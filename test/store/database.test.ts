/** The one better-sqlite3 module: pragmas that GDPR Art. 32 / Art. 17 rely on, atomic transactions, checkpoint. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import { Database, databaseFileName } from '../../src/store/database.js';
import { removeDir, tempDataDir } from './helpers.js';

describe('Database', () => {
  let dir: string;
  let db: Database;

  beforeEach(() => {
    dir = path.join(tempDataDir(), 'nested', 'data');
    db = Database.open({ dataDir: dir });
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT');
  });
  afterEach(() => {
    db.close();
    removeDir(path.dirname(path.dirname(dir)));
  });

  it('creates the data dir and the database file with owner-only modes', () => {
    expect(db.path).toBe(path.join(dir, databaseFileName));
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(db.path).mode & 0o777).toBe(0o600);
  });

  it('sets the pragmas the privacy rules depend on', () => {
    expect(db.pragma('journal_mode')).toBe('wal');
    expect(db.pragma('synchronous')).toBe(2); // FULL
    expect(db.pragma('foreign_keys')).toBe(1);
    expect(db.pragma('secure_delete')).toBe(1);
    expect(db.pragma('temp_store')).toBe(2); // MEMORY
    expect(db.pragma('busy_timeout')).toBe(5000);
  });

  it('runs, gets and lists with positional and named parameters', () => {
    expect(db.run('INSERT INTO t (v) VALUES (?)', ['a'])).toEqual({ changes: 1, lastInsertRowid: 1 });
    db.run('INSERT INTO t (v) VALUES (@v)', { v: 'b' });
    expect(db.get<{ v: string }>('SELECT v FROM t WHERE id = ?', [2])).toEqual({ v: 'b' });
    expect(db.get('SELECT v FROM t WHERE id = 99')).toBeUndefined();
    expect(db.all<{ id: number; v: string }>('SELECT id, v FROM t ORDER BY id')).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
    ]);
  });

  it('rolls a transaction back when its body throws', () => {
    expect(() =>
      db.transaction(() => {
        db.run('INSERT INTO t (v) VALUES (?)', ['x']);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(db.all('SELECT * FROM t')).toEqual([]);
    expect(db.inTransaction).toBe(false);
  });

  it('nests transactions as savepoints: an inner failure caught by the outer body keeps the outer writes', () => {
    const n = db.transaction(() => {
      db.run('INSERT INTO t (v) VALUES (?)', ['outer']);
      try {
        db.transaction(() => {
          db.run('INSERT INTO t (v) VALUES (?)', ['inner']);
          throw new Error('inner fails');
        });
      } catch {
        /* expected */
      }
      return db.all('SELECT * FROM t').length;
    });
    expect(n).toBe(1);
    expect(db.all<{ v: string }>('SELECT v FROM t')).toEqual([{ v: 'outer' }]);
  });

  it('refuses an async transaction body and rolls back what it wrote before the await', async () => {
    const asyncBody = async (): Promise<void> => {
      db.run('INSERT INTO t (v) VALUES (?)', ['before-await']);
      await Promise.resolve();
    };
    // @ts-expect-error: a promise-returning body is a type error too
    expect(() => db.transaction(asyncBody)).toThrow(VoicePassportError);
    await Promise.resolve();
    expect(db.all('SELECT * FROM t')).toEqual([]);
  });

  it('checkpoint(TRUNCATE) empties the -wal file', () => {
    for (let i = 0; i < 50; i++) db.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(500)]);
    expect(fs.statSync(`${db.path}-wal`).size).toBeGreaterThan(0);
    const r = db.checkpoint();
    expect(r.complete).toBe(true);
    expect(r.walFrames).toBe(0); // after TRUNCATE the log is reset
    expect(fs.statSync(`${db.path}-wal`).size).toBe(0);
  });

  it('refuses a checkpoint inside a transaction', () => {
    expect(() => db.transaction(() => db.checkpoint())).toThrow(/inside a transaction/);
  });

  it('reports integrity as an empty list of problems', () => {
    expect(db.integrityCheck()).toEqual([]);
  });

  it('close is idempotent and leaves an empty -wal', () => {
    db.run('INSERT INTO t (v) VALUES (?)', ['x']);
    db.close();
    db.close();
    expect(db.isOpen).toBe(false);
    expect(fs.existsSync(`${db.path}-wal`) ? fs.statSync(`${db.path}-wal`).size : 0).toBe(0);
  });

  it('maps a trigger raising a catalogue code to that VoicePassportError', () => {
    db.exec(`CREATE TRIGGER t_guard BEFORE INSERT ON t WHEN NEW.v = 'forbidden' BEGIN SELECT RAISE(ABORT, 'consent-required'); END`);
    try {
      db.run('INSERT INTO t (v) VALUES (?)', ['forbidden']);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(VoicePassportError);
      expect((e as VoicePassportError).code).toBe('consent-required');
    }
  });
});

describe('Database.open failures', () => {
  it('gives config-invalid with the path when the data dir cannot be created', () => {
    const base = tempDataDir();
    const blocker = path.join(base, 'file');
    fs.writeFileSync(blocker, 'not a dir');
    try {
      expect(() => Database.open({ dataDir: path.join(blocker, 'data') })).toThrow(expect.objectContaining({ code: 'config-invalid' }));
    } finally {
      removeDir(base);
    }
  });
});
