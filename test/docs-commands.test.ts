/**
 * Every figure in README.md and the model card (models/README.md) names the command that reproduces
 * it, so those commands must run as written: each `voice-passport <command> … --flag` (with or
 * without `npx`, or as a bare `eval …`, `calibrate …` or `cohort …` at the start of a code span)
 * must name a command and options the CLI accepts, each script the docs run (`scripts/…`, or a
 * script named by its file alone after the full path was given once) must exist and know the
 * options given to it, each `npm run X` must be a package.json script, and every option in the
 * README's table of eval's options must be one of eval's. Static: no command is run. The CLI's
 * option sets are read from the commands themselves, by stopping each at its parseCliArgs call.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

class Captured {
  constructor(readonly options: Record<string, unknown>) {}
}

vi.mock('../src/cli/args.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../src/cli/args.js')>()),
  parseCliArgs: (_argv: string[], options: Record<string, unknown>) => {
    throw new Captured(options);
  },
}));

const { auditCommand } = await import('../src/cli/audit.js');
const { backupCommand, backupKeyCommand, restoreCommand } = await import('../src/cli/backup.js');
const { calibrateCommand } = await import('../src/cli/calibrate.js');
const { cohortCommand } = await import('../src/cli/cohort.js');
const { compareCommand, embedCommand } = await import('../src/cli/embed.js');
const { evalCommand } = await import('../src/cli/eval.js');
const { featuresCommand } = await import('../src/cli/features.js');
const { keysCommand } = await import('../src/cli/keys.js');
const { modelsCommand } = await import('../src/cli/models.js');
const { purgeCommand } = await import('../src/cli/purge.js');
const { loadConfig } = await import('../src/config.js');

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const config = loadConfig({});
const nowhere = path.join(repoRoot, 'no-such-data-dir');

/** How each command of src/cli/main.ts is reached; those with actions take the action as the first argument. */
const commands: Record<string, (argv: string[]) => unknown> = {
  features: (a) => featuresCommand(a, config.maxAudioSeconds),
  embed: (a) => embedCommand(a, config),
  compare: (a) => compareCommand(a, config),
  eval: (a) => evalCommand(a, config),
  calibrate: (a) => calibrateCommand(a, config),
  cohort: (a) => cohortCommand(a, config),
  models: (a) => modelsCommand(a, config),
  keys: (a) => keysCommand(a, nowhere),
  purge: (a) => purgeCommand(a, config),
  audit: (a) => auditCommand(a, nowhere),
  backup: (a) => backupCommand(a, nowhere),
  restore: (a) => restoreCommand(a, nowhere),
  'backup-key': (a) => backupKeyCommand(a),
  serve: () => new Captured({}),
};
const withActions = new Set(['models', 'keys', 'audit']);

/** The options a command (and action) parses, or null when it never reaches parseCliArgs (an unknown action). */
async function optionsOf(command: string, action: string | undefined): Promise<string[] | null> {
  const run = commands[command];
  if (run === undefined) return null;
  try {
    const r = await run(action === undefined ? [] : [action]);
    if (r instanceof Captured) return Object.keys(r.options);
  } catch (e) {
    if (e instanceof Captured) return Object.keys(e.options);
  }
  return null;
}

interface Snippet {
  file: string;
  line: number;
  text: string;
}

/** Code in a markdown file: each line of a fenced block (continuations joined), and each inline code span (line breaks as spaces). */
function snippets(file: string): Snippet[] {
  const lines = fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n');
  const out: Snippet[] = [];
  let fenced = false;
  let prose: { line: number; text: string }[] = [];
  const flushProse = () => {
    const text = prose.map((p) => p.text).join('\n');
    const starts = prose.map((p, i) => prose.slice(0, i).reduce((n, q) => n + q.text.length + 1, 0));
    for (const m of text.matchAll(/`([^`]+)`/g)) {
      const at = m.index ?? 0;
      const k = starts.findLastIndex((s) => s <= at);
      out.push({ file, line: (prose[k]?.line ?? 0) + 1, text: (m[1] as string).replace(/\s*\n\s*/g, ' ') });
    }
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*```/.test(line)) {
      if (!fenced) flushProse();
      fenced = !fenced;
      continue;
    }
    if (!fenced) {
      // A blank line ends a paragraph: an inline span never crosses one.
      if (line.trim() === '') flushProse();
      else prose.push({ line: i, text: line });
      continue;
    }
    let text = line;
    const start = i;
    while (text.trimEnd().endsWith('\\') && i + 1 < lines.length) text = `${text.trimEnd().slice(0, -1)} ${lines[++i] as string}`;
    out.push({ file, line: start + 1, text });
  }
  flushProse();
  return out;
}

const docs = ['README.md', 'models/README.md'];
const all = docs.flatMap(snippets);

/** The words of one shell command starting at `from`, up to what ends it (a comment, a redirect, a pipe, `;`, `&&`). */
function commandWords(words: string[], from: number): string[] {
  const out: string[] = [];
  for (const w of words.slice(from)) {
    if (w.startsWith('#') || ['|', '||', '&&', ';', '>', '2>', '2>>', '>>', '&'].includes(w) || /^\d?>/.test(w)) break;
    if (w.endsWith(';')) {
      out.push(w.slice(0, -1));
      break;
    }
    out.push(w);
  }
  return out;
}

const flagsIn = (words: string[]) =>
  words.flatMap((w) => {
    const m = /^--([a-z0-9][a-z0-9-]*)(?:=.*)?[),.]*$/.exec(w);
    return m === null ? [] : [m[1] as string];
  });

interface CliUse {
  where: string;
  command: string;
  action: string | undefined;
  flags: string[];
}

/** `voice-passport <command> …` anywhere in a snippet, and `eval …` / `calibrate …` / `cohort …` opening one. */
function cliUses(s: Snippet): CliUse[] {
  const words = s.text.trim().split(/\s+/);
  const uses: CliUse[] = [];
  const add = (commandAt: number) => {
    const command = words[commandAt] as string;
    const rest = commandWords(words, commandAt + 1);
    // `npx voice-passport eval … --flag`: the options end at `--`.
    const end = rest.indexOf('--');
    const argv = end < 0 ? rest : rest.slice(0, end);
    uses.push({ where: `${s.file}:${s.line}: ${s.text.trim()}`, command, action: withActions.has(command) ? argv[0] : undefined, flags: flagsIn(argv) });
  };
  words.forEach((w, i) => {
    // Run, not named: the snippet's first word, or after npx, node, an environment assignment or a shell separator.
    const runs = i === 0 || /^(npx|node|&&|;|\||\(|then|do)$|^[A-Z_]+=/.test(words[i - 1] as string);
    if (runs && /(^|\/)voice-passport(\.js)?$/.test(w) && i + 1 < words.length && /^[a-z]/.test(words[i + 1] as string)) add(i + 1);
  });
  if (uses.length === 0 && /^(eval|calibrate|cohort) /.test(s.text.trim()) && s.text.includes('--')) add(0);
  return uses;
}

const scriptFiles = (function walk(dir: string): string[] {
  return fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    return e.isDirectory() ? walk(rel) : /\.(ts|mjs|js|py|sh)$/.test(e.name) ? [rel] : [];
  });
})('scripts');

interface ScriptUse {
  where: string;
  script: string;
  flags: string[];
}

/** A script run with options: `scripts/x/y.ts --a …`, `y.ts --a …` (its file name alone), or `npm run X -- --a …`. */
function scriptUses(s: Snippet): ScriptUse[] {
  const words = s.text.trim().split(/\s+/);
  const uses: ScriptUse[] = [];
  const where = `${s.file}:${s.line}: ${s.text.trim()}`;
  words.forEach((w, i) => {
    if (/^(\.\/)?(scripts\/)?[\w./-]+\.(ts|mjs|py|sh)$/.test(w) && !w.includes('*')) {
      const script = w.replace(/^\.\//, '');
      uses.push({ where, script, flags: flagsIn(commandWords(words, i + 1)) });
    }
    if (w === 'npm' && words[i + 1] === 'run' && words[i + 2] !== undefined) {
      const rest = commandWords(words, i + 3);
      const end = rest.indexOf('--');
      uses.push({ where, script: `npm run ${words[i + 2] as string}`, flags: end < 0 ? [] : flagsIn(rest.slice(end + 1)) });
    }
  });
  return uses;
}

const packageScripts = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The script file a use names: a path under scripts/, a file name found once there, or the file an npm script runs. */
function resolveScript(script: string): string | null {
  if (script.startsWith('npm run ')) {
    const line = packageScripts[script.slice('npm run '.length)];
    if (line === undefined) return null;
    return /scripts\/\S+\.(ts|mjs|py|sh)/.exec(line)?.[0] ?? 'package.json';
  }
  if (script.includes('/')) return fs.existsSync(path.join(repoRoot, script)) ? script : null;
  const found = scriptFiles.filter((f) => path.basename(f) === script);
  return found.length === 1 ? (found[0] as string) : null;
}

/** Paths under another project's scripts/ that the docs cite (sherpa-onnx's exporter), not ours. */
const elsewhere = new Set(['scripts/3dspeaker/export-onnx.py']);

/** A script's source, with the sibling modules a Python script imports its shared options from (`from data import …`). */
function sourceOf(file: string): string {
  const source = fs.readFileSync(path.join(repoRoot, file), 'utf8');
  if (!file.endsWith('.py')) return source;
  const siblings = [...source.matchAll(/^from (\w+) import /gm)].map((m) => path.join(path.dirname(file), `${m[1] as string}.py`));
  return [source, ...siblings.filter((f) => fs.existsSync(path.join(repoRoot, f))).map((f) => fs.readFileSync(path.join(repoRoot, f), 'utf8'))].join('\n');
}

/** Whether a script's source declares an option: `--name` (argparse, a usage line) or `name:` / `'name'` (parseArgs). */
function scriptKnows(source: string, flag: string): boolean {
  return new RegExp(`--${flag}(?![\\w-])|['"]${flag}['"]|[\\s{,]${flag}\\s*:`).test(source);
}

describe('the commands the docs give for their figures run as written', () => {
  const cliUsesAll = all.flatMap(cliUses);
  const scriptUsesAll = all.flatMap(scriptUses);

  it('finds the commands (the extraction still reads the docs)', () => {
    const commandsUsed = new Set(cliUsesAll.map((u) => u.command));
    for (const c of ['eval', 'calibrate', 'cohort', 'models']) expect(commandsUsed, c).toContain(c);
    expect(cliUsesAll.length).toBeGreaterThan(40);
    expect(scriptUsesAll.some((u) => u.script === 'scripts/train/model-card-evals.sh')).toBe(true);
  });

  it('every `voice-passport <command> --flag` names a command and options the CLI accepts', async () => {
    const wrong: string[] = [];
    for (const use of cliUsesAll) {
      const options = await optionsOf(use.command, use.action);
      if (options === null) {
        wrong.push(`${use.where}\n    no command "${use.command}${use.action === undefined ? '' : ` ${use.action}`}"`);
        continue;
      }
      const unknown = use.flags.filter((f) => f !== 'help' && !options.includes(f));
      if (unknown.length > 0) wrong.push(`${use.where}\n    ${use.command} takes no ${unknown.map((f) => `--${f}`).join(', ')} (it takes ${options.map((o) => `--${o}`).join(' ')})`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });

  it('every script the docs run exists and knows the options given to it', () => {
    const wrong: string[] = [];
    for (const use of scriptUsesAll.filter((u) => !elsewhere.has(u.script))) {
      const file = resolveScript(use.script);
      if (file === null) {
        // A file name alone that is not one script under scripts/ (src/…, a Python module named in prose) is not a command.
        if (use.script.startsWith('scripts/') || use.script.startsWith('npm run ')) wrong.push(`${use.where}\n    ${use.script}: no such script`);
        continue;
      }
      if (file === 'package.json') continue;
      const source = sourceOf(file);
      const unknown = use.flags.filter((f) => !scriptKnows(source, f));
      if (unknown.length > 0) wrong.push(`${use.where}\n    ${file} declares no ${unknown.map((f) => `--${f}`).join(', ')}`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });

  it("every option in README's table of eval's options is one of eval's", async () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Evaluation\n'), readme.indexOf('\n## Calibration\n'));
    const table = section.slice(section.indexOf('| option | meaning |'));
    const rows = table.split('\n').filter((l) => l.startsWith('| `--'));
    expect(rows.length).toBeGreaterThan(10);
    const words = (cell: string) => cell.replace(/`/g, ' ').replace(/\\\|/g, '|').trim().split(/\s+/);
    // The first cell names the options (`\|` inside it is an escaped alternative, not a cell border).
    const named = rows.flatMap((r) => flagsIn(words(r.split(/(?<!\\)\|/)[1] as string)));
    const options = (await optionsOf('eval', undefined)) ?? [];
    expect(named.filter((f) => !options.includes(f))).toEqual([]);
    // …and the other way round: an option of eval's that no row mentions is undocumented.
    const mentioned = rows.flatMap((r) => flagsIn(words(r)));
    expect(options.filter((o) => !mentioned.includes(o))).toEqual([]);
  });
});
