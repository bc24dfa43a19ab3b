/**
 * A folder shipped at the top of this package (`consent-notices/`, `console/`): found by walking up
 * from this module, so it works from `src/` (tsx, tests) and from `dist/src/` (built) alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VoicePassportError } from './errors.js';

export function findPackageDir(name: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new VoicePassportError('config-invalid', `The ${name} directory was not found next to the package.`);
    dir = parent;
  }
}
