import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import { loadManifest, manifestSchema, sha256OfFile } from '../../src/model/manifest.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const modelsDir = path.join(repo, 'models');
const TEST_MODEL_SHA = '2c927cbc807479a361f955884adc91fa1df9bdeb8c8da5d5979b33563934d21c';

async function expectModelInvalid(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VoicePassportError);
  expect((e as VoicePassportError).code).toBe('model-invalid');
  expect((e as VoicePassportError).message).toMatch(pattern);
}

describe('the committed test model', () => {
  it('loads with the WeSpeaker interface and torchaudio defaults filled in', async () => {
    const m = await loadManifest(modelsDir, 'vp-test-tiny');
    expect(m.id).toBe('vp-test-tiny');
    expect(m.convention).toBe('wespeaker');
    expect(m.sha256).toBe(TEST_MODEL_SHA);
    expect(m.modelPath).toBe(path.join(modelsDir, 'vp-test-tiny.onnx'));
    expect(m.input).toEqual({ name: 'feats', layout: 'BTF' });
    expect(m.output).toEqual({ name: 'embs' });
    expect(m.embeddingDim).toBe(128);
    expect(m.sampleRate).toBe(16000);
    expect(m.sampleScale).toBe('int16');
    expect(m.normalisation).toBe('mean');
    expect(m.segmentation).toEqual({ mode: 'whole' });
    expect(m.minFrames).toBe(20);
    expect(m.speechContextMs).toBe(0); // the default: the VAD's regions alone
    expect(m.fbank).toEqual({
      numMelBins: 80,
      frameLength: 25,
      frameShift: 10,
      dither: 0,
      windowType: 'hamming',
      preemphasisCoefficient: 0.97,
      removeDcOffset: true,
      roundToPowerOfTwo: true,
      lowFreq: 20,
      highFreq: 0,
      snipEdges: true,
      useEnergy: false,
      energyFloor: 1,
      rawEnergy: true,
      useLogFbank: true,
      usePower: true,
      blackmanCoeff: 0.42,
    });
  });

  it('is small enough to commit', async () => {
    const bytes = await readFile(path.join(modelsDir, 'vp-test-tiny.onnx'));
    expect(bytes.length).toBeLessThan(1024 * 1024);
    expect(await sha256OfFile(path.join(modelsDir, 'vp-test-tiny.onnx'))).toBe(TEST_MODEL_SHA);
  });

  it('is the only loadable manifest at the top of models/ (templates live elsewhere)', async () => {
    const manifests = (await readdir(modelsDir)).filter((f) => f.endsWith('.json'));
    for (const f of manifests) {
      const m = await loadManifest(modelsDir, f.slice(0, -'.json'.length));
      expect(m.id).toBe(f.slice(0, -5));
    }
    expect(manifests).toContain('vp-test-tiny.json');
  });
});

describe('loadManifest refuses bad manifests with a clear message', () => {
  let dir: string;
  let good: Record<string, unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vp-manifest-'));
    await copyFile(path.join(modelsDir, 'vp-test-tiny.onnx'), path.join(dir, 'vp-test-tiny.onnx'));
    good = JSON.parse(await readFile(path.join(modelsDir, 'vp-test-tiny.json'), 'utf8')) as Record<string, unknown>;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(id: string, content: string | Record<string, unknown>): Promise<void> {
    await writeFile(path.join(dir, `${id}.json`), typeof content === 'string' ? content : JSON.stringify(content));
  }

  it('accepts a copy of the good manifest', async () => {
    await write('copy', { ...good, id: 'copy' });
    const m = await loadManifest(dir, 'copy');
    expect(m.modelPath).toBe(path.join(dir, 'vp-test-tiny.onnx'));
  });

  it('a missing manifest', async () => {
    await expectModelInvalid(loadManifest(dir, 'absent'), /no manifest for model "absent"/);
  });

  it('an id that could escape the folder', async () => {
    await expectModelInvalid(loadManifest(dir, '../models/vp-test-tiny'), /not a valid id/);
  });

  it('an id starting with a dot (hidden from `models list`)', async () => {
    await write('.hidden', { ...good, id: '.hidden' });
    await expectModelInvalid(loadManifest(dir, '.hidden'), /model id "\.hidden" is not a valid id/);
    expect(manifestSchema.safeParse({ ...good, id: '..' }).success).toBe(false);
  });

  it('invalid JSON', async () => {
    await write('broken', '{ "id": "broken", ');
    await expectModelInvalid(loadManifest(dir, 'broken'), /broken\.json is not JSON/);
  });

  it('a missing field, naming it', async () => {
    const { input: _omit, ...rest } = good;
    await write('no-input', { ...rest, id: 'no-input' });
    await expectModelInvalid(loadManifest(dir, 'no-input'), /is invalid: input:/);
  });

  it('an unknown field (typos must not be ignored)', async () => {
    await write('typo', { ...good, id: 'typo', normalization: 'mean' });
    await expectModelInvalid(loadManifest(dir, 'typo'), /is invalid: .*normalization/);
  });

  it('a bad front-end value, naming the path', async () => {
    await write('bad-window', { ...good, id: 'bad-window', frontEnd: { windowType: 'kaiser' } });
    await expectModelInvalid(loadManifest(dir, 'bad-window'), /frontEnd\.windowType/);
  });

  it('speechContextMs: whole milliseconds from 0 to 1000, naming the field otherwise', async () => {
    await write('context', { ...good, id: 'context', speechContextMs: 200 });
    expect((await loadManifest(dir, 'context')).speechContextMs).toBe(200);
    for (const [i, bad] of [-1, 1001, 12.5, '200'].entries()) {
      await write(`bad-context-${i}`, { ...good, id: `bad-context-${i}`, speechContextMs: bad });
      await expectModelInvalid(loadManifest(dir, `bad-context-${i}`), /is invalid: speechContextMs/);
    }
  });

  it('an id that differs from the file name', async () => {
    await write('renamed', { ...good });
    await expectModelInvalid(loadManifest(dir, 'renamed'), /has id "vp-test-tiny", expected "renamed"/);
  });

  it('a missing ONNX file', async () => {
    await write('no-file', { ...good, id: 'no-file', file: 'nowhere.onnx' });
    await expectModelInvalid(loadManifest(dir, 'no-file'), /nowhere\.onnx for "no-file" cannot be read/);
  });

  it('a sha256 that does not match the file, quoting both', async () => {
    const wrong = 'f'.repeat(64);
    await write('swapped', { ...good, id: 'swapped', sha256: wrong });
    await expectModelInvalid(
      loadManifest(dir, 'swapped'),
      new RegExp(`has sha256 ${TEST_MODEL_SHA}, but manifest "swapped" expects ${wrong}; refusing to start`),
    );
  });
});

describe('convention templates (models/conventions/)', () => {
  const conventionsDir = path.join(modelsDir, 'conventions');

  async function template(name: string): Promise<Record<string, unknown>> {
    return JSON.parse(await readFile(path.join(conventionsDir, name), 'utf8')) as Record<string, unknown>;
  }

  it('there is one per public convention', async () => {
    expect((await readdir(conventionsDir)).sort()).toEqual(['3dspeaker.json', 'wespeaker.json']);
  });

  it.each(['wespeaker.json', '3dspeaker.json'])('%s is valid once file and sha256 are filled in', async (name) => {
    const t = await template(name);
    const filled = manifestSchema.safeParse({ ...t, file: 'model.onnx', sha256: '0'.repeat(64) });
    expect(filled.success, JSON.stringify(filled.error?.issues)).toBe(true);
  });

  it.each(['wespeaker.json', '3dspeaker.json'])('%s as shipped fails on sha256 only, so it can never load', async (name) => {
    const parsed = manifestSchema.safeParse(await template(name));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['sha256']);
  });

  it('the WeSpeaker template: feats → embs, hamming, int16 scale, mean normalisation', async () => {
    const t = manifestSchema.parse({ ...(await template('wespeaker.json')), sha256: '0'.repeat(64) });
    expect(t.convention).toBe('wespeaker');
    expect(t.input).toEqual({ name: 'feats', layout: 'BTF' });
    expect(t.output).toEqual({ name: 'embs' });
    expect(t.frontEnd).toMatchObject({ numMelBins: 80, frameLength: 25, frameShift: 10, dither: 0, windowType: 'hamming', snipEdges: true });
    expect(t.sampleScale).toBe('int16');
    expect(t.normalisation).toBe('mean');
    expect(t.sampleRate).toBe(16000);
  });

  it('the 3D-Speaker template: feature → embedding, povey, ±1 scale, mean normalisation', async () => {
    const t = manifestSchema.parse({ ...(await template('3dspeaker.json')), sha256: '0'.repeat(64) });
    expect(t.convention).toBe('3dspeaker');
    expect(t.input).toEqual({ name: 'feature', layout: 'BTF' });
    expect(t.output).toEqual({ name: 'embedding' });
    expect(t.frontEnd).toMatchObject({ numMelBins: 80, frameLength: 25, frameShift: 10, dither: 0, windowType: 'povey', snipEdges: true });
    expect(t.sampleScale).toBe('unit');
    expect(t.normalisation).toBe('mean');
    expect(t.sampleRate).toBe(16000);
  });

  it('templates are not found as models', async () => {
    await expectModelInvalid(loadManifest(modelsDir, 'wespeaker-model'), /no manifest/);
    await expectModelInvalid(loadManifest(modelsDir, '3dspeaker-model'), /no manifest/);
  });
});
