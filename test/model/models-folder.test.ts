/**
 * The models folder steps that fetchModel and addModel share (src/model/models-folder.ts), staged
 * directly where a race cannot be staged through them: another fetch of the same id placing its
 * files between this one's check and its hard links.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manifestSchema, type ModelManifest } from '../../src/model/manifest.js';
import { register, requireInstalledModel, tempPathIn } from '../../src/model/models-folder.js';
import { tinyReduceMaxModel } from './tiny-onnx.js';
import { caught } from './assertions.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const testModelPath = path.join(repo, 'models', 'vp-test-tiny.onnx');
const TEST_MODEL_SHA = '2c927cbc807479a361f955884adc91fa1df9bdeb8c8da5d5979b33563934d21c';

let modelsDir: string;

beforeEach(async () => {
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'vp-models-folder-'));
});

afterEach(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

async function manifestFor(id: string, sha256 = TEST_MODEL_SHA): Promise<ModelManifest> {
  const shipped = JSON.parse(await readFile(path.join(repo, 'models', 'vp-test-tiny.json'), 'utf8')) as Record<string, unknown>;
  return manifestSchema.parse({ ...shipped, id, file: `${id}.onnx`, sha256 });
}

/** The checked temporary file a fetch would hold just before registering. */
async function downloaded(id: string): Promise<string> {
  const temp = tempPathIn(modelsDir, id, 'onnx');
  await copyFile(testModelPath, temp);
  return temp;
}

/** What another fetch of the same id leaves once done. */
async function registeredByAnother(id: string, sha256 = TEST_MODEL_SHA, bytes?: Uint8Array): Promise<void> {
  if (bytes === undefined) await copyFile(testModelPath, path.join(modelsDir, `${id}.onnx`));
  else await writeFile(path.join(modelsDir, `${id}.onnx`), bytes);
  await writeFile(path.join(modelsDir, `${id}.json`), JSON.stringify(await manifestFor(id, sha256)));
}

describe('register', () => {
  it('places <id>.onnx and <id>.json and returns the loaded model', async () => {
    const temp = await downloaded('m');
    const r = await register(modelsDir, temp, await manifestFor('m'), 'fetch');
    expect(r.status === 'registered' && [r.modelPath, r.manifestPath, r.loaded.sha256]).toEqual([path.join(modelsDir, 'm.onnx'), path.join(modelsDir, 'm.json'), TEST_MODEL_SHA]);
    expect((await readdir(modelsDir)).sort()).toEqual(['m.json', 'm.onnx']);
  });

  it('answers already-installed when another fetch registered the same bytes after this one checked', async () => {
    const temp = await downloaded('m');
    await registeredByAnother('m');
    const r = await register(modelsDir, temp, await manifestFor('m'), 'fetch');
    expect(r.status === 'already-installed' && [r.manifest.sha256, r.manifest.modelPath]).toEqual([TEST_MODEL_SHA, path.join(modelsDir, 'm.onnx')]);
    expect((await readdir(modelsDir)).sort()).toEqual([path.basename(temp), 'm.json', 'm.onnx'].sort());
  });

  it('waits for another fetch between placing <id>.onnx and <id>.json, then answers already-installed', async () => {
    const temp = await downloaded('m');
    await copyFile(testModelPath, path.join(modelsDir, 'm.onnx'));
    const manifest = await manifestFor('m');
    const other = new Promise<void>((resolve) => setTimeout(() => void writeFile(path.join(modelsDir, 'm.json'), JSON.stringify(manifest)).then(resolve), 300));
    const r = await register(modelsDir, temp, manifest, 'fetch');
    await other;
    expect(r.status === 'already-installed' && [r.manifest.sha256, r.manifest.modelPath]).toEqual([TEST_MODEL_SHA, path.join(modelsDir, 'm.onnx')]);
  });

  it('still refuses, untouched, an id that another registered with other bytes meanwhile', async () => {
    const temp = await downloaded('m');
    const other = tinyReduceMaxModel({ input: 'feats', output: 'embs' });
    const otherSha = createHash('sha256').update(other).digest('hex');
    await registeredByAnother('m', otherSha, other);
    const e = await caught(register(modelsDir, temp, await manifestFor('m'), 'fetch'));
    expect([e.code, e.details, e.message]).toEqual([
      'model-invalid',
      { reason: 'exists', id: 'm' },
      `model "m" is already registered with sha256 ${otherSha}. Refusing to replace it: voiceprints remember their model id, so the bytes behind an id never change. ` +
        `To fetch the catalogue's file under this id, remove ${path.join(modelsDir, 'm.*')} yourself once no voiceprint uses it, then fetch again`,
    ]);
    expect(Buffer.compare(await readFile(path.join(modelsDir, 'm.onnx')), other)).toBe(0);
  });
});

describe('requireInstalledModel', () => {
  it('passes for an id whose manifest the folder holds', async () => {
    await registeredByAnother('vp-a');
    await expect(requireInstalledModel(modelsDir, 'vp-a')).resolves.toBeUndefined();
  });

  it('refuses another id as a configuration error naming the ids the folder holds (manifests only, hidden files not)', async () => {
    await registeredByAnother('vp-b');
    await registeredByAnother('vp-a');
    await writeFile(path.join(modelsDir, '.vp-c.json'), '{}');
    const e = await caught(requireInstalledModel(modelsDir, 'vp-z'));
    expect([e.code, e.details]).toEqual(['config-invalid', { variables: ['VP_MODEL', 'VP_MODELS_DIR'] }]);
    expect(e.message).toBe(`VP_MODEL "vp-z" names no model in VP_MODELS_DIR (${modelsDir}): it holds vp-a, vp-b. Set VP_MODEL to one of them, or install it with \`voice-passport models fetch\` or \`models add\`.`);
  });

  it('says an empty folder holds no model, and a folder that is not there cannot be read', async () => {
    expect((await caught(requireInstalledModel(modelsDir, 'vp-a'))).message).toContain(`(${modelsDir}): it holds no model.`);
    const missing = path.join(modelsDir, 'nowhere');
    const e = await caught(requireInstalledModel(missing, 'vp-a'));
    expect([e.code, e.message, e.details]).toEqual(['config-invalid', `VP_MODELS_DIR (${missing}) cannot be read as a folder; point it at the models folder.`, { variables: ['VP_MODELS_DIR'] }]);
  });
});
