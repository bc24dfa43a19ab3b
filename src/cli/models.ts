/**
 * `voice-passport models list | fetch <id> | add <file.onnx>`: published speaker models as a
 * drop-in (issue 4, section 4). The work is in src/model/registry.ts; this file parses arguments and
 * prints JSON. A registered model is used by starting the service with VP_MODEL=<id>; voiceprints
 * made with another model are never scored with it (subjects re-enrol).
 */
import type { Config } from '../config.js';
import { VoicePassportError } from '../errors.js';
import {
  addModel,
  conventions,
  fetchDefaults,
  fetchModel,
  listInstalledModels,
  readCatalog,
  type Convention,
  type RegisteredModel,
} from '../model/registry.js';
import { parseCliArgs } from './args.js';
import { printError, printJson } from './output.js';

const usage = `usage: voice-passport models list [--catalog DIR]
       voice-passport models fetch ID [--url URL] [--sha256 HEX] [--trust-on-first-use]
                                      [--max-mb N] [--timeout-seconds S] [--catalog DIR]
       voice-passport models add FILE.onnx --convention ${conventions.join('|')} [--id ID] [--dim D]
                                      [--input-name NAME] [--output-name NAME]`;

function invalid(message: string): VoicePassportError {
  return new VoicePassportError('validation-failed', `${message}\n${usage}`);
}

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

function parse(argv: string[], options: OptionSpec, positionals: number) {
  const parsed = parseCliArgs(argv, options, usage);
  if (parsed.positionals.length !== positionals) throw invalid(`expected ${positionals} argument(s), got ${parsed.positionals.length}`);
  return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

/** A number from `min` to `max`, or undefined when the option is absent; `rule` is said in the refusal. */
function numberInRange(value: string | boolean | undefined, flag: string, min: number, max: number, rule: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !(n >= min && n <= max)) throw invalid(`${flag} must be ${rule}, got "${String(value)}"`);
  return n;
}

// setTimeout's limit is 2^31-1 ms; a longer deadline would fire at once.
const maxTimeoutSeconds = Math.floor((2 ** 31 - 1) / 1000);

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** A progress line on an interactive terminal only: stderr of a pipe carries just the error JSON. */
function progressReporter(): ((received: number, total: number | null) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let lastShown = 0;
  return (received, total) => {
    const now = Date.now();
    if (now - lastShown < 500 && received !== total) return;
    lastShown = now;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    process.stderr.write(`\r${mb(received)}${total === null ? '' : ` / ${mb(total)}`} MB`);
    if (received === total) process.stderr.write('\n');
  };
}

/**
 * SIGINT (Ctrl-C) or SIGTERM during a fetch aborts the download, so that it removes its partial
 * file as on any failure, and the command then exits 128 + the signal's number, as a shell expects.
 * Without this the default action would end the process at once and leave the hidden partial file
 * in the models folder. A second signal gets the default action (the listeners are gone).
 */
function interruptOnSignals() {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    received = signal;
    dispose();
    controller.abort();
  };
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    received: () => received,
    exitCode: () => 128 + (received === 'SIGINT' ? 2 : 15),
    dispose,
  };
}

function summary(r: RegisteredModel): object {
  return { ...r, use: `VP_MODEL=${r.id}` };
}

export async function modelsCommand(argv: string[], config: Pick<Readonly<Config>, 'modelsDir' | 'modelId'>): Promise<number> {
  const [action, ...rest] = argv;
  switch (action) {
    case 'list': {
      const { values } = parse(rest, { catalog: { type: 'string' } }, 0);
      const installed = await listInstalledModels(config.modelsDir);
      const installedIds = new Set(installed.map((m) => m.id));
      const catalogue = (await readCatalog(str(values.catalog))).map((e) => ({
        id: e.id,
        convention: e.convention,
        embeddingDim: e.embeddingDim,
        description: e.description,
        licence: e.source?.licence,
        published: e.published,
        downloads: e.downloads.map((d) => ({ url: d.url, sha256: d.sha256, bytes: d.bytes })),
        installed: installedIds.has(e.id),
      }));
      printJson({
        modelsDir: config.modelsDir,
        active: config.modelId,
        installed: installed.map((m) => ({ ...m, active: m.id === config.modelId })),
        catalogue,
      });
      return 0;
    }
    case 'fetch': {
      const { values, positionals } = parse(
        rest,
        {
          url: { type: 'string' },
          sha256: { type: 'string' },
          'trust-on-first-use': { type: 'boolean' },
          'max-mb': { type: 'string' },
          'timeout-seconds': { type: 'string' },
          catalog: { type: 'string' },
        },
        1,
      );
      // No model is under a MiB; a smaller cap only refuses every file (and under a byte it rounded to 0).
      const maxMb = numberInRange(values['max-mb'], '--max-mb', 1, Number.MAX_SAFE_INTEGER / 1048576, 'a number of MiB, at least 1');
      const timeoutSeconds = numberInRange(values['timeout-seconds'], '--timeout-seconds', 1, maxTimeoutSeconds, `a number of seconds from 1 to ${maxTimeoutSeconds} (24.8 days)`);
      const onProgress = progressReporter();
      const interrupt = interruptOnSignals();
      let r: RegisteredModel;
      try {
        r = await fetchModel(positionals[0] as string, {
          modelsDir: config.modelsDir,
          ...(str(values.catalog) === undefined ? {} : { catalogDir: str(values.catalog) }),
          ...(str(values.url) === undefined ? {} : { url: str(values.url) }),
          ...(str(values.sha256) === undefined ? {} : { sha256: str(values.sha256) }),
          trustOnFirstUse: values['trust-on-first-use'] === true,
          maxBytes: maxMb === undefined ? fetchDefaults.maxBytes : Math.round(maxMb * 1048576),
          timeoutMs: timeoutSeconds === undefined ? fetchDefaults.timeoutMs : Math.round(timeoutSeconds * 1000),
          ...(onProgress === undefined ? {} : { onProgress }),
          signal: interrupt.signal,
        });
      } catch (e) {
        if (interrupt.received() === null) throw e;
        printError(e);
        return interrupt.exitCode();
      } finally {
        interrupt.dispose();
      }
      printJson(summary(r));
      return 0;
    }
    case 'add': {
      const { values, positionals } = parse(
        rest,
        {
          convention: { type: 'string' },
          id: { type: 'string' },
          dim: { type: 'string' },
          'input-name': { type: 'string' },
          'output-name': { type: 'string' },
        },
        1,
      );
      const convention = str(values.convention);
      if (convention === undefined || !(conventions as readonly string[]).includes(convention)) {
        throw invalid(`--convention must be one of ${conventions.join(', ')}`);
      }
      const dim = str(values.dim);
      if (dim !== undefined && !/^\d+$/.test(dim)) throw invalid(`--dim must be a whole number, got "${dim}"`);
      const r = await addModel(positionals[0] as string, {
        modelsDir: config.modelsDir,
        convention: convention as Convention,
        ...(str(values.id) === undefined ? {} : { id: str(values.id) }),
        ...(dim === undefined ? {} : { embeddingDim: Number(dim) }),
        ...(str(values['input-name']) === undefined ? {} : { inputName: str(values['input-name']) }),
        ...(str(values['output-name']) === undefined ? {} : { outputName: str(values['output-name']) }),
      });
      printJson(summary(r));
      return 0;
    }
    default:
      throw invalid(action === undefined ? 'missing models action' : `unknown models action "${action}"`);
  }
}
