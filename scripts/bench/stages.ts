/**
 * Where one request's time goes: decode, Silero VAD, quality figures + speech-only cut, fbank,
 * and the network (embed = fbank + normalisation + ONNX + L2), each timed in one worker thread,
 * one request at a time. The sum is close to the engine's one-at-a-time latency minus the
 * thread hand-off.
 */
import type { LoadedManifest } from '../../src/model/manifest.js';
import { round, summarise, type Summary } from './stats.js';
import type { StageName, StagesFromWorker, StagesInit } from './stages-worker.js';
import { startTsWorker } from './ts-worker.js';

export type StagesResult = Record<StageName | 'network', Summary> & { runs: number };

export async function measureStages(
  manifest: LoadedManifest,
  upload: { bytes: Uint8Array; contentType: string },
  opts: { intraOpNumThreads: number; maxSeconds: number; warmupRuns: number; runs: number },
): Promise<StagesResult> {
  const init: StagesInit = { manifest, intraOpNumThreads: opts.intraOpNumThreads, bytes: upload.bytes, contentType: upload.contentType, maxSeconds: opts.maxSeconds, warmupRuns: opts.warmupRuns, runs: opts.runs };
  const worker = startTsWorker(new URL('./stages-worker.ts', import.meta.url), init);
  try {
    const msg = await new Promise<StagesFromWorker>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (msg.type === 'failed') throw new Error(`stage breakdown failed: ${msg.message}`);
    const { ms } = msg;
    const network = ms.embed.map((e, i) => Math.max(0, e - (ms.fbank[i] as number)));
    return {
      runs: opts.runs,
      decode: summarise(ms.decode),
      vad: summarise(ms.vad),
      quality: summarise(ms.quality),
      fbank: summarise(ms.fbank),
      embed: summarise(ms.embed),
      network: summarise(network.map((x) => round(x))),
    };
  } finally {
    await worker.terminate();
  }
}
