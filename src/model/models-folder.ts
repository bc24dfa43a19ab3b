/**
 * The models folder (VP_MODELS_DIR) as `models fetch` and `models add` change it: hidden
 * temporary files beside the models, and registering a checked file as `<id>.onnx` and then
 * `<id>.json`, each by a hard link from a temporary file in the same folder: a link never replaces
 * an existing file, so a model id that is already taken is never silently re-pointed at other bytes
 * (voiceprints remember their model id, and a swapped network under the same id would make every
 * stored voiceprint meaningless). The manifest is written last: until it exists, loadManifest does
 * not see the model at all. A file put into the folder by hand as `<id>.onnx` gets only its
 * manifest (registerInPlace).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, link, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { VoicePassportError } from '../errors.js';
import { loadManifest, type LoadedManifest, type ModelManifest } from './manifest.js';

/** The ids of the models the folder holds: every `<id>.json` at its top, hidden files (temporary ones) aside. */
export async function installedModelIds(modelsDir: string): Promise<string[]> {
  return (await readdir(modelsDir)).filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => f.slice(0, -'.json'.length)).sort();
}

/**
 * VP_MODEL must name a model the folder holds (its `<id>.json`); otherwise it is the configuration
 * that is wrong, not a model (the service exits 78, EX_CONFIG), and the operator is told the ids the
 * folder does hold.
 */
export async function requireInstalledModel(modelsDir: string, id: string): Promise<void> {
  if (existsSync(path.join(modelsDir, `${id}.json`))) return;
  let ids: string[];
  try {
    ids = await installedModelIds(modelsDir);
  } catch {
    throw new VoicePassportError('config-invalid', `VP_MODELS_DIR (${modelsDir}) cannot be read as a folder; point it at the models folder.`, { variables: ['VP_MODELS_DIR'] });
  }
  const holds = ids.length === 0 ? 'it holds no model' : `it holds ${ids.join(', ')}`;
  throw new VoicePassportError('config-invalid', `VP_MODEL "${id}" names no model in VP_MODELS_DIR (${modelsDir}): ${holds}. Set VP_MODEL to one of them, or install it with \`voice-passport models fetch\` or \`models add\`.`, {
    variables: ['VP_MODEL', 'VP_MODELS_DIR'],
  });
}

/**
 * What a models folder holds under an id. `unregistered`: `<id>.onnx` without `<id>.json`, which is
 * either a registration in flight (between its two links) or a file put there by hand.
 */
export type Existing =
  | { state: 'absent' }
  | { state: 'same'; manifest: LoadedManifest }
  | { state: 'unregistered'; why: string }
  | { state: 'taken'; why: string };

/** Is `id` free, already registered with one of the `acceptable` sha256 values, or taken by something else? */
export async function existingModel(modelsDir: string, id: string, acceptable: readonly string[]): Promise<Existing> {
  const onnx = path.join(modelsDir, `${id}.onnx`);
  const json = path.join(modelsDir, `${id}.json`);
  const hasOnnx = existsSync(onnx);
  const hasJson = existsSync(json);
  if (!hasOnnx && !hasJson) return { state: 'absent' };
  if (!hasJson) return { state: 'unregistered', why: `${id}.onnx is in ${modelsDir} without a manifest (${id}.json)` };
  try {
    const m = await loadManifest(modelsDir, id);
    if (acceptable.includes(m.sha256) && m.modelPath === onnx) return { state: 'same', manifest: m };
    return { state: 'taken', why: `model "${id}" is already registered with sha256 ${m.sha256}` };
  } catch (e) {
    return { state: 'taken', why: `${id}.onnx or ${id}.json already exists in ${modelsDir} (${(e as Error).message})` };
  }
}

/** How long another registration of the same id may take between placing `<id>.onnx` and `<id>.json`. */
const inFlightWaitMs = 2000;

/**
 * existingModel, after waiting a moment while it is `unregistered`: another fetch of the same id
 * (a second terminal, a retried deployment step) may be between its two links, and once its
 * manifest is there the same bytes are simply installed. A file put there by hand stays
 * `unregistered` and is reported as such after the wait.
 */
export async function settledExisting(modelsDir: string, id: string, acceptable: readonly string[]): Promise<Existing> {
  const until = Date.now() + inFlightWaitMs;
  for (;;) {
    const now = await existingModel(modelsDir, id, acceptable);
    if (now.state !== 'unregistered' || Date.now() >= until) return now;
    await sleep(50);
  }
}

/** The refusal to re-point a taken id; what the operator can do depends on the command (fetch has no --id). */
export function takenError(modelsDir: string, id: string, why: string, command: 'fetch' | 'add'): VoicePassportError {
  const files = path.join(modelsDir, `${id}.*`);
  const advice =
    command === 'fetch'
      ? `To fetch the catalogue's file under this id, remove ${files} yourself once no voiceprint uses it, then fetch again`
      : `Register the new file under another id (--id), or remove ${files} yourself once no voiceprint uses it`;
  return new VoicePassportError(
    'model-invalid',
    `${why}. Refusing to replace it: voiceprints remember their model id, so the bytes behind an id never change. ${advice}`,
    { reason: 'exists', id },
  );
}

/** `.<id>.<pid>.<uuid>.<ext>`: hidden, and naming the process that writes it. */
export function tempPathIn(modelsDir: string, id: string, ext: string): string {
  return path.join(modelsDir, `.${id}.${process.pid}.${randomUUID()}.${ext}`);
}

const tempName = /^\.[A-Za-z0-9][A-Za-z0-9._-]*\.(\d+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(?:onnx|json)$/;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: running, as another user
  }
}

/**
 * Removes the temporary files of fetches and adds whose process is gone (killed with SIGKILL, a
 * crash, a power cut: a download of hundreds of MB would otherwise stay hidden in the folder for
 * good). A file whose process still runs is left alone: it may be a fetch in progress. This
 * assumes the processes sharing the folder share this machine's process ids; one in another
 * container with its own pid namespace may lose its temporary file, and then fails cleanly.
 */
export async function removeStaleTemps(modelsDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(modelsDir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = tempName.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isRunning(Number(pid))) continue;
    await unlink(path.join(modelsDir, name)).catch(() => undefined);
  }
}

/** Moves `from` to `to` only if `to` does not exist yet (a hard link fails with EEXIST instead of replacing). */
async function placeNew(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw e;
    // Filesystems without hard links: check, then rename (atomic, but the check races).
    if (existsSync(to)) throw Object.assign(new Error(`${to} exists`), { code: 'EEXIST' });
    await rename(from, to);
    return;
  }
  await unlink(from);
}

export type Registration =
  | { status: 'registered'; modelPath: string; manifestPath: string; loaded: LoadedManifest }
  /** Another fetch or add placed the same bytes under the id first: nothing was changed. */
  | { status: 'already-installed'; manifest: LoadedManifest };

/**
 * Writes `<id>.onnx` (from the checked temporary file) and then `<id>.json`, and loads the result
 * as the service would. A registration that does not load (a manifest naming cohort files that are
 * not there) is removed again: left in place it would take the id for a model nobody can use.
 * The temporary file is the caller's to remove when it was not placed.
 */
export async function register(modelsDir: string, tempOnnx: string, manifest: ModelManifest, command: 'fetch' | 'add'): Promise<Registration> {
  return placeAndLoad(modelsDir, manifest, command, tempOnnx);
}

/**
 * Writes only `<id>.json` for a checked `<id>.onnx` that is already in the folder (put there by
 * hand); as register(), it is removed again if the model then does not load (the file, not ours,
 * stays as it was).
 */
export async function registerInPlace(modelsDir: string, manifest: ModelManifest): Promise<Registration> {
  return placeAndLoad(modelsDir, manifest, 'add', null);
}

async function placeAndLoad(modelsDir: string, manifest: ModelManifest, command: 'fetch' | 'add', tempOnnx: string | null): Promise<Registration> {
  const modelPath = path.join(modelsDir, manifest.file);
  const manifestPath = path.join(modelsDir, `${manifest.id}.json`);
  // Another fetch of this id got there between the caller's check and a link. The same bytes are
  // what was asked for; only other bytes are a conflict.
  const placedMeanwhile = async (file: string): Promise<Registration> => {
    const now = await settledExisting(modelsDir, manifest.id, [manifest.sha256]);
    if (now.state === 'same') return { status: 'already-installed', manifest: now.manifest };
    throw takenError(modelsDir, manifest.id, now.state === 'absent' ? `${file} appeared while registering` : now.why, command);
  };
  const tempJson = tempPathIn(modelsDir, manifest.id, 'json');
  await writeFile(tempJson, `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
  try {
    if (tempOnnx !== null) {
      // The download was private while unchecked; a registered model is readable like any shipped
      // file (the service may run as another user than the operator who fetched it).
      await chmod(tempOnnx, 0o644);
      try {
        await placeNew(tempOnnx, modelPath);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return await placedMeanwhile(modelPath);
      }
    }
    try {
      await placeNew(tempJson, manifestPath);
    } catch (e) {
      if (tempOnnx !== null) await unlink(modelPath).catch(() => undefined); // ours, placed a moment ago
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (tempOnnx === null) return await placedMeanwhile(manifestPath);
      throw takenError(modelsDir, manifest.id, `${manifestPath} appeared while registering`, command);
    }
  } finally {
    await unlink(tempJson).catch(() => undefined);
  }
  try {
    return { status: 'registered', modelPath, manifestPath, loaded: await loadManifest(modelsDir, manifest.id) };
  } catch (e) {
    // Ours, placed a moment ago; the manifest first, so the id never names a missing file.
    const placed = tempOnnx === null ? [manifestPath] : [manifestPath, modelPath];
    for (const file of placed) await unlink(file).catch(() => undefined);
    throw new VoicePassportError(
      'model-invalid',
      `${(e as Error).message}; the files just placed (${placed.map((f) => path.basename(f)).reverse().join(', ')}) were removed again and nothing was registered`,
      { reason: 'load-failed', id: manifest.id },
    );
  }
}
