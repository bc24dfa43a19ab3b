import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { decodeFlacFile } from '../../src/audio/flac.js';
import { encodeMulaw } from '../../src/audio/g711.js';
import { simulateTelephoneChannel } from '../../src/audio/telephone.js';
import { VoicePassportError } from '../../src/errors.js';
import { analyseAudio, mapRegions } from '../../src/model/analyse.js';
import { SpeakerEmbedder } from '../../src/model/embedder.js';
import { EmbeddingEngine, type EngineOptions, type WorkerEvent } from '../../src/model/engine.js';
import { loadManifest } from '../../src/model/manifest.js';
import { createInferenceSession } from '../../src/model/onnx-runtime.js';
import { SileroVad } from '../../src/speech/vad.js';
import { speechLike } from './speech-like.js';
import { wav } from './wav.js';
import { caught, norm } from './assertions.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = path.resolve(here, '../../models');


const speech3s = wav(speechLike({ seconds: 3 }), 16000);
const base: EngineOptions = { modelsDir, modelId: 'vp-test-tiny', workers: 1, maxAudioSeconds: 12 };

const sharedDev = path.resolve(here, '../../../shared/data/dev');
const so762File = path.join(sharedDev, 'so762/0005/000050003.flac');
const fsddFile = path.join(sharedDev, 'fsdd/george/0_0.flac');
const haveShared = existsSync(so762File) && existsSync(fsddFile);
if (!haveShared) console.warn(`skipping the real-speech engine tests: ${sharedDev} is absent (it is outside the repository)`);

describe('EmbeddingEngine with the test model (one worker)', () => {
  let engine: EmbeddingEngine;

  beforeAll(async () => {
    engine = await EmbeddingEngine.start({ ...base, maxQueue: 1, testHooks: true });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('is ready with one worker and the manifest it checked', () => {
    expect(engine.ready).toBe(true);
    expect(engine.modelId).toBe('vp-test-tiny');
    expect(engine.stats()).toMatchObject({ workers: 1, busy: 0, queued: 0 });
  });

  it('analyses a WAV into a 128-dim unit embedding with quality figures', async () => {
    const a = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
    expect(a.modelId).toBe('vp-test-tiny');
    expect(a.embedding).toBeInstanceOf(Float32Array);
    expect(a.embedding).toHaveLength(128);
    expect(norm(a.embedding)).toBeCloseTo(1, 5);
    expect(a.sampleRate).toBe(16000);
    expect(a.durationSeconds).toBeCloseTo(3, 6);
    // Every fourth 250 ms syllable is a pause: roughly 2.2–2.6 s of speech after VAD padding.
    expect(a.netSpeechSeconds).toBeGreaterThan(2);
    expect(a.netSpeechSeconds).toBeLessThan(2.9);
    expect(a.clippedRatio).toBe(0);
    expect(a.snrDb === null || Number.isFinite(a.snrDb)).toBe(true);
  });

  it('gives exactly the embedding the same pipeline gives in this thread', async () => {
    const manifest = await loadManifest(modelsDir, 'vp-test-tiny');
    const session = await createInferenceSession(manifest.modelPath, { intraOpNumThreads: 1 });
    const vad = await SileroVad.create();
    try {
      const local = await analyseAudio(
        { bytes: speech3s, contentType: 'audio/wav', maxSeconds: 12 },
        { vad, embedder: new SpeakerEmbedder(session, manifest) },
      );
      const remote = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
      expect(Array.from(remote.embedding)).toEqual(Array.from(local.embedding));
      expect(remote.netSpeechSeconds).toBe(local.netSpeechSeconds);
    } finally {
      await vad.release();
      await session.release();
    }
  });

  it('same input twice → identical embedding; another voice → a different one', async () => {
    const a = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
    const b = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
    expect(Array.from(b.embedding)).toEqual(Array.from(a.embedding));
    const other = await engine.analyse({
      bytes: wav(speechLike({ seconds: 3, pitchHz: 210, formantScale: 1.2 }), 16000),
      contentType: 'audio/wav',
    });
    expect(Array.from(other.embedding)).not.toEqual(Array.from(a.embedding));
  });

  it('reads only the view it is given and never detaches the caller’s buffers', async () => {
    const big = new Uint8Array(speech3s.length + 1000).fill(0xff);
    big.set(speech3s, 500);
    const view = big.subarray(500, 500 + speech3s.length);
    const fromView = await engine.analyse({ bytes: view, contentType: 'audio/wav' });
    const fromWhole = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
    expect(Array.from(fromView.embedding)).toEqual(Array.from(fromWhole.embedding));
    expect(big.byteLength).toBe(speech3s.length + 1000);
    expect(view.byteLength).toBe(speech3s.length);
    expect(speech3s.byteLength).toBeGreaterThan(0);
  });

  it('analyses 8 kHz telephone audio (VAD at 8 kHz, model at 16 kHz) and reports the input rate', async () => {
    const a = await engine.analyse({ bytes: wav(speechLike({ seconds: 3, sampleRate: 8000 }), 8000), contentType: 'audio/wav' });
    expect(a.sampleRate).toBe(8000);
    expect(a.embedding).toHaveLength(128);
    expect(norm(a.embedding)).toBeCloseTo(1, 5);
    expect(a.netSpeechSeconds).toBeGreaterThan(1.5);
  });

  it('bad audio gives the decoder’s own typed error', async () => {
    const junk = new TextEncoder().encode('this is not a RIFF file at all, just text');
    const direct = (() => {
      try {
        decodeAudio(junk, 'audio/wav', { maxSeconds: 12 });
      } catch (e) {
        return e as VoicePassportError;
      }
      throw new Error('decodeAudio accepted junk');
    })();
    const e = await caught(engine.analyse({ bytes: junk, contentType: 'audio/wav' }));
    expect(e.toShape()).toEqual(direct.toShape());
    expect(e.code).toMatch(/^audio-/);
  });

  it('silence is insufficient-speech with the quality figures', async () => {
    const e = await caught(engine.analyse({ bytes: wav(new Float32Array(16000 * 2), 16000), contentType: 'audio/wav' }));
    expect(e.code).toBe('insufficient-speech');
    expect(e.details).toMatchObject({ netSpeechSeconds: 0, durationSeconds: 2, clippedRatio: 0 });
  });

  it('audio longer than maxAudioSeconds is refused as audio-too-long', async () => {
    const e = await caught(engine.analyse({ bytes: wav(new Float32Array(16000 * 12.5), 16000), contentType: 'audio/wav' }));
    expect(e.code).toBe('audio-too-long');
  });

  it('a full queue answers overloaded at once, with retryAfterSeconds', async () => {
    const first = engine.analyse({ bytes: speech3s, contentType: 'audio/wav' }); // runs
    const second = engine.analyse({ bytes: speech3s, contentType: 'audio/wav' }); // waits (maxQueue 1)
    const stats = engine.stats();
    expect(stats).toMatchObject({ busy: 1, queued: 1 });
    expect(stats.meanTaskMs).toBeGreaterThan(0); // earlier tests ran tasks
    const e = await caught(engine.analyse({ bytes: speech3s, contentType: 'audio/wav' }));
    expect(e.code).toBe('overloaded');
    expect(e.status).toBe(503);
    // Two tasks ahead (one running, one queued) on one worker, at the smoothed task time.
    expect(e.retryAfterSeconds).toBe(Math.max(1, Math.ceil((2 * (stats.meanTaskMs as number)) / 1000)));
    expect(e.details).toEqual({ queued: 1, workers: 1 });
    const [a, b] = await Promise.all([first, second]);
    expect(Array.from(b.embedding)).toEqual(Array.from(a.embedding));
  });

  it('never blocks the event loop while analysing', async () => {
    const tenSeconds = wav(speechLike({ seconds: 10 }), 16000);
    let worstGapMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstGapMs = Math.max(worstGapMs, now - last);
      last = now;
    }, 2);
    const started = performance.now();
    try {
      await engine.analyse({ bytes: tenSeconds, contentType: 'audio/wav' });
    } finally {
      clearInterval(timer);
    }
    const taskMs = performance.now() - started;
    // Decoding, VAD, fbank and inference of 10 s take hundreds of ms, all in the worker: the
    // main thread keeps ticking every few ms. Relative bound, so a loaded machine does not flake.
    expect(worstGapMs).toBeLessThan(Math.max(50, taskMs / 3));
  });

  it.skipIf(!haveShared)('real 16 kHz read speech (so762) as WAV: speech found, unit embedding', async () => {
    const audio = await decodeFlacFile(await readFile(so762File), { maxSeconds: 12 });
    const a = await engine.analyse({ bytes: wav(audio.samples, audio.sampleRate), contentType: 'audio/wav' });
    expect(a.sampleRate).toBe(16000);
    expect(a.durationSeconds).toBeCloseTo(audio.durationSeconds, 3);
    expect(a.netSpeechSeconds).toBeGreaterThan(0.5);
    expect(a.netSpeechSeconds).toBeLessThanOrEqual(audio.durationSeconds);
    expect(norm(a.embedding)).toBeCloseTo(1, 5);
  });

  it.skipIf(!haveShared)('real 8 kHz digits (FSDD) as WAV, and the same speech as headerless µ-law (audio/PCMU)', async () => {
    const audio = await decodeFlacFile(await readFile(fsddFile), { maxSeconds: 12 });
    expect(audio.sampleRate).toBe(8000);
    const a = await engine.analyse({ bytes: wav(audio.samples, 8000), contentType: 'audio/wav' });
    expect(a.sampleRate).toBe(8000);
    expect(a.netSpeechSeconds).toBeGreaterThan(0.1);
    const phone = simulateTelephoneChannel(audio, 'mulaw');
    const b = await engine.analyse({ bytes: encodeMulaw(phone.samples), contentType: 'audio/PCMU' });
    expect(b.sampleRate).toBe(8000);
    expect(b.netSpeechSeconds).toBeGreaterThan(0.1);
    expect(norm(b.embedding)).toBeCloseTo(1, 5);
  });

  it('survives a worker crash: the task fails with internal, a new worker takes over', async () => {
    const before = engine.stats();
    const doomed = engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
    engine.crashWorkerForTest();
    const e = await caught(doomed);
    expect(e.code).toBe('internal');
    expect(e.message).toBe('the audio analysis worker stopped unexpectedly; please retry');
    expect(engine.ready).toBe(true); // a replacement is on its way
    // Queued while the replacement loads, then served by it.
    const after = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
    expect(after.embedding).toHaveLength(128);
    expect(engine.stats()).toMatchObject({ workers: 1, crashed: before.crashed + 1 });
  });
});


describe('EmbeddingEngine lifecycle', () => {
  it('close() finishes in-flight work, fails queued work with not-ready, then refuses new work', async () => {
    const engine = await EmbeddingEngine.start({ ...base, maxQueue: 4 });
    const running = engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
    const waiting = [1, 2].map(() => engine.analyse({ bytes: speech3s, contentType: 'audio/wav' }));
    const closed = engine.close();
    expect(engine.ready).toBe(false);
    for (const w of waiting) expect((await caught(w)).code).toBe('not-ready');
    expect((await running).embedding).toHaveLength(128);
    await closed;
    expect(engine.stats()).toMatchObject({ workers: 0, busy: 0, queued: 0, completed: 1, failed: 2 });
    expect((await caught(engine.analyse({ bytes: speech3s, contentType: 'audio/wav' }))).code).toBe('not-ready');
    await engine.close(); // idempotent
  });

  it('a task that runs past taskTimeoutMs fails with internal and its worker is replaced', async () => {
    const events: WorkerEvent[] = [];
    let replaced: () => void = () => {};
    const replacedOnce = new Promise<void>((resolve) => (replaced = resolve));
    const engine = await EmbeddingEngine.start({
      ...base,
      taskTimeoutMs: 1,
      onWorkerEvent: (event) => {
        events.push(event);
        if (event.type === 'replaced') replaced();
      },
    });
    try {
      const e = await caught(engine.analyse({ bytes: speech3s, contentType: 'audio/wav' }));
      expect(e.code).toBe('internal');
      expect(e.message).toBe('the audio analysis did not finish within 1 ms');
      await replacedOnce;
      expect(events).toEqual([{ type: 'timed-out', timeoutMs: 1 }, { type: 'replaced' }]);
      expect(engine.stats()).toMatchObject({ workers: 1, busy: 0, crashed: 1, failed: 1 });
    } finally {
      await engine.close();
    }
    expect(engine.stats().workers).toBe(0);
  });

  it('refuses to start when the model file does not match its sha256', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vp-engine-'));
    try {
      await writeFile(path.join(dir, 'vp-test-tiny.onnx'), 'not the model');
      await copyFile(path.join(modelsDir, 'vp-test-tiny.json'), path.join(dir, 'vp-test-tiny.json'));
      const e = await caught(EmbeddingEngine.start({ ...base, modelsDir: dir }));
      expect(e.code).toBe('model-invalid');
      expect(e.message).toMatch(/refusing to start/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start when the manifest names tensors the model lacks (checked inside the worker)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vp-engine-'));
    try {
      const manifest = JSON.parse(await readFile(path.join(modelsDir, 'vp-test-tiny.json'), 'utf8')) as Record<string, unknown>;
      await copyFile(path.join(modelsDir, 'vp-test-tiny.onnx'), path.join(dir, 'vp-test-tiny.onnx'));
      await writeFile(path.join(dir, 'vp-test-tiny.json'), JSON.stringify({ ...manifest, input: { name: 'feature', layout: 'BTF' } }));
      const e = await caught(EmbeddingEngine.start({ ...base, modelsDir: dir }));
      expect(e.code).toBe('model-invalid');
      expect(e.message).toBe('model "vp-test-tiny" has inputs [feats], but its manifest names input "feature"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['embeddingDim', { embeddingDim: 256 }, /returned an output of shape \[1, 128\], but its manifest says embeddingDim 256/],
    ['numMelBins', { frontEnd: { numMelBins: 64 } }, /^model "vp-test-tiny" fails on its manifest's input \(64 mel bins, layout BTF\): /],
  ] as const)('refuses to start when the manifest\'s %s does not fit the model (a test embedding in each worker)', async (_name, patch, message) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vp-engine-'));
    try {
      const manifest = JSON.parse(await readFile(path.join(modelsDir, 'vp-test-tiny.json'), 'utf8')) as Record<string, any>;
      await copyFile(path.join(modelsDir, 'vp-test-tiny.onnx'), path.join(dir, 'vp-test-tiny.onnx'));
      const patched = { ...manifest, ...patch, ...('frontEnd' in patch ? { frontEnd: { ...manifest.frontEnd, ...patch.frontEnd } } : {}) };
      await writeFile(path.join(dir, 'vp-test-tiny.json'), JSON.stringify(patched));
      const e = await caught(EmbeddingEngine.start({ ...base, modelsDir: dir }));
      expect(e.code).toBe('model-invalid');
      expect(e.message).toMatch(message);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a replacement worker runs the model the engine started with, whatever the file holds by then', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vp-engine-'));
    const replaced: Array<() => void> = [];
    const engine = await (async () => {
      await copyFile(path.join(modelsDir, 'vp-test-tiny.onnx'), path.join(dir, 'vp-test-tiny.onnx'));
      await copyFile(path.join(modelsDir, 'vp-test-tiny.json'), path.join(dir, 'vp-test-tiny.json'));
      return EmbeddingEngine.start({ ...base, modelsDir: dir, testHooks: true, onWorkerEvent: (e) => e.type === 'replaced' && replaced.shift()?.() });
    })();
    try {
      const before = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
      await writeFile(path.join(dir, 'vp-test-tiny.onnx'), 'garbage');
      const back = new Promise<void>((resolve) => replaced.push(resolve));
      engine.crashWorkerForTest();
      await back;
      const after = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
      expect(after.embedding).toEqual(before.embedding);
    } finally {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a replacement that fails to start is tried again, and the pool fills again', async () => {
    const events: WorkerEvent[] = [];
    const engine = await EmbeddingEngine.start({ ...base, testHooks: true, onWorkerEvent: (e) => events.push(e) });
    try {
      // The next start fails (as one might for want of memory); the one after succeeds.
      const spawn = (engine as unknown as { spawnWorker: () => Promise<unknown> }).spawnWorker.bind(engine);
      let failures = 1;
      (engine as unknown as { spawnWorker: () => Promise<unknown> }).spawnWorker = () =>
        failures-- > 0 ? Promise.reject(new VoicePassportError('model-invalid', 'no memory for the session')) : spawn();
      engine.crashWorkerForTest();
      await expect.poll(() => events.map((e) => e.type), { timeout: 5000 }).toEqual(['crashed', 'replacement-failed', 'replaced']);
      expect(events[1]).toMatchObject({ retryInMs: 1000, error: { code: 'model-invalid' } });
      expect(engine.ready).toBe(true);
      expect((await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' })).embedding).toHaveLength(128);
    } finally {
      await engine.close();
    }
  });

  it('once a replacement failed and no worker is left, it is not ready again until a worker runs (no flapping during retries)', async () => {
    const events: WorkerEvent[] = [];
    const engine = await EmbeddingEngine.start({ ...base, testHooks: true, onWorkerEvent: (e) => events.push(e) });
    try {
      const spawn = (engine as unknown as { spawnWorker: () => Promise<unknown> }).spawnWorker.bind(engine);
      let failures = 1;
      const loads: boolean[] = []; // engine.ready while each start attempt loads
      (engine as unknown as { spawnWorker: () => Promise<unknown> }).spawnWorker = async () => {
        await new Promise((resolve) => setTimeout(resolve, 50)); // loading the model
        loads.push(engine.ready);
        if (failures-- > 0) throw new VoicePassportError('model-invalid', 'no memory for the session');
        return spawn();
      };
      engine.crashWorkerForTest();
      await expect.poll(() => events.map((e) => e.type), { timeout: 8000, interval: 20 }).toContain('replaced');
      // The first replacement is a restart in progress (ready); the retry after it failed is not.
      expect(loads).toEqual([true, false]);
      expect(engine.ready).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('a queued request is analysed as it was when queued, even if the caller reuses its buffer meanwhile', async () => {
    const engine = await EmbeddingEngine.start({ ...base, maxQueue: 4 });
    try {
      const expected = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
      const long = engine.analyse({ bytes: wav(speechLike({ seconds: 10 }), 16000), contentType: 'audio/wav' });
      // A view into a larger buffer, queued behind the long one, then wiped by its owner.
      const owner = new Uint8Array(speech3s.length + 100);
      owner.set(speech3s, 50);
      const queued = engine.analyse({ bytes: owner.subarray(50, 50 + speech3s.length), contentType: 'audio/wav' });
      expect(engine.stats().queued).toBe(1);
      owner.fill(0);
      expect((await queued).embedding).toEqual(expected.embedding);
      await long;
    } finally {
      await engine.close();
    }
  });

  it('a Node Buffer (what express.raw gives) is copied, never shared or detached, queued or not', async () => {
    const engine = await EmbeddingEngine.start({ ...base, maxQueue: 4 });
    try {
      const expected = await engine.analyse({ bytes: speech3s, contentType: 'audio/wav' });
      // A view into a Buffer: Buffer#slice() is a view, not a copy, so it must not be what is transferred.
      const parent = Buffer.alloc(speech3s.length + 100);
      parent.set(speech3s, 50);
      const direct = await engine.analyse({ bytes: parent.subarray(50, 50 + speech3s.length), contentType: 'audio/wav' });
      expect(direct.embedding).toEqual(expected.embedding);
      expect(parent.byteLength).toBe(speech3s.length + 100);

      const long = engine.analyse({ bytes: wav(speechLike({ seconds: 10 }), 16000), contentType: 'audio/wav' });
      const body = Buffer.from(speech3s);
      const queued = engine.analyse({ bytes: body, contentType: 'audio/wav' });
      expect(engine.stats().queued).toBe(1);
      body.fill(0); // the caller reuses its buffer while the task waits
      expect((await queued).embedding).toEqual(expected.embedding);
      expect(body.byteLength).toBe(speech3s.length); // still the caller's, not detached by the transfer
      await long;
    } finally {
      await engine.close();
    }
  });

  it('a start that fails leaves no worker running, not even the replacement of one that died while the others loaded', async () => {
    type SlotLike = { worker: { once: (e: 'exit', f: () => void) => void; postMessage: (m: unknown) => void }; exited: boolean };
    const proto = EmbeddingEngine.prototype as unknown as { spawnWorker: () => Promise<SlotLike> };
    const spawn = proto.spawnWorker;
    const spawned: SlotLike[] = [];
    let firstDied: () => void = () => {};
    const died = new Promise<void>((resolve) => (firstDied = resolve));
    let calls = 0;
    // Worker 1 loads, then dies (replaced at once); worker 2 fails to load once the replacement is on its way.
    proto.spawnWorker = async function (this: unknown) {
      const n = calls++;
      if (n === 1) {
        await died;
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new VoicePassportError('model-invalid', 'no memory for the session');
      }
      const slot = await spawn.call(this);
      spawned.push(slot);
      if (n === 0) {
        slot.worker.once('exit', () => firstDied());
        slot.worker.postMessage({ type: 'crash' });
      }
      return slot;
    };
    try {
      const e = await caught(EmbeddingEngine.start({ ...base, workers: 2, testHooks: true }));
      expect(e.message).toBe('no memory for the session');
      // The replacement (spawned third) must not outlive the failed start: it would keep the process alive.
      await expect.poll(() => spawned.map((s) => s.exited), { timeout: 3000 }).toEqual([true, true]);
    } finally {
      proto.spawnWorker = spawn;
    }
  });

  it('refuses nonsense options with config-invalid', async () => {
    const e = await caught(EmbeddingEngine.start({ ...base, workers: 0, maxQueue: -1 }));
    expect(e.code).toBe('config-invalid');
    expect(e.message).toBe('invalid embedding engine options: workers must be an integer ≥ 1, got 0; maxQueue must be an integer ≥ 0, got -1');
  });
});

describe('mapRegions', () => {
  it('scales region edges outwards between rates without overlap', () => {
    expect(mapRegions([{ start: 100, end: 201 }], 8000, 16000, 10_000)).toEqual([{ start: 200, end: 402 }]);
    expect(mapRegions([{ start: 101, end: 203 }], 16000, 8000, 10_000)).toEqual([{ start: 50, end: 102 }]);
    // Touching regions stay disjoint after rounding outwards.
    expect(
      mapRegions(
        [
          { start: 0, end: 3 },
          { start: 3, end: 9 },
        ],
        16000,
        8000,
        100,
      ),
    ).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 5 },
    ]);
    // Clamped to the audio.
    expect(mapRegions([{ start: 90, end: 120 }], 16000, 16000, 100)).toEqual([{ start: 90, end: 100 }]);
  });
});
