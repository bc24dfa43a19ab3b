/**
 * Worker-thread entry of the embedding engine (src/model/engine.ts). Each worker owns one
 * onnxruntime session for the speaker model and one Silero VAD, both with an explicit
 * intra-op thread count, and analyses one request at a time: `InferenceSession.run()` is
 * synchronous native work, so it must never run on the HTTP thread.
 *
 * Everything a request can throw is caught and sent back as an ErrorShape: a bad input never
 * kills the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { VoicePassportError, isVoicePassportError, type ErrorShape } from '../errors.js';
import { SileroVad } from '../speech/vad.js';
import { analyseAudio, type AnalyseOptions, type AudioAnalysis } from './analyse.js';
import { SpeakerEmbedder } from './embedder.js';
import type { LoadedManifest } from './manifest.js';
import { createInferenceSession } from './onnx-runtime.js';

export interface WorkerInit {
  manifest: LoadedManifest;
  /** The model file's bytes, checked against the manifest's sha256 by the engine (never read again from disk). */
  modelBytes: Uint8Array;
  intraOpNumThreads: number;
  /** Honour the test-only 'crash' message (never set by the service). */
  testHooks: boolean;
}

export type ToWorker =
  | { type: 'analyse'; id: number; bytes: Uint8Array; contentType: string; maxSeconds: number; options: AnalyseOptions }
  | { type: 'close' }
  | { type: 'crash' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: ErrorShape }
  | { type: 'result'; id: number; analysis: AudioAnalysis }
  | { type: 'error'; id: number; error: ErrorShape }
  | { type: 'closed' };

/** Any thrown value as a shape that crosses threads; unknown errors keep only a generic message. */
export function toErrorShape(e: unknown, fallback: string): ErrorShape {
  if (isVoicePassportError(e)) return e.toShape();
  // Native/runtime errors may quote internals (paths, tensor contents): keep their text out of
  // responses. The engine logs nothing from here either; a crash is counted, not echoed.
  const reason = e instanceof Error ? e.name : typeof e;
  return new VoicePassportError('internal', `${fallback} (${reason})`).toShape();
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('src/model/worker.ts must run as a worker thread');
  const init = workerData as WorkerInit;
  const send = (msg: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(msg, transfer);

  let vad: SileroVad;
  let embedder: SpeakerEmbedder;
  try {
    const session = await createInferenceSession(init.modelBytes, { intraOpNumThreads: init.intraOpNumThreads });
    embedder = new SpeakerEmbedder(session, init.manifest);
    // The manifest's front-end, layout and size checked against the model once, before any caller.
    await embedder.selfCheck();
    vad = await SileroVad.create({ intraOpNumThreads: init.intraOpNumThreads });
  } catch (e) {
    const error = isVoicePassportError(e)
      ? e.toShape()
      : new VoicePassportError(
          'model-invalid',
          `cannot load model "${init.manifest.id}" from ${init.manifest.modelPath}: ${(e as Error).message}`,
        ).toShape();
    send({ type: 'init-failed', error });
    port.close();
    return;
  }

  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'analyse':
        analyseAudio({ ...msg.options, bytes: msg.bytes, contentType: msg.contentType, maxSeconds: msg.maxSeconds }, { vad, embedder }).then(
          (analysis) => {
            const buffer = analysis.embedding.buffer as ArrayBuffer;
            send({ type: 'result', id: msg.id, analysis }, [buffer]);
          },
          (e: unknown) => send({ type: 'error', id: msg.id, error: toErrorShape(e, 'the audio could not be analysed') }),
        )
          // This thread's copy of the caller's audio: wiped once analysed, as analyseAudio wipes what it decoded.
          .finally(() => msg.bytes.fill(0));
        break;
      case 'close':
        // Releases native sessions before the thread ends; the engine terminates us if this hangs.
        Promise.allSettled([vad.release(), embedder.release()]).then(() => {
          send({ type: 'closed' });
          port.close();
        });
        break;
      case 'crash':
        if (init.testHooks) process.exit(70); // ends this thread only: the engine must replace it
        break;
    }
  });
  send({ type: 'ready' });
}

void main();
