#!/usr/bin/env node
// Runs the CLI. In a source checkout (src/ present and tsx installed) it runs the TypeScript
// sources through tsx: a dist/ left by an earlier `npm ci` (the prepare script builds it) would
// otherwise run stale code after every edit. Where there are no sources (the Docker image) or no
// dev dependencies (`npm ci && npm prune --omit=dev`; `npm ci --omit=dev` cannot build), it runs
// the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return null;
  }
}

const register = existsSync(fileURLToPath(source)) ? await tsxRegister() : null;
if (register !== null) {
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write('voice-passport: neither the sources with tsx nor a build (dist/) is here; run `npm ci` first\n');
  process.exit(1);
}
