/**
 * The published-model catalogue, `fetchModel` against a local HTTP server (node:http on
 * 127.0.0.1:0) and `addModel` with both conventions. Every refusal must leave the models folder
 * exactly as it was.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadManifest, manifestSchema } from '../../src/model/manifest.js';
import {
  addModel,
  catalogEntrySchema,
  defaultCatalogDir,
  fetchModel,
  listInstalledModels,
  manifestFromCatalog,
  readCatalog,
  type CatalogEntry,
} from '../../src/model/registry.js';
import { tinyReduceMaxModel } from './tiny-onnx.js';
import { caught } from './assertions.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const testModelPath = path.join(repo, 'models', 'vp-test-tiny.onnx');
const TEST_MODEL_SHA = '2c927cbc807479a361f955884adc91fa1df9bdeb8c8da5d5979b33563934d21c';
const NOW = new Date('2026-03-04T05:06:07Z');

let testModel: Buffer;
let featureModel: Uint8Array;
let server: Server;
let base: string;
const requests: string[] = [];
let catalogDir: string;
let modelsDir: string;

async function modelsDirFiles(): Promise<string[]> {
  return (await readdir(modelsDir)).sort();
}

/** AS-norm against a cohort file that is not in the models folder: a manifest with it does not load. */
const scoreNormalisation = {
  method: 'as-norm',
  enabled: true,
  topK: 10,
  cohorts: { wideband: { file: 'absent.cohort-wideband.f32', sha256: 'c'.repeat(64), speakers: 10 } },
};

/** A catalogue entry like the shipped ones, pointing at the local server. */
function entry(id: string, downloads: CatalogEntry['downloads'], overrides: Partial<CatalogEntry> = {}): CatalogEntry {
  return catalogEntrySchema.parse({
    id,
    description: `Test entry ${id}.`,
    convention: 'wespeaker',
    sampleRate: 16000,
    frontEnd: { numMelBins: 80, frameLength: 25, frameShift: 10, dither: 0, windowType: 'hamming', snipEdges: true },
    sampleScale: 'int16',
    normalisation: 'mean',
    input: { name: 'feats', layout: 'BTF' },
    output: { name: 'embs' },
    embeddingDim: 128,
    source: { url: 'https://example.org/test', licence: 'test', citation: 'test' },
    downloads,
    published: { trainingData: 'none', eer: [{ percent: 50, testSet: 'none', scoring: 'cosine', citation: 'none' }] },
    ...overrides,
  });
}

beforeAll(async () => {
  testModel = await readFile(testModelPath);
  featureModel = tinyReduceMaxModel({ input: 'feature', output: 'embedding' });
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/vp-test-tiny.onnx') res.writeHead(200, { 'content-length': String(testModel.length) }).end(testModel);
    else if (req.url === '/redirected.onnx') res.writeHead(302, { location: '/vp-test-tiny.onnx' }).end();
    else if (req.url === '/boom') res.writeHead(500).end();
    else if (req.url === '/to-remote-http') res.writeHead(301, { location: 'http://example.com/model.onnx' }).end();
    else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else if (req.url === '/stall') res.writeHead(200, { 'content-length': String(testModel.length) }).write(testModel.subarray(0, 100));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  catalogDir = await mkdtemp(path.join(os.tmpdir(), 'vp-catalog-'));
  const good = { url: `${base}/vp-test-tiny.onnx`, sha256: TEST_MODEL_SHA, sha256Source: 'the test fixture', bytes: testModel.length };
  const entries = [
    entry('test-wespeaker', [good]),
    entry('test-redirected', [{ ...good, url: `${base}/redirected.onnx` }]),
    entry('test-mirrors', [{ ...good, url: `${base}/gone.onnx` }, { ...good, url: `${base}/boom` }, good]),
    // A fallback publishing other bytes (like sherpa-onnx's copies, with metadata added).
    entry('test-fallback', [{ ...good, url: `${base}/gone.onnx`, sha256: 'a'.repeat(64) }, good]),
    entry('test-stall-then-good', [{ ...good, url: `${base}/stall` }, good]),
    entry('test-bad-redirects', [{ ...good, url: `${base}/to-remote-http` }, { ...good, url: `${base}/loop` }, good]),
    entry('test-only-bad-redirects', [{ ...good, url: `${base}/loop` }, { ...good, url: `${base}/to-remote-http` }]),
    entry('test-wrong-sha', [{ ...good, sha256: 'f'.repeat(64) }]),
    entry('test-unpublished', [{ url: good.url, sha256: null, sha256Source: 'the distributor publishes no checksum' }]),
    entry('test-wrong-dim', [good], { embeddingDim: 256 }),
    entry('test-3dspeaker-names', [good], {
      convention: '3dspeaker',
      input: { name: 'feature', layout: 'BTF' },
      output: { name: 'embedding' },
      sampleScale: 'unit',
      frontEnd: { numMelBins: 80, windowType: 'povey' },
    }),
  ];
  for (const e of entries) await writeFile(path.join(catalogDir, `${e.id}.json`), JSON.stringify(e, null, 2));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(catalogDir, { recursive: true, force: true });
});

beforeEach(async () => {
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'vp-models-'));
  requests.length = 0;
});

describe('the shipped catalogue', () => {
  it('lists the published models with their embedding size, tensor names and front-end', async () => {
    const entries = await readCatalog();
    expect(entries.map((e) => [e.id, e.convention, e.embeddingDim, e.input.name, e.output.name])).toEqual([
      ['3dspeaker-eres2net-base-zh', '3dspeaker', 512, 'x', 'embedding'],
      ['3dspeaker-eres2net-voxceleb', '3dspeaker', 192, 'x', 'embedding'],
      ['wespeaker-campplus', 'wespeaker', 512, 'feats', 'embs'],
      ['wespeaker-resnet34-lm', 'wespeaker', 256, 'feats', 'embs'],
    ]);
    for (const e of entries) {
      const wespeaker = e.convention === 'wespeaker';
      expect([e.sampleRate, e.sampleScale, e.normalisation, e.frontEnd.windowType, e.frontEnd.snipEdges, e.frontEnd.numMelBins, e.frontEnd.dither]).toEqual([
        16000,
        wespeaker ? 'int16' : 'unit',
        'mean',
        wespeaker ? 'hamming' : 'povey',
        true,
        80,
        0,
      ]);
      expect(e.source?.licence).toMatch(wespeaker ? /Apache-2\.0.*CC BY 4\.0/ : /Apache-2\.0/);
      expect(e.published.eer.length).toBeGreaterThan(0);
      for (const eer of e.published.eer) expect(eer.citation).toMatch(/README\.md/);
    }
  });

  it('has https addresses, each with a sha256 (or an explicit null) and where it comes from', async () => {
    for (const e of await readCatalog()) {
      for (const d of e.downloads) {
        expect(new URL(d.url).protocol).toBe('https:');
        expect(d.sha256 === null || /^[0-9a-f]{64}$/.test(d.sha256)).toBe(true);
        expect(d.sha256Source.length).toBeGreaterThan(20);
      }
    }
    const resnet = (await readCatalog()).find((e) => e.id === 'wespeaker-resnet34-lm');
    expect(resnet?.downloads[0]).toEqual(
      expect.objectContaining({ sha256: '7bb2f06e9df17cdf1ef14ee8a15ab08ed28e8d0ef5054ee135741560df2ec068', bytes: 26530309 }),
    );
  });

  it('every entry becomes a valid manifest once a sha256 is known', async () => {
    for (const e of await readCatalog()) {
      const m = manifestFromCatalog(e, 'a'.repeat(64), e.description);
      expect(manifestSchema.safeParse(m).success).toBe(true);
      expect([m.id, m.file, m.sha256]).toEqual([e.id, `${e.id}.onnx`, 'a'.repeat(64)]);
    }
  });

  it('cannot be loaded as service models where it lies (no file, no sha256)', async () => {
    for (const e of await readCatalog()) {
      await expect(loadManifest(defaultCatalogDir(), e.id)).rejects.toMatchObject({ code: 'model-invalid' });
    }
  });

  it('refuses a catalogue entry with scoreNormalisation (its cohort files cannot come with a download)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vp-catalog-bad-'));
    const good = entry('test-cohort', [{ url: 'https://x.org/a.onnx', sha256: null, sha256Source: 'none published' }]);
    await writeFile(path.join(dir, 'test-cohort.json'), JSON.stringify({ ...good, scoreNormalisation }));
    try {
      const e = await caught(readCatalog(dir));
      expect([e.code, e.details?.reason, e.message]).toEqual([
        'model-invalid',
        'catalogue-invalid',
        `catalogue entry ${path.join(dir, 'test-cohort.json')} is invalid: (root): Unrecognized key: "scoreNormalisation"`,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a catalogue entry whose file name differs from its id', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vp-catalog-bad-'));
    await writeFile(path.join(dir, 'other.json'), JSON.stringify(entry('test-wespeaker', [{ url: 'https://x.org/a.onnx', sha256: null, sha256Source: 'none published' }])));
    const e = await caught(readCatalog(dir));
    expect([e.code, e.details?.reason]).toEqual(['model-invalid', 'catalogue-invalid']);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('fetchModel', () => {
  it('downloads, checks the sha256, registers <id>.onnx + <id>.json, and the model loads', async () => {
    const r = await fetchModel('test-wespeaker', { modelsDir, catalogDir, now: NOW });
    expect(r).toEqual({
      id: 'test-wespeaker',
      status: 'registered',
      sha256: TEST_MODEL_SHA,
      sha256Trust: 'catalogue',
      bytes: testModel.length,
      convention: 'wespeaker',
      embeddingDim: 128,
      modelPath: path.join(modelsDir, 'test-wespeaker.onnx'),
      manifestPath: path.join(modelsDir, 'test-wespeaker.json'),
      url: `${base}/vp-test-tiny.onnx`,
    });
    expect(await modelsDirFiles()).toEqual(['test-wespeaker.json', 'test-wespeaker.onnx']);
    expect((await stat(path.join(modelsDir, 'test-wespeaker.onnx'))).mode & 0o777).toBe(0o644);
    const m = await loadManifest(modelsDir, 'test-wespeaker');
    expect([m.sha256, m.embeddingDim, m.input.name, m.output.name, m.fbank.windowType]).toEqual([TEST_MODEL_SHA, 128, 'feats', 'embs', 'hamming']);
    expect(m.description).toBe(`Test entry test-wespeaker. Fetched from ${base}/vp-test-tiny.onnx on 2026-03-04; sha256 checked against the catalogue.`);
    expect(await listInstalledModels(modelsDir)).toEqual([
      { id: 'test-wespeaker', status: 'ok', convention: 'wespeaker', embeddingDim: 128, sha256: TEST_MODEL_SHA, description: m.description },
    ]);
  });

  it('is a no-op without any download when the same bytes are already registered', async () => {
    await fetchModel('test-wespeaker', { modelsDir, catalogDir, now: NOW });
    requests.length = 0;
    const again = await fetchModel('test-wespeaker', { modelsDir, catalogDir, now: NOW });
    expect([again.status, again.bytes, requests]).toEqual(['already-installed', testModel.length, []]);
  });

  it('is a no-op without any download when the model was installed from the fallback address', async () => {
    const first = await fetchModel('test-fallback', { modelsDir, catalogDir, now: NOW });
    expect([first.status, first.url, requests]).toEqual(['registered', `${base}/vp-test-tiny.onnx`, ['/gone.onnx', '/vp-test-tiny.onnx']]);
    requests.length = 0;
    const again = await fetchModel('test-fallback', { modelsDir, catalogDir, now: NOW });
    expect([again, requests]).toEqual([{ ...first, status: 'already-installed' }, []]);
    expect(await modelsDirFiles()).toEqual(['test-fallback.json', 'test-fallback.onnx']);
  });

  it('two fetches of the same id at once: one registers, the other answers already-installed', async () => {
    const results = await Promise.all([fetchModel('test-wespeaker', { modelsDir, catalogDir, now: NOW }), fetchModel('test-wespeaker', { modelsDir, catalogDir, now: NOW })]);
    expect(results.map((r) => [r.status, r.sha256]).sort()).toEqual([
      ['already-installed', TEST_MODEL_SHA],
      ['registered', TEST_MODEL_SHA],
    ]);
    expect(await modelsDirFiles()).toEqual(['test-wespeaker.json', 'test-wespeaker.onnx']);
  });

  it('waits for another fetch that has placed <id>.onnx but not yet <id>.json, then answers already-installed', async () => {
    await writeFile(path.join(modelsDir, 'test-wespeaker.onnx'), testModel);
    const manifest = manifestFromCatalog((await readCatalog(catalogDir)).find((e) => e.id === 'test-wespeaker')!, TEST_MODEL_SHA, 'placed by the other fetch');
    setTimeout(() => void writeFile(path.join(modelsDir, 'test-wespeaker.json'), JSON.stringify(manifest)), 300);
    const r = await fetchModel('test-wespeaker', { modelsDir, catalogDir, now: NOW });
    expect([r.status, r.sha256, requests]).toEqual(['already-installed', TEST_MODEL_SHA, []]);
    expect(await modelsDirFiles()).toEqual(['test-wespeaker.json', 'test-wespeaker.onnx']);
  });

  it('follows a redirect to the file', async () => {
    const r = await fetchModel('test-redirected', { modelsDir, catalogDir });
    expect([r.status, requests]).toEqual(['registered', ['/redirected.onnx', '/vp-test-tiny.onnx']]);
  });

  it('moves on to the next address when one answers 404 or 500', async () => {
    const r = await fetchModel('test-mirrors', { modelsDir, catalogDir });
    expect([r.status, r.url, requests]).toEqual(['registered', `${base}/vp-test-tiny.onnx`, ['/gone.onnx', '/boom', '/vp-test-tiny.onnx']]);
  });

  it('moves on to the next address when one redirects to plain http or in a loop', async () => {
    const r = await fetchModel('test-bad-redirects', { modelsDir, catalogDir });
    expect([r.status, r.url, requests]).toEqual(['registered', `${base}/vp-test-tiny.onnx`, ['/to-remote-http', ...Array(6).fill('/loop'), '/vp-test-tiny.onnx']]);
  });

  it('reports the last address\'s redirect failure as model-invalid (exit 1) when every address fails, with nothing left behind', async () => {
    const e = await caught(fetchModel('test-only-bad-redirects', { modelsDir, catalogDir }));
    expect([e.code, e.details]).toEqual(['model-invalid', { reason: 'insecure-redirect', url: 'http://example.com/model.onnx', from: `${base}/to-remote-http` }]);
    expect(requests).toEqual([...Array(6).fill('/loop'), '/to-remote-http']);
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('refuses a file whose sha256 differs from the catalogue and leaves nothing behind', async () => {
    const e = await caught(fetchModel('test-wrong-sha', { modelsDir, catalogDir }));
    expect([e.code, e.details?.reason, e.details?.expected, e.details?.actual]).toEqual(['model-invalid', 'sha256-mismatch', 'f'.repeat(64), TEST_MODEL_SHA]);
    expect(e.message).toContain('nothing was registered');
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('refuses a wrong --sha256 for an address outside the catalogue', async () => {
    const e = await caught(fetchModel('test-unpublished', { modelsDir, catalogDir, url: `${base}/redirected.onnx`, sha256: 'e'.repeat(64) }));
    expect([e.details?.reason, e.details?.expected]).toEqual(['sha256-mismatch', 'e'.repeat(64)]);
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('refuses, before downloading, a --sha256 that contradicts the catalogue', async () => {
    const e = await caught(fetchModel('test-wespeaker', { modelsDir, catalogDir, sha256: 'e'.repeat(64) }));
    expect([e.code, e.details?.reason, e.details?.catalogue]).toEqual(['validation-failed', 'sha256-conflict', TEST_MODEL_SHA]);
    expect(requests).toEqual([]);
  });

  it('refuses a malformed --sha256', async () => {
    const e = await caught(fetchModel('test-wespeaker', { modelsDir, catalogDir, sha256: 'abc' }));
    expect([e.code, e.details?.reason]).toEqual(['validation-failed', 'sha256-malformed']);
  });

  it('without a published sha256: prints the computed one and registers nothing', async () => {
    const e = await caught(fetchModel('test-unpublished', { modelsDir, catalogDir }));
    expect([e.code, e.details?.reason, e.details?.sha256, e.details?.bytes]).toEqual(['validation-failed', 'sha256-unpublished', TEST_MODEL_SHA, testModel.length]);
    expect(e.message).toContain(`--sha256 ${TEST_MODEL_SHA}`);
    expect(e.message).toContain('--trust-on-first-use');
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('without a published sha256: registers with the operator --sha256', async () => {
    const r = await fetchModel('test-unpublished', { modelsDir, catalogDir, sha256: TEST_MODEL_SHA.toUpperCase() });
    expect([r.status, r.sha256Trust, r.sha256]).toEqual(['registered', 'operator', TEST_MODEL_SHA]);
    expect((await loadManifest(modelsDir, 'test-unpublished')).description).toContain('sha256 checked against --sha256');
  });

  it('without a published sha256: registers on explicit trust on first use, and says so in the manifest', async () => {
    const r = await fetchModel('test-unpublished', { modelsDir, catalogDir, trustOnFirstUse: true });
    expect([r.status, r.sha256Trust, r.sha256]).toEqual(['registered', 'trust-on-first-use', TEST_MODEL_SHA]);
    expect((await loadManifest(modelsDir, 'test-unpublished')).description).toContain('sha256 NOT checked: trusted on first use');
  });

  it.each([
    ['/missing.onnx', 404],
    ['/boom', 500],
  ])('turns HTTP errors at --url %s into http-status (%s) with nothing left behind', async (p, status) => {
    const e = await caught(fetchModel('test-wespeaker', { modelsDir, catalogDir, url: `${base}${p}`, sha256: TEST_MODEL_SHA }));
    expect([e.code, e.details?.reason, e.details?.status]).toEqual(['model-invalid', 'http-status', status]);
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('times out on a stalled server with nothing left behind', async () => {
    const e = await caught(fetchModel('test-wespeaker', { modelsDir, catalogDir, url: `${base}/stall`, sha256: TEST_MODEL_SHA, idleTimeoutMs: 300 }));
    expect([e.code, e.details?.reason]).toEqual(['model-invalid', 'timeout']);
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('stops on an abort (Ctrl-C) without trying the next address, with nothing left behind', async () => {
    const interruption = new AbortController();
    const e = await caught(
      fetchModel('test-stall-then-good', { modelsDir, catalogDir, signal: interruption.signal, onProgress: () => interruption.abort() }),
    );
    expect([e.code, e.details]).toEqual(['model-invalid', { reason: 'interrupted', url: `${base}/stall`, received: 100 }]);
    expect(requests).toEqual(['/stall']);
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('refuses an oversize file with nothing left behind', async () => {
    const e = await caught(fetchModel('test-wespeaker', { modelsDir, catalogDir, maxBytes: 1000 }));
    expect([e.code, e.details?.reason, e.details?.maxBytes]).toEqual(['model-invalid', 'too-large', 1000]);
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('refuses a plain-http remote --url before connecting', async () => {
    const e = await caught(fetchModel('test-wespeaker', { modelsDir, catalogDir, url: 'http://example.com/model.onnx', sha256: TEST_MODEL_SHA }));
    expect([e.code, e.details?.reason]).toEqual(['validation-failed', 'insecure-url']);
    expect(e.message).toContain('only https://');
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('refuses an id that is not in the catalogue, naming the known ones', async () => {
    const e = await caught(fetchModel('nope', { modelsDir, catalogDir }));
    expect([e.code, e.details?.reason]).toEqual(['validation-failed', 'unknown-model']);
    expect(e.message).toContain('test-wespeaker');
  });

  it('refuses a model whose embedding size differs from the catalogue', async () => {
    const e = await caught(fetchModel('test-wrong-dim', { modelsDir, catalogDir }));
    expect([e.code, e.details?.reason, e.details?.embeddingDim, e.details?.expected]).toEqual(['model-invalid', 'dim-mismatch', 128, 256]);
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('refuses a model whose tensor names differ from the manifest, naming the real ones', async () => {
    const e = await caught(fetchModel('test-3dspeaker-names', { modelsDir, catalogDir }));
    expect([e.code, e.details?.reason, e.details?.inputNames, e.details?.outputNames]).toEqual(['model-invalid', 'names-mismatch', ['feats'], ['embs']]);
    // fetch has no --input-name/--output-name: the hint is `models add` with the file's real names.
    expect(e.message).toBe(
      'model "test-3dspeaker-names" has inputs [feats] and outputs [embs], but its catalogue entry expects input "feature" and output "embedding": ' +
        'the catalogue\'s names do not match this file, so it was not registered. To use the file anyway, download it yourself and register it with ' +
        '`voice-passport models add FILE --convention 3dspeaker --input-name feats --output-name embs`',
    );
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('refuses, before downloading, an id registered with other bytes, without advising another id (fetch has no --id)', async () => {
    const other = path.join(os.tmpdir(), `vp-other-${process.pid}.onnx`);
    await writeFile(other, featureModel);
    try {
      const added = await addModel(other, { modelsDir, convention: '3dspeaker', id: 'test-wespeaker' });
      const e = await caught(fetchModel('test-wespeaker', { modelsDir, catalogDir }));
      expect([e.code, e.details, e.message]).toEqual([
        'model-invalid',
        { reason: 'exists', id: 'test-wespeaker' },
        `model "test-wespeaker" is already registered with sha256 ${added.sha256}. Refusing to replace it: voiceprints remember their model id, so the bytes behind an id never change. ` +
          `To fetch the catalogue's file under this id, remove ${path.join(modelsDir, 'test-wespeaker.*')} yourself once no voiceprint uses it, then fetch again`,
      ]);
      expect(requests).toEqual([]);
      expect((await loadManifest(modelsDir, 'test-wespeaker')).sha256).toBe(added.sha256);
    } finally {
      await rm(other, { force: true });
    }
  });

  it('never replaces a model id that is taken by other bytes', async () => {
    await writeFile(path.join(modelsDir, 'test-wespeaker.json'), '{"not":"this"}');
    const e = await caught(fetchModel('test-wespeaker', { modelsDir, catalogDir }));
    expect([e.code, e.details?.reason]).toEqual(['model-invalid', 'exists']);
    expect(requests).toEqual([]);
    expect(await readFile(path.join(modelsDir, 'test-wespeaker.json'), 'utf8')).toBe('{"not":"this"}');
    expect(await modelsDirFiles()).toEqual(['test-wespeaker.json']);
  });
});

describe('temporary files left by an interrupted fetch or add', () => {
  // No process has this id (above every pid_max), so its temporary files are orphans.
  const deadPid = 99_999_999;
  const uuid = '0b6f2f3e-8c1a-4d5e-9f00-123456789abc';

  async function leftovers(): Promise<{ stale: string[]; kept: string[] }> {
    const stale = [`.test-wespeaker.${deadPid}.${uuid}.onnx`, `.other-model.v2.${deadPid}.${uuid}.json`];
    // This process's own (another fetch running in it) and pid 1's (alive): theirs, not ours to remove.
    const kept = [`.test-wespeaker.${process.pid}.${uuid}.onnx`, `.test-wespeaker.1.${uuid}.onnx`, '.keep', `.notes.${deadPid}.txt`];
    for (const f of [...stale, ...kept]) await writeFile(path.join(modelsDir, f), 'partial');
    return { stale, kept };
  }

  it('fetch removes those of processes that are gone, and only those', async () => {
    const { kept } = await leftovers();
    const r = await fetchModel('test-wespeaker', { modelsDir, catalogDir, now: NOW });
    expect(r.status).toBe('registered');
    expect(await modelsDirFiles()).toEqual([...kept, 'test-wespeaker.json', 'test-wespeaker.onnx'].sort());
  });

  it('add removes them too, also when it then refuses', async () => {
    const { kept } = await leftovers();
    const e = await caught(addModel(testModelPath, { modelsDir, convention: '3dspeaker' }));
    expect(e.details?.reason).toBe('names-mismatch');
    expect(await modelsDirFiles()).toEqual([...kept].sort());
  });
});

describe('addModel', () => {
  it('registers a WeSpeaker-convention file, finding the embedding size from the model', async () => {
    const r = await addModel(testModelPath, { modelsDir, convention: 'wespeaker' });
    expect([r.id, r.status, r.sha256, r.sha256Trust, r.embeddingDim, r.bytes]).toEqual(['vp-test-tiny', 'registered', TEST_MODEL_SHA, 'local-file', 128, testModel.length]);
    const m = await loadManifest(modelsDir, 'vp-test-tiny');
    expect([m.convention, m.input, m.output, m.sampleScale, m.fbank.windowType, m.embeddingDim]).toEqual([
      'wespeaker',
      { name: 'feats', layout: 'BTF' },
      { name: 'embs' },
      'int16',
      'hamming',
      128,
    ]);
    expect(await modelsDirFiles()).toEqual(['vp-test-tiny.json', 'vp-test-tiny.onnx']);
  });

  it('registers a 3D-Speaker-convention file (feature -> embedding) under --id', async () => {
    const file = path.join(modelsDir, '..', `${path.basename(modelsDir)}-feature.onnx`);
    await writeFile(file, featureModel);
    try {
      const r = await addModel(file, { modelsDir, convention: '3dspeaker', id: 'eres-test' });
      expect([r.id, r.embeddingDim, r.sha256]).toEqual(['eres-test', 80, createHash('sha256').update(featureModel).digest('hex')]);
      const m = await loadManifest(modelsDir, 'eres-test');
      expect([m.convention, m.input.name, m.output.name, m.sampleScale, m.fbank.windowType]).toEqual(['3dspeaker', 'feature', 'embedding', 'unit', 'povey']);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('refuses a WeSpeaker-named file as 3dspeaker, naming its real tensors, and leaves nothing behind', async () => {
    const e = await caught(addModel(testModelPath, { modelsDir, convention: '3dspeaker' }));
    expect([e.code, e.details?.reason, e.details?.inputNames, e.details?.outputNames]).toEqual(['model-invalid', 'names-mismatch', ['feats'], ['embs']]);
    expect(e.message).toBe(
      'model "vp-test-tiny" has inputs [feats] and outputs [embs], but the 3dspeaker convention expects input "feature" and output "embedding"; ' +
        'use the other --convention, or --input-name/--output-name for an export with its own names',
    );
    expect(await modelsDirFiles()).toEqual([]);
  });

  it('accepts other tensor names with --input-name/--output-name (sherpa-onnx-style exports)', async () => {
    const r = await addModel(testModelPath, { modelsDir, convention: '3dspeaker', id: 'renamed', inputName: 'feats', outputName: 'embs' });
    const m = await loadManifest(modelsDir, 'renamed');
    expect([r.embeddingDim, m.convention, m.input.name, m.output.name, m.sampleScale]).toEqual([128, '3dspeaker', 'feats', 'embs', 'unit']);
  });

  it('checks --dim against the model', async () => {
    const e = await caught(addModel(testModelPath, { modelsDir, convention: 'wespeaker', embeddingDim: 256 }));
    expect([e.details?.reason, e.details?.embeddingDim, e.details?.expected]).toEqual(['dim-mismatch', 128, 256]);
    expect(await modelsDirFiles()).toEqual([]);
    const ok = await addModel(testModelPath, { modelsDir, convention: 'wespeaker', embeddingDim: 128 });
    expect(ok.embeddingDim).toBe(128);
  });

  it('is a no-op for the same bytes under the same id, and refuses other bytes under it', async () => {
    await addModel(testModelPath, { modelsDir, convention: 'wespeaker', id: 'm' });
    expect((await addModel(testModelPath, { modelsDir, convention: 'wespeaker', id: 'm' })).status).toBe('already-installed');
    const other = path.join(os.tmpdir(), `vp-other-${process.pid}.onnx`);
    await writeFile(other, featureModel);
    try {
      const e = await caught(addModel(other, { modelsDir, convention: '3dspeaker', id: 'm' }));
      expect([e.code, e.details, e.message]).toEqual([
        'model-invalid',
        { reason: 'exists', id: 'm' },
        `model "m" is already registered with sha256 ${TEST_MODEL_SHA}. Refusing to replace it: voiceprints remember their model id, so the bytes behind an id never change. ` +
          `Register the new file under another id (--id), or remove ${path.join(modelsDir, 'm.*')} yourself once no voiceprint uses it`,
      ]);
      expect((await loadManifest(modelsDir, 'm')).sha256).toBe(TEST_MODEL_SHA);
      expect(await modelsDirFiles()).toEqual(['m.json', 'm.onnx']);
    } finally {
      await rm(other, { force: true });
    }
  });

  it('removes the files it placed when the registered model then fails to load (a template with a cohort that is not there)', async () => {
    const conventionsDir = await mkdtemp(path.join(os.tmpdir(), 'vp-conventions-'));
    const template = JSON.parse(await readFile(path.join(repo, 'models', 'conventions', 'wespeaker.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(conventionsDir, 'wespeaker.json'), JSON.stringify({ ...template, scoreNormalisation }));
    try {
      const e = await caught(addModel(testModelPath, { modelsDir, convention: 'wespeaker', id: 'm', conventionsDir }));
      expect([e.code, e.details, e.message]).toEqual([
        'model-invalid',
        { reason: 'load-failed', id: 'm' },
        `model "m" wideband cohort: cohort file ${path.join(modelsDir, 'absent.cohort-wideband.f32')} cannot be read (ENOENT); ` +
          'the files just placed (m.onnx, m.json) were removed again and nothing was registered',
      ]);
      expect(await modelsDirFiles()).toEqual([]);

      // A file put into the folder by hand is not ours to remove: only the manifest goes.
      const placed = path.join(modelsDir, 'placed.onnx');
      await writeFile(placed, testModel);
      const inPlace = await caught(addModel(placed, { modelsDir, convention: 'wespeaker', conventionsDir }));
      expect([inPlace.details, inPlace.message]).toEqual([
        { reason: 'load-failed', id: 'placed' },
        `model "placed" wideband cohort: cohort file ${path.join(modelsDir, 'absent.cohort-wideband.f32')} cannot be read (ENOENT); ` +
          'the files just placed (placed.json) were removed again and nothing was registered',
      ]);
      expect(await modelsDirFiles()).toEqual(['placed.onnx']);
    } finally {
      await rm(conventionsDir, { recursive: true, force: true });
    }
  });

  it('registers a file already put into the models folder as <id>.onnx by writing only its manifest', async () => {
    const placed = path.join(modelsDir, 'placed.onnx');
    await writeFile(placed, testModel);
    const r = await addModel(placed, { modelsDir, convention: 'wespeaker' });
    expect(r).toEqual({
      id: 'placed',
      status: 'registered',
      sha256: TEST_MODEL_SHA,
      sha256Trust: 'local-file',
      bytes: testModel.length,
      convention: 'wespeaker',
      embeddingDim: 128,
      modelPath: placed,
      manifestPath: path.join(modelsDir, 'placed.json'),
    });
    expect(await modelsDirFiles()).toEqual(['placed.json', 'placed.onnx']);
    expect([(await loadManifest(modelsDir, 'placed')).sha256, Buffer.compare(await readFile(placed), testModel)]).toEqual([TEST_MODEL_SHA, 0]);
    expect((await addModel(placed, { modelsDir, convention: 'wespeaker' })).status).toBe('already-installed');
  });

  it('leaves a file in the models folder as it was when it fails the check, writing no manifest', async () => {
    const placed = path.join(modelsDir, 'placed.onnx');
    await writeFile(placed, testModel);
    const e = await caught(addModel(placed, { modelsDir, convention: '3dspeaker' }));
    expect([e.code, e.details?.reason]).toEqual(['model-invalid', 'names-mismatch']);
    expect(await modelsDirFiles()).toEqual(['placed.onnx']);
    expect(Buffer.compare(await readFile(placed), testModel)).toBe(0);
  });

  it('refuses a file that is not an ONNX model, with nothing left behind', async () => {
    const junk = path.join(os.tmpdir(), `vp-junk-${process.pid}.onnx`);
    await writeFile(junk, 'this is not a protobuf model');
    try {
      const e = await caught(addModel(junk, { modelsDir, convention: 'wespeaker', id: 'junk' }));
      expect([e.code, e.details?.reason]).toEqual(['model-invalid', 'not-loadable']);
      expect(await modelsDirFiles()).toEqual([]);
    } finally {
      await rm(junk, { force: true });
    }
  });

  it.each([
    [{ id: 'bad id!' }, 'id-invalid'],
    // A leading dot would hide the model from `models list` (and from ls) and clash with the temporary files.
    [{ id: '..' }, 'id-invalid'],
    [{ id: '.hidden' }, 'id-invalid'],
    [{ embeddingDim: 1 }, 'dim-invalid'],
    [{ convention: 'nemo' }, 'convention-unknown'],
  ])('refuses bad arguments %o (%s)', async (extra, reason) => {
    const e = await caught(addModel(testModelPath, { modelsDir, convention: 'wespeaker', ...(extra as object) }));
    expect([e.code, e.details?.reason]).toEqual(['validation-failed', reason]);
  });

  it('refuses a file whose name starts with a dot as its own id, naming the rule', async () => {
    const hidden = path.join(os.tmpdir(), `.vp-hidden-${process.pid}.onnx`);
    await writeFile(hidden, testModel);
    try {
      const e = await caught(addModel(hidden, { modelsDir, convention: 'wespeaker' }));
      expect([e.code, e.details?.reason, e.message]).toEqual([
        'validation-failed',
        'id-invalid',
        `".vp-hidden-${process.pid}" is not a model id (1-64 letters, digits, dot, dash, underscore, starting with a letter or digit); choose one with --id`,
      ]);
      expect(await modelsDirFiles()).toEqual([]);
    } finally {
      await rm(hidden, { force: true });
    }
  });

  it('refuses a missing file', async () => {
    const e = await caught(addModel(path.join(modelsDir, 'nope.onnx'), { modelsDir, convention: 'wespeaker' }));
    expect([e.code, e.details?.reason]).toEqual(['validation-failed', 'file-missing']);
  });
});
