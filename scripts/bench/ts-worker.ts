/**
 * Starts a TypeScript worker thread from the benchmark (which runs under tsx). On Node 20 a worker
 * does not inherit `--import tsx` (module hooks are per thread), so a tiny eval'd bootstrap
 * registers tsx's ESM hooks through its API and then imports the worker module; the same trick
 * src/model/engine.ts uses for its own workers when run from sources.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export function startTsWorker(moduleUrl: URL, workerData: unknown): Worker {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = require(pkgPath) as { exports: Record<string, { import?: { default?: string } }> };
  const entry = pkg.exports['./esm/api']?.import?.default;
  if (entry === undefined) throw new Error(`tsx at ${pkgPath} has no ESM API entry (./esm/api)`);
  const api = pathToFileURL(path.join(path.dirname(pkgPath), entry)).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}
