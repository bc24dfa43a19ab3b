/**
 * Published speaker models as a drop-in (issue 4, section 4): the catalogue in `models/catalog/`,
 * and the two ways a model gets into the models folder (VP_MODELS_DIR):
 *
 * - `fetchModel(id)` downloads a catalogue model (src/model/download.ts), checks its sha256,
 *   checks that the service can run it (src/model/model-check.ts) and registers it;
 * - `addModel(file)` registers a local ONNX file from one of the convention templates in
 *   `models/conventions/` (a file already in the models folder as `<id>.onnx` where it is).
 *
 * Registering (src/model/models-folder.ts) writes `<id>.onnx` and then `<id>.json` next to it,
 * never replacing an existing file: a model id that is taken is never re-pointed at other bytes.
 *
 * The sha256 rule: a download is registered only when its sha256 equals a value that comes from
 * somewhere other than the download itself: the catalogue (published by the distributor, with its
 * source recorded beside it) or the operator (`--sha256`). Where neither exists, the computed value
 * is printed and nothing is registered, unless the operator explicitly accepts trust on first use.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import { downloadToFile, type DownloadFailure, type DownloadOptions } from './download.js';
import { loadManifest, manifestSchema, MODEL_ID_RULE, modelIdPattern, sha256OfFile, type LoadedManifest, type ModelManifest } from './manifest.js';
import { checkModel } from './model-check.js';
import { existingModel, installedModelIds, register, registerInPlace, removeStaleTemps, settledExisting, takenError, tempPathIn, type Registration } from './models-folder.js';

const sha256Pattern = /^[0-9a-f]{64}$/;

const downloadSchema = z
  .object({
    url: z.string().url(),
    /** null: the distributor publishes no checksum; `models fetch` then needs --sha256 or --trust-on-first-use. */
    sha256: z.string().regex(sha256Pattern).nullable(),
    /** Where the sha256 comes from, or why there is none. */
    sha256Source: z.string().min(1),
    bytes: z.number().int().positive().optional(),
  })
  .strict();

const publishedEerSchema = z
  .object({ percent: z.number().positive().max(50), testSet: z.string().min(1), scoring: z.string().min(1), citation: z.string().min(1) })
  .strict();

/**
 * A catalogue entry is the manifest the model will get, minus what only exists once it is
 * downloaded (file, sha256), calibration (fitted on our own dev data, not published) and score
 * normalisation (its cohort files are made here, with `voice-passport cohort`, not downloaded: a
 * fetched manifest with it would not load), plus where to get it and what its authors measured.
 */
export const catalogEntrySchema = manifestSchema
  .omit({ file: true, sha256: true, calibration: true, scoreNormalisation: true })
  .extend({
    downloads: z.array(downloadSchema).min(1),
    published: z
      .object({ trainingData: z.string().min(1), parameters: z.string().optional(), eer: z.array(publishedEerSchema).min(1) })
      .strict(),
    notes: z.array(z.string()).default([]),
  });

export type CatalogEntry = z.infer<typeof catalogEntrySchema>;
export type CatalogDownload = z.infer<typeof downloadSchema>;

export type Convention = 'wespeaker' | '3dspeaker';
export const conventions: readonly Convention[] = ['wespeaker', '3dspeaker'];

/** How the registered sha256 was established. */
export type Sha256Trust = 'catalogue' | 'operator' | 'trust-on-first-use' | 'local-file';

export interface RegisteredModel {
  id: string;
  /** 'already-installed': the same bytes were registered under this id before; nothing changed. */
  status: 'registered' | 'already-installed';
  sha256: string;
  sha256Trust: Sha256Trust;
  bytes: number;
  convention: ModelManifest['convention'];
  embeddingDim: number;
  modelPath: string;
  manifestPath: string;
  /** The URL fetched (before redirects), for fetches. */
  url?: string;
}

/** Operator errors (exit 2) and model errors (exit 1), each with a machine-readable reason. */
function invalidArgument(reason: string, message: string, details: Record<string, unknown> = {}): VoicePassportError {
  return new VoicePassportError('validation-failed', message, { reason, ...details });
}
function invalidModel(reason: string, message: string, details: Record<string, unknown> = {}): VoicePassportError {
  return new VoicePassportError('model-invalid', message, { reason, ...details });
}

/** The checkout or installed package root: src/model/ and dist/src/model/ both live below it. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'models'))) return dir;
    dir = path.dirname(dir);
  }
  throw new VoicePassportError('internal', 'cannot find the voice-passport package root (with models/) above src/model/registry');
}

export function defaultCatalogDir(): string {
  return path.join(packageRoot(), 'models', 'catalog');
}

export function defaultConventionsDir(): string {
  return path.join(packageRoot(), 'models', 'conventions');
}

// ---------------------------------------------------------------------------------------------
// Catalogue and installed models

export async function readCatalog(catalogDir: string = defaultCatalogDir()): Promise<CatalogEntry[]> {
  let names: string[];
  try {
    names = (await readdir(catalogDir)).filter((f) => f.endsWith('.json')).sort();
  } catch {
    throw new VoicePassportError('config-invalid', `model catalogue folder ${catalogDir} cannot be read`);
  }
  const entries: CatalogEntry[] = [];
  for (const name of names) {
    const file = path.join(catalogDir, name);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw invalidModel('catalogue-invalid', `catalogue entry ${file} is not JSON: ${(e as Error).message}`);
    }
    const parsed = catalogEntrySchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw invalidModel('catalogue-invalid', `catalogue entry ${file} is invalid: ${issues}`);
    }
    if (`${parsed.data.id}.json` !== name) {
      throw invalidModel('catalogue-invalid', `catalogue entry ${file} has id "${parsed.data.id}"; the file must be named ${parsed.data.id}.json`);
    }
    entries.push(parsed.data);
  }
  return entries;
}

export async function findCatalogEntry(id: string, catalogDir?: string): Promise<CatalogEntry> {
  const entries = await readCatalog(catalogDir);
  const entry = entries.find((e) => e.id === id);
  if (entry === undefined) {
    throw invalidArgument('unknown-model', `"${id}" is not in the model catalogue; known: ${entries.map((e) => e.id).join(', ')}`, {
      known: entries.map((e) => e.id),
    });
  }
  return entry;
}

/** The manifest a catalogue entry becomes once its file is downloaded. */
export function manifestFromCatalog(entry: CatalogEntry, sha256: string, description: string): ModelManifest {
  const { downloads: _downloads, published: _published, notes: _notes, ...manifest } = entry;
  return manifestSchema.parse({ ...manifest, description, file: `${entry.id}.onnx`, sha256 });
}

export type InstalledModel =
  | { id: string; status: 'ok'; convention: string; embeddingDim: number; sha256: string; description: string }
  | { id: string; status: 'invalid'; problem: string };

/** Every `<id>.json` at the top of the models folder, each checked as the service would load it. */
export async function listInstalledModels(modelsDir: string): Promise<InstalledModel[]> {
  let ids: string[];
  try {
    ids = await installedModelIds(modelsDir);
  } catch {
    return [];
  }
  const out: InstalledModel[] = [];
  for (const id of ids) {
    try {
      const m = await loadManifest(modelsDir, id);
      out.push({ id, status: 'ok', convention: m.convention, embeddingDim: m.embeddingDim, sha256: m.sha256, description: m.description });
    } catch (e) {
      out.push({ id, status: 'invalid', problem: (e as Error).message });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// models fetch

export interface FetchOptions extends Partial<DownloadOptions> {
  modelsDir: string;
  catalogDir?: string;
  /** Download from here instead of the catalogue's addresses. */
  url?: string;
  /** Expected sha256 given by the operator (overrides nothing: it must agree with the catalogue's). */
  sha256?: string;
  /** Register even though no sha256 is known in advance (the computed one is recorded). */
  trustOnFirstUse?: boolean;
  /** For the manifest's description; tests pin it. */
  now?: Date;
}

export const fetchDefaults: DownloadOptions = {
  maxBytes: 512 * 1024 * 1024,
  timeoutMs: 30 * 60_000,
  idleTimeoutMs: 60_000,
  maxRedirects: 5,
};

function normaliseSha256(value: string | undefined, flag: string): string | null {
  if (value === undefined) return null;
  const v = value.trim().toLowerCase();
  if (!sha256Pattern.test(v)) throw invalidArgument('sha256-malformed', `${flag} must be 64 hexadecimal digits (the output of sha256sum), got "${value}"`);
  return v;
}

/** Failures of one address (the server, the network, a redirect), after which the next may still serve the file. */
const transportFailures: ReadonlySet<string> = new Set(['http-status', 'network', 'timeout', 'redirects', 'insecure-redirect'] satisfies DownloadFailure[]);

export async function fetchModel(id: string, opts: FetchOptions): Promise<RegisteredModel> {
  const entry = await findCatalogEntry(id, opts.catalogDir);
  const operatorSha = normaliseSha256(opts.sha256, '--sha256');
  const candidates: CatalogDownload[] =
    opts.url === undefined
      ? entry.downloads
      : [
          entry.downloads.find((d) => d.url === opts.url) ?? {
            url: opts.url,
            sha256: null,
            sha256Source: 'an address given by the operator, not in the catalogue',
          },
        ];
  for (const c of candidates) {
    if (operatorSha !== null && c.sha256 !== null && c.sha256 !== operatorSha) {
      throw invalidArgument(
        'sha256-conflict',
        `--sha256 ${operatorSha} disagrees with the catalogue's ${c.sha256} for ${c.url} (${c.sha256Source}); check which one is right before going on`,
        { url: c.url, catalogue: c.sha256, operator: operatorSha },
      );
    }
  }

  const download: DownloadOptions = {
    maxBytes: opts.maxBytes ?? fetchDefaults.maxBytes,
    timeoutMs: opts.timeoutMs ?? fetchDefaults.timeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs ?? fetchDefaults.idleTimeoutMs,
    maxRedirects: opts.maxRedirects ?? fetchDefaults.maxRedirects,
    ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  };
  // An abort (the CLI's SIGINT/SIGTERM) outside the transfer: before the next address, or while the
  // model was checked (which cannot be cut short), stops before anything is registered.
  const stopIfInterrupted = (url: string) => {
    if (opts.signal?.aborted === true) {
      throw invalidModel('interrupted', `models fetch ${id} was interrupted; nothing was registered`, { url });
    }
  };
  await mkdir(opts.modelsDir, { recursive: true });
  await removeStaleTemps(opts.modelsDir);

  // Installed already with bytes of any of the entry's addresses (they may publish different ones:
  // a fallback with metadata added) or the operator's: nothing to download.
  const published = entry.downloads.flatMap((d) => (d.sha256 === null ? [] : [d.sha256]));
  const before = await settledExisting(opts.modelsDir, id, operatorSha === null ? published : [operatorSha, ...published]);
  if (before.state === 'same') {
    const installed = before.manifest.sha256;
    const from = entry.downloads.find((d) => d.sha256 === installed)?.url ?? candidates[0]!.url;
    return alreadyInstalled(before.manifest, installed === operatorSha ? 'operator' : 'catalogue', from);
  }
  if (before.state !== 'absent') throw takenError(opts.modelsDir, id, before.why, 'fetch');

  // Transport failures move on to the next address; anything about the bytes themselves stops.
  let lastError: unknown;
  for (const candidate of candidates) {
    stopIfInterrupted(candidate.url);
    const expected = operatorSha ?? candidate.sha256;

    const temp = tempPathIn(opts.modelsDir, id, 'onnx');
    try {
      let result;
      try {
        // A published size is the exact size: one byte more is already the wrong file.
        result = await downloadToFile(candidate.url, temp, { ...download, maxBytes: Math.min(download.maxBytes, candidate.bytes ?? Infinity) });
      } catch (e) {
        lastError = e;
        const reason = (e as VoicePassportError).details?.reason;
        if (opts.url === undefined && typeof reason === 'string' && transportFailures.has(reason)) continue;
        throw e;
      }
      let trust: Sha256Trust;
      if (expected !== null) {
        if (result.sha256 !== expected) {
          throw invalidModel(
            'sha256-mismatch',
            `the file from ${candidate.url} has sha256 ${result.sha256}, but ${expected} was expected (${operatorSha !== null ? 'from --sha256' : candidate.sha256Source}); it was deleted and nothing was registered`,
            { url: candidate.url, expected, actual: result.sha256, bytes: result.bytes },
          );
        }
        trust = operatorSha !== null ? 'operator' : 'catalogue';
      } else if (opts.trustOnFirstUse === true) {
        trust = 'trust-on-first-use';
      } else {
        throw invalidArgument(
          'sha256-unpublished',
          `no sha256 is published for ${candidate.url}, so the download cannot be checked. It had sha256 ${result.sha256} (${result.bytes} bytes); ` +
            `it was deleted and nothing was registered. Compare that value with one from a source you trust, then run again with --sha256 ${result.sha256}, ` +
            'or accept this download as it is with --trust-on-first-use',
          { url: candidate.url, sha256: result.sha256, bytes: result.bytes },
        );
      }

      const date = (opts.now ?? new Date()).toISOString().slice(0, 10);
      const how = { catalogue: 'checked against the catalogue', operator: 'checked against --sha256', 'trust-on-first-use': 'NOT checked: trusted on first use', 'local-file': '' }[trust];
      const manifest = manifestFromCatalog(entry, result.sha256, `${entry.description} Fetched from ${candidate.url} on ${date}; sha256 ${how}.`);
      await checkModel(temp, manifest, 'fetch');
      stopIfInterrupted(candidate.url);
      // Again: another fetch of this id may have finished (or be finishing) meanwhile.
      const after = await settledExisting(opts.modelsDir, id, [result.sha256]);
      if (after.state === 'same') return alreadyInstalled(after.manifest, trust, candidate.url);
      if (after.state !== 'absent') throw takenError(opts.modelsDir, id, after.why, 'fetch');
      return await reported(await register(opts.modelsDir, temp, manifest, 'fetch'), trust, result.bytes, candidate.url);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
  throw lastError;
}

/** What register() did, as fetch and add report it. */
async function reported(r: Registration, trust: Sha256Trust, bytes: number, url?: string): Promise<RegisteredModel> {
  if (r.status === 'already-installed') return alreadyInstalled(r.manifest, trust, url);
  return {
    id: r.loaded.id,
    status: 'registered',
    sha256: r.loaded.sha256,
    sha256Trust: trust,
    bytes,
    convention: r.loaded.convention,
    embeddingDim: r.loaded.embeddingDim,
    modelPath: r.modelPath,
    manifestPath: r.manifestPath,
    ...(url === undefined ? {} : { url }),
  };
}

async function alreadyInstalled(m: LoadedManifest, trust: Sha256Trust, url?: string): Promise<RegisteredModel> {
  return {
    id: m.id,
    status: 'already-installed',
    sha256: m.sha256,
    sha256Trust: trust,
    bytes: (await stat(m.modelPath)).size,
    convention: m.convention,
    embeddingDim: m.embeddingDim,
    modelPath: m.modelPath,
    manifestPath: path.join(path.dirname(m.modelPath), `${m.id}.json`),
    ...(url === undefined ? {} : { url }),
  };
}

// ---------------------------------------------------------------------------------------------
// models add

export interface AddOptions {
  modelsDir: string;
  convention: Convention;
  /** Default: the file name without .onnx. */
  id?: string;
  /** Default: what the model outputs for a dummy input. */
  embeddingDim?: number;
  /** For exports whose tensor names differ from the convention's (e.g. sherpa-onnx's 3D-Speaker `x`). */
  inputName?: string;
  outputName?: string;
  conventionsDir?: string;
  maxBytes?: number;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

async function readConventionTemplate(convention: Convention, conventionsDir: string): Promise<Record<string, unknown>> {
  const file = path.join(conventionsDir, `${convention}.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new VoicePassportError('config-invalid', `convention template ${file} cannot be read: ${(e as Error).message}`);
  }
}

export async function addModel(file: string, opts: AddOptions): Promise<RegisteredModel> {
  if (!conventions.includes(opts.convention)) {
    throw invalidArgument('convention-unknown', `--convention must be one of ${conventions.join(', ')}, got "${String(opts.convention)}"`);
  }
  const source = path.resolve(file);
  let info;
  try {
    info = await stat(source);
  } catch {
    throw invalidArgument('file-missing', `${source} does not exist or cannot be read`);
  }
  if (!info.isFile()) throw invalidArgument('file-missing', `${source} is not a regular file`);
  const maxBytes = opts.maxBytes ?? fetchDefaults.maxBytes;
  if (info.size > maxBytes) throw invalidArgument('too-large', `${source} is ${info.size} bytes, more than the limit of ${maxBytes}`);
  const id = opts.id ?? path.basename(source).replace(/\.onnx$/i, '');
  if (!modelIdPattern.test(id)) {
    throw invalidArgument('id-invalid', `"${id}" is not a model id (${MODEL_ID_RULE}); choose one with --id`);
  }
  if (opts.embeddingDim !== undefined && (!Number.isInteger(opts.embeddingDim) || opts.embeddingDim < 2 || opts.embeddingDim > 4096)) {
    throw invalidArgument('dim-invalid', `--dim must be an integer from 2 to 4096, got ${opts.embeddingDim}`);
  }

  const template = await readConventionTemplate(opts.convention, opts.conventionsDir ?? defaultConventionsDir());
  await mkdir(opts.modelsDir, { recursive: true });
  await removeStaleTemps(opts.modelsDir);
  // A file put into the models folder by hand as <id>.onnx only lacks its manifest.
  const inPlace = await sameFile(source, path.join(opts.modelsDir, `${id}.onnx`));
  const temp = tempPathIn(opts.modelsDir, id, 'onnx');
  try {
    // Hash the copy, not the original: the bytes registered are exactly the bytes checked (in
    // place, loadManifest compares the file with this sha256 again once the manifest is written).
    await copyFile(source, temp, fsConstants.COPYFILE_EXCL);
    const sha256 = await sha256OfFile(temp);
    const before = inPlace ? await existingModel(opts.modelsDir, id, [sha256]) : await settledExisting(opts.modelsDir, id, [sha256]);
    if (before.state === 'same') return alreadyInstalled(before.manifest, 'local-file');
    if (before.state !== 'absent' && !(inPlace && before.state === 'unregistered')) throw takenError(opts.modelsDir, id, before.why, 'add');

    const input = { ...(template.input as object), ...(opts.inputName === undefined ? {} : { name: opts.inputName }) };
    const output = { ...(template.output as object), ...(opts.outputName === undefined ? {} : { name: opts.outputName }) };
    const draft = {
      ...template,
      id,
      description: `Registered from ${path.basename(source)} with the ${opts.convention} convention (models add).`,
      file: `${id}.onnx`,
      sha256,
      input,
      output,
    };
    // The template's own embeddingDim is only an example; the model decides unless --dim says.
    const checked = await checkModel(temp, { ...manifestSchema.parse({ ...draft, embeddingDim: opts.embeddingDim ?? 2 }), embeddingDim: opts.embeddingDim }, 'add');
    const manifest = manifestSchema.parse({ ...draft, embeddingDim: checked.embeddingDim });
    const registration = inPlace ? await registerInPlace(opts.modelsDir, manifest) : await register(opts.modelsDir, temp, manifest, 'add');
    return await reported(registration, 'local-file', info.size);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
