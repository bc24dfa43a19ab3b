/** Shared test fixtures for the store: temp data dirs, a movable clock, a fixed master key. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store, type StoreOptions } from '../../src/store/index.js';

/** 32 bytes (0x01…0x20) in base64: a master key that is obviously a test key. */
export const testMasterKey = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1)).toString('base64');

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vp-store-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface MovableClock {
  (): Date;
  set(iso: string): void;
  advance(ms: number): void;
}

export function movableClock(startIso = '2026-01-01T00:00:00.000Z'): MovableClock {
  let now = Date.parse(startIso);
  const clock = (() => new Date(now)) as MovableClock;
  clock.set = (iso) => {
    now = Date.parse(iso);
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

export function openTestStore(dataDir: string, options: Partial<StoreOptions> = {}): Store {
  return openStore({ dataDir, env: { VP_MASTER_KEY: testMasterKey }, ...options });
}

/** A deterministic unit-length embedding, distinct per seed. */
export function embedding(seed: number, dim = 192): Float32Array {
  const v = new Float32Array(dim);
  let s = seed * 2654435761;
  for (let i = 0; i < dim; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
  }
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Every file under `dir`, recursively, as raw bytes. */
export function readAllFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const p = path.join(entry.parentPath, entry.name);
      out.set(p, fs.readFileSync(p));
    }
  }
  return out;
}

/** Names of the files in `dir` that contain `needle` anywhere. */
export function filesContaining(dir: string, needle: Uint8Array): string[] {
  return [...readAllFiles(dir)].filter(([, bytes]) => bytes.indexOf(needle) !== -1).map(([p]) => path.basename(p));
}
