/**
 * Where the master key comes from (GDPR Art. 32(1)(a); ISO/IEC 24745: the key protecting biometric
 * references is kept apart from them). In order:
 *   1. VP_MASTER_KEY       — 32 bytes, base64;
 *   2. VP_MASTER_KEY_FILE  — a file holding the same base64 text;
 *   3. neither: `<dataDir>/master.key` (0600), generated on first start. `keptInDataDir` tells the
 *      caller to log a warning: whoever copies the data directory then holds key and ciphertext together.
 * Setting both 1 and 2 is refused as ambiguous.
 *
 * Rotation (NIST SP 800-57 Part 1 §5.3 cryptoperiods; a key suspected compromised): the new key goes
 * in 1 or 2 and the old one in VP_PREVIOUS_MASTER_KEY or VP_PREVIOUS_MASTER_KEY_FILE for one start,
 * which re-keys the store (master-key-rotation.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { VoicePassportError } from '../errors.js';
import { masterKeyBytes } from './crypto.js';

export const dataDirKeyFileName = 'master.key';

export interface LoadedMasterKey {
  /** The raw key. Build a KeyRing from it, then `fill(0)` it. */
  key: Buffer;
  source: 'VP_MASTER_KEY' | 'VP_MASTER_KEY_FILE' | 'data-dir';
  /** True when this call created the key file. */
  generated: boolean;
  keyFile: string | null;
  /** True when the key sits beside the database: the caller must log `warnings`. */
  keptInDataDir: boolean;
  /** Human-readable warnings for the operator log (never contain the key). */
  warnings: string[];
}

/** The variables the master key is read from: outside config.ts, as the key must not enter the frozen Config. */
export const masterKeyVariables = ['VP_MASTER_KEY', 'VP_MASTER_KEY_FILE', 'VP_PREVIOUS_MASTER_KEY', 'VP_PREVIOUS_MASTER_KEY_FILE'] as const;

export type MasterKeyEnv = { [name in (typeof masterKeyVariables)[number]]?: string | undefined };

/** The key a store is being rotated away from. */
export interface PreviousMasterKey {
  /** The raw key. Build a KeyRing from it, then `fill(0)` it. */
  key: Buffer;
  source: 'VP_PREVIOUS_MASTER_KEY' | 'VP_PREVIOUS_MASTER_KEY_FILE';
  warnings: string[];
}

const base64Key = /^[A-Za-z0-9+/_-]{43}=?$/;

/** Base64 of 32 bytes, or the hex of them (`openssl rand -hex 32`): a value never to repeat in a message. */
function looksLikeKey(text: string): boolean {
  return base64Key.test(text) || /^[0-9A-Fa-f]{64}$/.test(text);
}

/** Parses base64 (or base64url) text of exactly 32 bytes. */
export function parseMasterKey(text: string, origin: string): Buffer {
  const t = text.trim();
  const key = Buffer.from(t, 'base64');
  if (!base64Key.test(t) || key.length !== masterKeyBytes) {
    throw new VoicePassportError('config-invalid', `${origin} must be ${masterKeyBytes} random bytes in base64 (44 characters), e.g. the output of \`openssl rand -base64 32\`.`);
  }
  return key;
}

export function loadMasterKey(options: { dataDir: string; env?: MasterKeyEnv }): LoadedMasterKey {
  const env = options.env ?? process.env;
  const configured = keyFromEnv(env, 'VP_MASTER_KEY', 'VP_MASTER_KEY_FILE');
  if (configured === null) return loadOrCreateDataDirKey(path.resolve(options.dataDir));
  const { keyFile } = configured;
  const keptInDataDir = keyFile !== null && isInside(keyFile, path.resolve(options.dataDir));
  if (keptInDataDir) configured.warnings.push(dataDirWarning(keyFile));
  return { ...configured, generated: false, keptInDataDir };
}

/** The previous master key, when a rotation is asked for; null when neither variable is set. */
export function loadPreviousMasterKey(env: MasterKeyEnv): PreviousMasterKey | null {
  const configured = keyFromEnv(env, 'VP_PREVIOUS_MASTER_KEY', 'VP_PREVIOUS_MASTER_KEY_FILE');
  return configured && { key: configured.key, source: configured.source, warnings: configured.warnings };
}

/** A key from `inline` (base64 in the variable) or `file` (a file holding it), not both; null when neither is set. */
function keyFromEnv<I extends keyof MasterKeyEnv, F extends keyof MasterKeyEnv>(
  env: MasterKeyEnv,
  inline: I,
  file: F,
): { key: Buffer; source: I | F; keyFile: string | null; warnings: string[] } | null {
  const text = nonEmpty(env[inline]);
  const fileName = nonEmpty(env[file]);
  if (text !== undefined && fileName !== undefined) {
    throw new VoicePassportError('config-invalid', `Set either ${inline} or ${file}, not both.`);
  }
  if (text !== undefined) return { key: parseMasterKey(text, inline), source: inline, keyFile: null, warnings: [] };
  if (fileName === undefined) return null;
  // A path copied with its line end (an env file, a secret mount's listing) names the same file.
  const keyFile = path.resolve(fileName.trim());
  // The key itself put in the _FILE variable by mistake would be echoed as a path by the read error
  // below, and so reach the operator log: name the slip without repeating the value.
  if (looksLikeKey(fileName.trim()) && !fs.existsSync(keyFile)) {
    throw new VoicePassportError('config-invalid', `${file} holds what looks like a key itself, not the path of a file holding one: put the key in ${inline}, or in a file (chmod 600) whose path ${file} names.`);
  }
  const key = parseMasterKey(readKeyFile(keyFile, file), `The key file ${keyFile} (${file})`);
  return { key, source: file, keyFile, warnings: permissionWarnings(keyFile) };
}

function loadOrCreateDataDirKey(dataDir: string): LoadedMasterKey {
  const keyFile = path.join(dataDir, dataDirKeyFileName);
  let generated = false;
  try {
    const created = fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(keyFile)) generated = publishNewKey(keyFile, created);
  } catch (e) {
    throw new VoicePassportError('config-invalid', `Cannot create the master key file ${keyFile}: ${(e as Error).message}. Set VP_MASTER_KEY or VP_MASTER_KEY_FILE, or make VP_DATA_DIR writable.`);
  }
  const key = parseMasterKey(readKeyFile(keyFile, 'the data directory'), `The key file ${keyFile}`);
  return { key, source: 'data-dir', generated, keyFile, keptInDataDir: true, warnings: [...permissionWarnings(keyFile), dataDirWarning(keyFile)] };
}

/**
 * Writes a new key to `keyFile` unless another start got there first (false then: read theirs).
 *
 * The key is written in full and fsynced under a work name, then published by link(2), which is
 * atomic and fails with EEXIST when the name is taken: a start that finds master.key never reads it
 * half written, and two starts at once end up with the one key (the old `wx` write left a window, and
 * after a failed write, an empty master.key that every later start refused as malformed). Then the
 * directory is fsynced: the store's first commit (synchronous=FULL) is durable, and so must be the only
 * key that opens it, or a power cut could leave master.key empty or missing (delayed allocation) and
 * every voiceprint unreadable for good.
 */
function publishNewKey(keyFile: string, createdDir: string | undefined): boolean {
  const dir = path.dirname(keyFile);
  const work = path.join(dir, `.${dataDirKeyFileName}-${process.pid}-${randomBytes(8).toString('hex')}`);
  const key = randomBytes(masterKeyBytes);
  const text = Buffer.from(`${key.toString('base64')}\n`, 'utf8');
  key.fill(0);
  try {
    const fd = fs.openSync(work, 'wx', 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    let published = true;
    try {
      fs.linkSync(work, keyFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      published = false;
    }
    // Also when another start published it: this one is about to use it, maybe before that one fsyncs.
    fsyncDir(dir);
    // A data dir made just now is itself a new entry of its parent (and so on up to the first one made).
    if (createdDir !== undefined) for (let d = dir; d !== path.dirname(createdDir) && d !== path.dirname(d); d = path.dirname(d)) fsyncDir(path.dirname(d));
    return published;
  } finally {
    text.fill(0);
    fs.rmSync(work, { force: true });
  }
}

function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readKeyFile(keyFile: string, origin: string): string {
  try {
    return fs.readFileSync(keyFile, 'utf8');
  } catch (e) {
    throw new VoicePassportError('config-invalid', `Cannot read the master key file ${keyFile} (from ${origin}): ${(e as Error).message}.`);
  }
}

function permissionWarnings(keyFile: string): string[] {
  if (process.platform === 'win32') return [];
  const mode = fs.statSync(keyFile).mode & 0o777;
  return (mode & 0o077) === 0 ? [] : [`The master key file ${keyFile} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it.`];
}

function dataDirWarning(keyFile: string): string {
  return `The master key is kept in ${keyFile}, beside the database: anyone who copies the data directory can decrypt the voiceprints. In production set VP_MASTER_KEY or VP_MASTER_KEY_FILE to a key kept outside the data directory.`;
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}
