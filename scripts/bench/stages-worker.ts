/**
 * Worker for the per-stage breakdown (stages.ts): the steps of src/model/analyse.ts, timed one by
 * one on the same upload, in a worker thread like the engine's (sessions are never created on the
 * main thread). For a 16 kHz input the VAD and the model share one resampled copy, as in analyseAudio.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeAudio } from '../../src/audio/decode.js';
import { computeFbank } from '../../src/features/fbank.js';
import { mapRegions } from '../../src/model/analyse.js';
import { SpeakerEmbedder } from '../../src/model/embedder.js';
import type { LoadedManifest } from '../../src/model/manifest.js';
import { createInferenceSession } from '../../src/model/onnx-runtime.js';
import { measureQuality, speechOnly } from '../../src/speech/quality.js';
import { SileroVad } from '../../src/speech/vad.js';

export interface StagesInit {
  manifest: LoadedManifest;
  intraOpNumThreads: number;
  bytes: Uint8Array;
  contentType: string;
  maxSeconds: number;
  warmupRuns: number;
  runs: number;
}

export type StageName = 'decode' | 'vad' | 'quality' | 'fbank' | 'embed';
export type StagesFromWorker = { type: 'done'; ms: Record<StageName, number[]> } | { type: 'failed'; message: string };

const port = parentPort;
if (port === null) throw new Error('stages-worker.ts must run as a worker thread');
const init = workerData as StagesInit;

async function main(): Promise<void> {
  const { manifest } = init;
  const embedder = new SpeakerEmbedder(await createInferenceSession(manifest.modelPath, { intraOpNumThreads: init.intraOpNumThreads }), manifest);
  const vad = await SileroVad.create({ intraOpNumThreads: init.intraOpNumThreads });
  const ms: Record<StageName, number[]> = { decode: [], vad: [], quality: [], fbank: [], embed: [] };
  for (let i = 0; i < init.warmupRuns + init.runs; i++) {
    const keep = i >= init.warmupRuns;
    const record = (stage: StageName, t0: number) => {
      if (keep) ms[stage].push(performance.now() - t0);
    };
    let t = performance.now();
    const decoded = decodeAudio(init.bytes, init.contentType, { maxSeconds: init.maxSeconds });
    record('decode', t);
    if (decoded.sampleRate !== manifest.sampleRate || manifest.sampleRate !== 16000) {
      throw new Error(`the stage breakdown expects 16 kHz audio and a 16 kHz model, got ${decoded.sampleRate} and ${manifest.sampleRate}`);
    }
    t = performance.now();
    const regions = await vad.detect(decoded);
    record('vad', t);
    t = performance.now();
    measureQuality(decoded, mapRegions(regions, 16000, 16000, decoded.samples.length));
    const speech = speechOnly(decoded, regions);
    record('quality', t);
    // Timed alone for the breakdown; embed() below computes it again, so embed − fbank ≈ the network.
    t = performance.now();
    computeFbank(speech, manifest.sampleRate, manifest.fbank, manifest.sampleScale);
    record('fbank', t);
    t = performance.now();
    await embedder.embed(speech);
    record('embed', t);
  }
  port!.postMessage({ type: 'done', ms } satisfies StagesFromWorker);
  await Promise.allSettled([vad.release(), embedder.release()]);
}

main().catch((e: unknown) => port.postMessage({ type: 'failed', message: (e as Error).message } satisfies StagesFromWorker));
