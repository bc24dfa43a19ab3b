/**
 * What the service needs as deployed, read from the sources, package.json and the Dockerfile, so
 * a change that works in a checkout but not in the image fails here: the production install has no
 * dev dependencies and no TypeScript, and the image holds only what its runtime stage copies.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const srcDir = path.join(root, 'src');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const sourceFiles = fs
  .readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ file: f.split(path.sep).join('/'), text: fs.readFileSync(path.join(srcDir, f), 'utf8') }));

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`, `name/sub` → `name`). */
const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);

/** The Dockerfile's stages, each the text from its FROM to the next. */
const stages = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8').split(/^(?=FROM\s)/m).filter((s) => s.startsWith('FROM'));
const runtimeStage = stages.at(-1)!;
/** The top-level names the runtime stage copies into /app (from the build stage or the context). */
const copiedToRuntime = [...runtimeStage.matchAll(/^COPY\s+(?:--\S+\s+)*(.+)$/gm)].flatMap((m) => {
  const parts = m[1]!.trim().split(/\s+/);
  return parts.slice(0, -1).map((p) => p.replace(/^\/app\//, '').replace(/\/$/, '').split('/')[0]!);
});

describe('the production install (dependencies only)', () => {
  it('every package that src/ imports at run time is a dependency, not a devDependency', () => {
    const offenders: string[] = [];
    for (const { file, text } of sourceFiles) {
      // Runtime imports: static (not `import type`), dynamic and re-exports. Type-only imports vanish in the build.
      const specifiers = [
        ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^'";]*?from\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
        ...[...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
        ...[...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!),
      ];
      for (const s of specifiers) {
        if (s.startsWith('.') || isBuiltin(s)) continue;
        if (!(packageOf(s) in pkg.dependencies)) offenders.push(`${file}: ${s}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the packages src/ resolves by name at run time are dependencies, except tsx for the TypeScript sources only', () => {
    const resolved = sourceFiles.flatMap(({ file, text }) =>
      [...text.matchAll(/\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]/g)].map((m) => ({ file, pkg: packageOf(m[1]!) })),
    );
    expect(resolved.length).toBeGreaterThan(0);
    // engine.ts loads tsx only when it runs as .ts (a checkout); the build starts worker.js instead.
    const offenders = resolved.filter((r) => !(r.pkg in pkg.dependencies) && !(r.pkg === 'tsx' && r.file === 'model/engine.ts'));
    expect(offenders).toEqual([]);
  });
});

describe('the Docker image', () => {
  it('its runtime stage copies every package folder the code reads beside dist/', () => {
    // Folders found by walking up from the module (src/package-dir.ts), and models/ (src/model/registry.ts).
    const packageDirs = sourceFiles.flatMap(({ text }) => [...text.matchAll(/findPackageDir\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!));
    expect(packageDirs.sort()).toEqual(['consent-notices', 'console']);
    for (const name of [...packageDirs, 'models', 'dist', 'bin', 'package.json', 'node_modules']) {
      expect(copiedToRuntime, name).toContain(name);
    }
  });

  it('the build puts the schema migrations into dist/, which the image copies (there is no src/ there)', () => {
    expect(copiedToRuntime).not.toContain('src');
    expect(pkg.scripts.build).toContain('cp -r src/store/migrations dist/src/store/');
  });

  it('puts the CLI on PATH, as README says to run it there (npx fails in the image)', () => {
    // `npx voice-passport` in the package's own folder installs it into npx's cache, which runs its
    // `prepare` (tsc, a dev dependency the image lacks: exit 127) and, as user node, chmods the
    // root-owned launcher (EPERM). The image's own command does neither.
    expect(runtimeStage).toMatch(/^RUN ln -s \/app\/bin\/voice-passport\.js \/usr\/local\/bin\/voice-passport$/m);
    expect(runtimeStage.search(/^RUN ln -s \/app\/bin\//m)).toBeGreaterThan(runtimeStage.search(/^COPY bin /m));
    expect(runtimeStage.search(/^RUN ln -s \/app\/bin\//m)).toBeLessThan(runtimeStage.search(/^USER node$/m));
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain('`docker exec <container> voice-passport keys list`');
  });

  it('its build context leaves out the data dir and built files, and nothing a COPY takes from it', () => {
    const ignored = fs
      .readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // A data dir holds the database and, unless VP_MASTER_KEY is set, the master key beside it.
    for (const name of ['data', 'node_modules', 'dist', '.git', '.env']) expect(ignored, name).toContain(name);
    // What the stages copy from the context (not --from=build) must reach the builder.
    const fromContext = stages.flatMap((stage) =>
      [...stage.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1).map((p) => p.replace(/\/$/, '').split('/')[0]!)),
    );
    expect(fromContext).toEqual(expect.arrayContaining(['package.json', 'src', 'bin', 'models', 'consent-notices', 'console']));
    for (const name of fromContext) expect(ignored, name).not.toContain(name);
  });
});

