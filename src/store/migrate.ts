/**
 * Versioned schema migrations: `migrations/NNN_name.sql`, applied in order, each in its own IMMEDIATE
 * transaction together with its `schema_version` row, so a crash leaves either the old or the new
 * schema (GDPR Art. 32(1)(b) integrity; issue 3 "versioned migrations"). Running it again is a no-op,
 * and two processes starting at once (server + CLI) cannot both apply a step: the version is re-read
 * under the write lock.
 *
 * An applied migration's SHA-256 is stored; editing an applied file is refused at start rather than
 * leaving databases that claim the same version with different schemas. Add a new file instead.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VoicePassportError } from '../errors.js';
import type { Database } from './database.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  sha256: string;
}

export interface MigrationResult {
  /** Versions applied by this call, in order. */
  applied: number[];
  /** Schema version after the call. */
  version: number;
}

const fileNamePattern = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * The .sql files live beside this module in `src/store/migrations/`. `tsc` does not copy them to
 * `dist/`, so a compiled build (dist/src/store/migrate.js) reads them from the package's src tree.
 */
function migrationDirectories(): string[] {
  return [new URL('./migrations/', import.meta.url), new URL('../../../src/store/migrations/', import.meta.url)].map((u) => fileURLToPath(u));
}

/** Reads and validates the migration files: numbered 001, 002, … with no gaps or duplicates. */
export function loadMigrations(directory?: string): Migration[] {
  const dir = directory ?? migrationDirectories().find((d) => fs.existsSync(d));
  if (dir === undefined) {
    throw new VoicePassportError('internal', `The schema migrations were not found (looked in ${migrationDirectories().join(', ')}).`);
  }
  const migrations = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const m = fileNamePattern.exec(file);
      if (m === null) throw new VoicePassportError('internal', `Migration file ${file} must be named NNN_lower_snake.sql.`);
      const sql = fs.readFileSync(`${dir}/${file}`, 'utf8');
      return { version: Number(m[1]), name: m[2]!, sql, sha256: createHash('sha256').update(sql).digest('hex') };
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new VoicePassportError('internal', `Migration ${m.version}_${m.name} is out of sequence; expected version ${i + 1}.`);
  });
  return migrations;
}

interface VersionRow {
  version: number;
  name: string;
  sha256: string;
}

/** Applies every migration newer than the database's schema version. Idempotent. */
export function migrate(db: Database, migrations: Migration[] = loadMigrations()): MigrationResult {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);

  const appliedRows = db.all<VersionRow>('SELECT version, name, sha256 FROM schema_version ORDER BY version');
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of appliedRows) {
    const m = known.get(row.version);
    if (m === undefined) {
      throw new VoicePassportError('config-invalid', `The database in this data directory has schema version ${row.version} (${row.name}), newer than this program knows; run the newer Voice Passport version or restore a backup.`);
    }
    if (m.sha256 !== row.sha256) {
      throw new VoicePassportError('internal', `Migration ${m.version}_${m.name} was changed after it was applied; add a new migration instead of editing an applied one.`);
    }
  }

  const applied: number[] = [];
  for (const m of migrations) {
    const done = db.transaction(() => {
      // Re-read under the write lock: another process may have applied it meanwhile.
      if (db.get('SELECT 1 AS x FROM schema_version WHERE version = ?', [m.version]) !== undefined) return false;
      db.exec(m.sql);
      db.run('INSERT INTO schema_version (version, name, sha256, applied_at) VALUES (?, ?, ?, ?)', [m.version, m.name, m.sha256, new Date().toISOString()]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  const last = db.get<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
  return { applied, version: last?.v ?? 0 };
}
