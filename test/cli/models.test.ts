/**
 * `voice-passport models` as an operator runs it (a child process): list, add, fetch from a local
 * HTTP server, and the refusals with their exit codes and stable error codes. The library itself is
 * tested in test/model/registry.test.ts; these check the wiring, the JSON and the exit codes.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { modelsCommand } from '../../src/cli/models.js';
import { VoicePassportError } from '../../src/errors.js';
import { loadManifest } from '../../src/model/manifest.js';
import { cliError, repoRoot, runCli, tempDir } from './run-cli.js';

const TEST_MODEL_SHA = '2c927cbc807479a361f955884adc91fa1df9bdeb8c8da5d5979b33563934d21c';
const testModelPath = path.join(repoRoot, 'models', 'vp-test-tiny.onnx');

let server: Server;
let base: string;
let catalogDir: string;
let modelsDir: string;

beforeAll(async () => {
  const bytes = await readFile(testModelPath);
  server = createServer((req, res) => {
    if (req.url === '/vp-test-tiny.onnx') res.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes);
    else if (req.url === '/to-remote-http') res.writeHead(301, { location: 'http://example.com/model.onnx' }).end();
    else if (req.url === '/stall') res.writeHead(200, { 'content-length': String(bytes.length) }).write(bytes.subarray(0, 1000)); // then nothing
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A one-entry catalogue whose file has no published sha256, served from this process.
  catalogDir = tempDir('vp-cli-catalog-');
  const shipped = JSON.parse(await readFile(path.join(repoRoot, 'models', 'catalog', 'wespeaker-resnet34-lm.json'), 'utf8')) as Record<string, unknown>;
  const local = {
    ...shipped,
    id: 'local-tiny',
    embeddingDim: 128,
    downloads: [{ url: `${base}/vp-test-tiny.onnx`, sha256: null, sha256Source: 'none published (test)' }],
  };
  await writeFile(path.join(catalogDir, 'local-tiny.json'), JSON.stringify(local));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(catalogDir, { recursive: true, force: true });
});

beforeEach(async () => {
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  modelsDir = tempDir('vp-cli-models-');
});

const env = () => ({ VP_MODELS_DIR: modelsDir, VP_MODEL: 'tiny' });

describe('voice-passport models', () => {
  it('add registers a local file that VP_MODEL then loads, and list shows it beside the catalogue', async () => {
    const added = await runCli(['models', 'add', testModelPath, '--convention', 'wespeaker', '--id', 'tiny'], env());
    expect([added.code, added.stderr]).toEqual([0, '']);
    expect(JSON.parse(added.stdout)).toEqual({
      id: 'tiny',
      status: 'registered',
      sha256: TEST_MODEL_SHA,
      sha256Trust: 'local-file',
      bytes: (await readFile(testModelPath)).length,
      convention: 'wespeaker',
      embeddingDim: 128,
      modelPath: path.join(modelsDir, 'tiny.onnx'),
      manifestPath: path.join(modelsDir, 'tiny.json'),
      use: 'VP_MODEL=tiny',
    });
    expect((await loadManifest(modelsDir, 'tiny')).embeddingDim).toBe(128);

    const listed = await runCli(['models', 'list'], env());
    expect(listed.code).toBe(0);
    const out = JSON.parse(listed.stdout) as {
      active: string;
      installed: { id: string; status: string; active: boolean }[];
      catalogue: { id: string; installed: boolean; embeddingDim: number; downloads: { url: string; sha256: string | null }[] }[];
    };
    expect(out.active).toBe('tiny');
    expect(out.installed.map((m) => [m.id, m.status, m.active])).toEqual([['tiny', 'ok', true]]);
    expect(out.catalogue.map((e) => [e.id, e.embeddingDim, e.installed])).toEqual([
      ['3dspeaker-eres2net-base-zh', 512, false],
      ['3dspeaker-eres2net-voxceleb', 192, false],
      ['wespeaker-campplus', 512, false],
      ['wespeaker-resnet34-lm', 256, false],
    ]);
  }, 60_000);

  it('fetch without a published sha256 prints the computed one, exits 2 and registers nothing; with --sha256 it registers', async () => {
    const refused = await runCli(['models', 'fetch', 'local-tiny', '--catalog', catalogDir], env());
    expect([refused.code, refused.stdout, cliError(refused).code]).toEqual([2, '', 'validation-failed']);
    const shown = JSON.parse(refused.stderr.trim().split('\n').at(-1) as string) as { error: { details: { sha256: string; reason: string } } };
    expect(shown.error.details).toMatchObject({ reason: 'sha256-unpublished', sha256: TEST_MODEL_SHA });
    expect(await readdir(modelsDir)).toEqual([]);

    const ok = await runCli(['models', 'fetch', 'local-tiny', '--catalog', catalogDir, '--sha256', TEST_MODEL_SHA], env());
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ id: 'local-tiny', status: 'registered', sha256Trust: 'operator', url: `${base}/vp-test-tiny.onnx`, use: 'VP_MODEL=local-tiny' });
    expect((await readdir(modelsDir)).sort()).toEqual(['local-tiny.json', 'local-tiny.onnx']);
  }, 60_000);

  it('fetch reports an HTTP 404 with exit 1 and model-invalid', async () => {
    const r = await runCli(['models', 'fetch', 'local-tiny', '--catalog', catalogDir, '--url', `${base}/gone.onnx`, '--sha256', TEST_MODEL_SHA], env());
    expect([r.code, cliError(r).code]).toEqual([1, 'model-invalid']);
    expect(cliError(r).message).toContain('answered HTTP 404');
    expect(await readdir(modelsDir)).toEqual([]);
  }, 60_000);

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('fetch stopped by %s removes its partial download and exits %i', async (signal, exitCode) => {
    let child: ChildProcess | undefined;
    const run = runCli(['models', 'fetch', 'local-tiny', '--catalog', catalogDir, '--url', `${base}/stall`, '--sha256', TEST_MODEL_SHA], env(), 25_000, (c) => (child = c));
    // Wait until the first 1000 bytes are in the hidden temporary file.
    let partial: string[] = [];
    for (let i = 0; i < 400; i++) {
      partial = (await readdir(modelsDir)).filter((f) => f.startsWith('.local-tiny.'));
      if (partial.length === 1 && (await stat(path.join(modelsDir, partial[0]!))).size === 1000) break;
      await sleep(50);
    }
    expect(partial).toEqual([expect.stringMatching(/^\.local-tiny\.\d+\.[0-9a-f-]{36}\.onnx$/)]);
    child!.kill(signal);
    const r = await run;
    expect([r.code, r.stdout, JSON.parse(r.stderr)]).toEqual([
      exitCode,
      '',
      {
        error: {
          code: 'model-invalid',
          message: `download from ${base}/stall was interrupted after 1000 bytes; the partial file was removed`,
          details: { reason: 'interrupted', url: `${base}/stall`, received: 1000 },
        },
      },
    ]);
    expect(await readdir(modelsDir)).toEqual([]);
  }, 60_000);
});

/** Argument handling in-process (a child process per case would cost seconds each on a busy machine). */
describe('models command arguments', () => {
  async function thrown(args: string[]): Promise<VoicePassportError> {
    const e = await modelsCommand(args, { modelsDir, modelId: 'tiny' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e, args.join(' ')).toBeInstanceOf(VoicePassportError);
    return e as VoicePassportError;
  }

  it.each([[[]], [['remove', 'x']], [['add', testModelPath]], [['add', testModelPath, '--convention', 'nemo']], [['add', testModelPath, '--convention', 'wespeaker', '--dim', '12.5']], [['fetch', 'x', '--max-mb', 'lots']], [['fetch']], [['list', '--verbose']]])(
    'refuses %j with validation-failed and the usage',
    async (args) => {
      const e = await thrown(args);
      expect(e.code).toBe('validation-failed');
      expect(e.message).toContain('usage: voice-passport models list');
    },
  );

  // setTimeout takes at most 2^31-1 ms (a longer deadline fired at once), a sub-second one was
  // printed as "0 s", and a cap under a byte rounded to a limit of 0.
  it.each([
    ['--timeout-seconds', '2200000', '--timeout-seconds must be a number of seconds from 1 to 2147483 (24.8 days)'],
    ['--timeout-seconds', '0.0004', '--timeout-seconds must be a number of seconds from 1 to 2147483 (24.8 days)'],
    ['--timeout-seconds', 'Infinity', '--timeout-seconds must be a number of seconds from 1 to 2147483 (24.8 days)'],
    ['--max-mb', '0.0000001', '--max-mb must be a number of MiB, at least 1'],
    ['--max-mb', '0', '--max-mb must be a number of MiB, at least 1'],
  ])('refuses fetch %s %s out of range, before anything else', async (flag, value, rule) => {
    const e = await thrown(['fetch', 'x', flag, value]);
    expect([e.code, e.message.split('\n')[0]]).toEqual(['validation-failed', `${rule}, got "${value}"`]);
    expect(e.message).toContain('usage: voice-passport models list');
    expect(await readdir(modelsDir)).toEqual([]);
  });

  it('refuses a plain-http remote address before downloading', async () => {
    const e = await thrown(['fetch', 'wespeaker-resnet34-lm', '--url', 'http://example.com/m.onnx', '--sha256', TEST_MODEL_SHA]);
    expect([e.code, e.details?.reason]).toEqual(['validation-failed', 'insecure-url']);
    expect(e.message).toContain('only https://');
    expect(await readdir(modelsDir)).toEqual([]);
  });

  it('an https --url that redirects to plain http is the server\'s fault: model-invalid (exit 1), not a usage error', async () => {
    const e = await thrown(['fetch', 'local-tiny', '--catalog', catalogDir, '--url', `${base}/to-remote-http`, '--sha256', TEST_MODEL_SHA]);
    expect([e.code, e.details]).toEqual(['model-invalid', { reason: 'insecure-redirect', url: 'http://example.com/model.onnx', from: `${base}/to-remote-http` }]);
    expect(await readdir(modelsDir)).toEqual([]);
  });

  it('add refuses the wrong convention with model-invalid and the real tensor names', async () => {
    const e = await thrown(['add', testModelPath, '--convention', '3dspeaker']);
    expect([e.code, e.details?.reason]).toEqual(['model-invalid', 'names-mismatch']);
    expect(e.message).toContain('has inputs [feats] and outputs [embs]');
    expect(await readdir(modelsDir)).toEqual([]);
  });
});
