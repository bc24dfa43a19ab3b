/**
 * The one module that imports better-sqlite3 (architecture rule: the store is the only place with SQL
 * drivers). A five-method wrapper — run/get/all/transaction/exec — plus the maintenance calls the
 * privacy rules need: `checkpoint()` (erasure must leave no old bytes in the -wal file, GDPR Art. 17),
 * `copyTo()` (backups), `integrityCheck()` and `close()`.
 *
 * Pragmas and why (GDPR Art. 32 "security of processing"; ISO/IEC 24745 template protection):
 * - journal_mode=WAL: readers never block the writer, and the CLI can work on the same data dir while
 *   the server runs.
 * - synchronous=FULL, always (not only for erasures): every commit fsyncs the WAL. A consent, a
 *   withdrawal or an erasure that was acknowledged to a caller is a legal fact (Art. 7(1), 17), and
 *   attempt-limiting counters must not roll back on power loss (NIST SP 800-63B §3.2.3). NORMAL only
 *   loses commits on OS crash/power loss, but then it loses exactly those facts. The cost is one fsync
 *   per write transaction (~1 ms on SSD), small next to model inference, so one simple rule wins over
 *   switching the pragma per transaction.
 * - foreign_keys=ON: a template cannot outlive its subject key or subject.
 * - secure_delete=ON: deleted rows are overwritten with zeros in the page, so erased templates and
 *   wrapped keys do not linger in free space of the .db file.
 * - temp_store=MEMORY: sorts and statement journals never spill (possibly biometric) rows to /tmp files
 *   outside the protected data dir.
 * - busy_timeout: the server and a CLI process share the file; wait rather than fail on a short lock.
 *
 * Transactions are IMMEDIATE (take the write lock up front): every transaction here writes, and a
 * DEFERRED one that reads then writes can fail with SQLITE_BUSY_SNAPSHOT when another process wrote in
 * between, which busy_timeout cannot cure. A transaction body must be synchronous: an `await` inside
 * would commit half a use case (issue 3: "compute first, then write"); a returned promise is refused.
 */
import BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { errorCatalogue, VoicePassportError, type ErrorCode } from '../errors.js';

export const databaseFileName = 'voice-passport.db';

/** Values SQLite can bind. Booleans are not SQLite values: convert to 0/1 at the repository. */
export type SqlValue = string | number | bigint | Uint8Array | null;
/** Positional (`?`) or named (`@name`, `:name`, `$name`) parameters. */
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface CheckpointResult {
  /** False when a reader or writer kept the checkpoint from finishing within busy_timeout. */
  complete: boolean;
  /** Frames in the WAL before the checkpoint, and how many of them were copied into the database. */
  walFrames: number;
  checkpointedFrames: number;
}

export interface DatabaseOptions {
  dataDir: string;
  /** Milliseconds to wait for a lock held by another connection or process. Default 5000. */
  busyTimeoutMs?: number;
}

/** A transaction body must not be async; this makes `transaction(async () => …)` a type error too. */
type NotPromise<T> = T extends PromiseLike<unknown> ? never : T;

export class Database {
  readonly path: string;
  private readonly db: BetterSqlite3.Database;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  private constructor(filePath: string, db: BetterSqlite3.Database) {
    this.path = filePath;
    this.db = db;
  }

  /** Opens a database file (a backup) read-only, for inspection: nothing is created, migrated or written. */
  static openReadOnly(filePath: string): Database {
    try {
      return new Database(filePath, new BetterSqlite3(filePath, { readonly: true, fileMustExist: true }));
    } catch (e) {
      throw new VoicePassportError('validation-failed', `Cannot open ${filePath} as a database: ${(e as Error).message}.`);
    }
  }

  /** Opens (creating if needed) `<dataDir>/voice-passport.db`. The dir is created 0700 and the file 0600. */
  static open(options: DatabaseOptions): Database {
    const dataDir = path.resolve(options.dataDir);
    try {
      // 0700 / 0600: the files hold pseudonymised biometric data (Art. 32); other local users get nothing.
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new VoicePassportError('config-invalid', `Cannot create the data directory ${dataDir}: ${(e as Error).message}. Set VP_DATA_DIR to a writable directory.`);
    }
    const filePath = path.join(dataDir, databaseFileName);
    let db: BetterSqlite3.Database;
    try {
      // Create the file ourselves so it gets mode 0600; SQLite gives -wal and -shm the same mode.
      fs.closeSync(fs.openSync(filePath, 'a', 0o600));
      db = new BetterSqlite3(filePath);
    } catch (e) {
      throw new VoicePassportError('config-invalid', `Cannot open the database ${filePath}: ${(e as Error).message}. Check VP_DATA_DIR and its permissions.`);
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') {
        throw new VoicePassportError('config-invalid', `The database ${filePath} cannot use WAL mode (got ${String(mode)}); put VP_DATA_DIR on a local file system.`);
      }
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('secure_delete = ON');
      db.pragma('temp_store = MEMORY');
    } catch (e) {
      db.close();
      throw e;
    }
    return new Database(filePath, db);
  }

  run(sql: string, params?: SqlParams): RunResult {
    return translateErrors(() => {
      const r = bind(this.statement(sql), params, 'run') as BetterSqlite3.RunResult;
      return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
    });
  }

  /** The first row, or undefined. `T` is the caller's promise about the row's shape. */
  get<T extends object>(sql: string, params?: SqlParams): T | undefined {
    return translateErrors(() => bind(this.statement(sql), params, 'get') as T | undefined);
  }

  all<T extends object>(sql: string, params?: SqlParams): T[] {
    return translateErrors(() => bind(this.statement(sql), params, 'all') as T[]);
  }

  /** Runs SQL text with several statements (migrations). No parameters. */
  exec(sql: string): void {
    translateErrors(() => this.db.exec(sql));
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction: all of it commits or none of it. Nested calls become
   * savepoints, so a repository method that opens a transaction can be part of a larger use case.
   */
  transaction<T>(fn: () => NotPromise<T>): T {
    const body = this.db.transaction(() => {
      const result = fn();
      if (isThenable(result)) {
        // Throwing here rolls back what the synchronous part already wrote.
        throw new VoicePassportError('internal', 'A store transaction body returned a promise; compute first (await outside), then write synchronously.');
      }
      return result;
    });
    return translateErrors(() => (this.db.inTransaction ? body() : body.immediate()) as T);
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /**
   * Copies the WAL into the database file and truncates the WAL to zero bytes
   * (`wal_checkpoint(TRUNCATE)`). After an erasure this removes the old page images, which still hold
   * the erased bytes, from the -wal file (GDPR Art. 17; issue 3 "the old bytes are gone").
   */
  checkpoint(): CheckpointResult {
    if (this.db.inTransaction) {
      throw new VoicePassportError('internal', 'checkpoint() was called inside a transaction; call it after the erasure commits.');
    }
    const row = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    const r = row[0] ?? { busy: 1, log: -1, checkpointed: -1 };
    return { complete: r.busy === 0, walFrames: r.log, checkpointedFrames: r.checkpointed };
  }

  /**
   * Writes a consistent copy of the database to `file` (`VACUUM INTO`): one read transaction, so
   * writers in other processes go on, and only live pages are copied, so rows erased with
   * secure_delete are not carried into backups. `file` must not exist or must be empty.
   */
  copyTo(file: string): void {
    if (this.db.inTransaction) {
      throw new VoicePassportError('internal', 'copyTo() was called inside a transaction; VACUUM cannot run in one.');
    }
    this.db.prepare('VACUUM INTO ?').run(file);
  }

  /** `PRAGMA integrity_check`: an empty list means the file is sound. */
  integrityCheck(): string[] {
    const rows = this.db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    const messages = rows.map((r) => r.integrity_check);
    return messages.length === 1 && messages[0] === 'ok' ? [] : messages;
  }

  /** Reads one pragma's value (diagnostics and tests), e.g. `pragma('journal_mode')` → 'wal'. */
  pragma(name: 'journal_mode' | 'synchronous' | 'foreign_keys' | 'secure_delete' | 'busy_timeout' | 'temp_store'): unknown {
    return this.db.pragma(name, { simple: true });
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /** Checkpoints (so the -wal file is empty on disk) and closes. Safe to call twice. */
  close(): void {
    if (!this.db.open) return;
    this.statements.clear();
    try {
      if (!this.db.readonly) this.checkpoint();
    } finally {
      this.db.close();
    }
  }

  private statement(sql: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}

function bind(stmt: BetterSqlite3.Statement, params: SqlParams | undefined, method: 'run' | 'get' | 'all'): unknown {
  if (params === undefined) return stmt[method]();
  if (Array.isArray(params)) return stmt[method](...(params as SqlValue[]));
  return stmt[method](params);
}

function isThenable(v: unknown): boolean {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Schema triggers refuse writes with `RAISE(ABORT, '<code>')`. Where the code is in the error
 * catalogue (e.g. `consent-required`), callers get the VoicePassportError they would have got from the
 * use case's own check; the trigger is the last line of defence (GDPR Art. 9(2)(a)).
 */
function translateErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    if (err.code === 'SQLITE_CONSTRAINT_TRIGGER' && typeof err.message === 'string' && err.message in errorCatalogue) {
      const code = err.message as ErrorCode;
      throw new VoicePassportError(code, `The store refused the write: ${errorCatalogue[code].title.toLowerCase()}.`);
    }
    throw e;
  }
}
