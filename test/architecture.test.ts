/**
 * The project's layering rules, read from the sources' imports so a change that breaks one fails
 * here rather than in review: one module each for the native database, the inference runtime and
 * the backup encryption, and nothing below the HTTP layer that knows HTTP.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

/** Every .ts file under src/, relative to it, with the module specifiers it imports (static, dynamic, type-only and re-exports). */
function importsBySourceFile(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const entry of fs.readdirSync(srcDir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.ts')) continue;
    const text = fs.readFileSync(path.join(srcDir, entry), 'utf8');
    const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    out.set(entry.split(path.sep).join('/'), specifiers);
  }
  return out;
}

const sources = importsBySourceFile();
const importersOf = (isWanted: (specifier: string) => boolean) => [...sources].filter(([, specs]) => specs.some(isWanted)).map(([file]) => file).sort();

describe('layering', () => {
  it('reads the sources it checks', () => {
    expect(sources.size).toBeGreaterThan(100);
    expect(sources.get('store/database.ts')).toContain('better-sqlite3');
  });

  it.each([
    ['better-sqlite3', ['store/database.ts']],
    ['onnxruntime-node', ['model/onnx-runtime.ts']],
    ['age-encryption', ['store/backup-encryption.ts']],
  ])('only one module imports %s', (pkg, expected) => {
    expect(importersOf((s) => s === pkg || s.startsWith(`${pkg}/`))).toEqual(expected);
  });

  it('the use cases, scoring, store and engine know nothing of HTTP (express, or src/http)', () => {
    const belowHttp = ['passport/', 'scoring/', 'store/', 'model/', 'features/', 'audio/', 'speech/', 'evaluation/'];
    const offenders = [...sources]
      .filter(([file]) => belowHttp.some((dir) => file.startsWith(dir)))
      .filter(([file, specs]) => specs.some((s) => s === 'express' || s.startsWith('express/') || path.posix.normalize(path.posix.join(path.posix.dirname(file), s)).startsWith('http/')))
      .map(([file]) => file);
    expect(offenders).toEqual([]);
  });
});
