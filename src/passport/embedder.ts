/**
 * What the use cases need from the model side: one call from request audio to quality figures and a
 * speaker embedding. The service passes the worker-thread EmbeddingEngine (src/model/engine.ts);
 * tests pass a fake, so the privacy rules can be checked without a model (e.g. "the embedder is
 * never called without consent", GDPR Art. 9(2)(a)).
 */
import { isVoicePassportError } from '../errors.js';
import type { AudioAnalysis } from '../model/analyse.js';

export type { AudioAnalysis };

/** Request audio exactly as received: never stored, logged or written to a file (Art. 5(1)(c)). */
export interface AudioInput {
  bytes: Uint8Array;
  contentType: string;
}

export interface Embedder {
  /** Rejects with VoicePassportError: audio-* codes, `insufficient-speech`, `overloaded` (+ retryAfterSeconds), `not-ready`. */
  analyse(req: AudioInput): Promise<AudioAnalysis>;
  /** The model this embedder runs; stored with every voiceprint so a model change is detected. */
  readonly modelId: string;
}

/**
 * Reads the request audio. Use cases call it only once consent (and, for verification, a voiceprint
 * and the attempt limit) has been checked, so audio of a subject without consent is not even read.
 */
export type ReadAudio = () => Promise<AudioInput>;

/** An analysis in which no speech was found has quality figures but no embedding. */
export type AnalysisOrNoSpeech = Omit<AudioAnalysis, 'embedding'> & { embedding: Float32Array | null };

/**
 * `embedder.analyse`, with "no speech at all" (`insufficient-speech`) turned into an analysis without
 * an embedding instead of an error: enrolment answers it with feedback and verification with
 * "inconclusive", both with the quality figures and the channel (from the audio's rate) the error
 * carries. Every other error passes through.
 */
export async function analyseOrNoSpeech(embedder: Embedder, audio: AudioInput): Promise<AnalysisOrNoSpeech> {
  try {
    return await embedder.analyse(audio);
  } catch (e) {
    if (!isVoicePassportError(e) || e.code !== 'insufficient-speech') throw e;
    const d = e.details ?? {};
    const num = (k: string) => (typeof d[k] === 'number' && Number.isFinite(d[k]) ? (d[k] as number) : 0);
    return {
      embedding: null,
      modelId: embedder.modelId,
      netSpeechSeconds: num('netSpeechSeconds'),
      snrDb: typeof d.snrDb === 'number' ? d.snrDb : null,
      clippedRatio: num('clippedRatio'),
      durationSeconds: num('durationSeconds'),
      sampleRate: num('sampleRate'),
    };
  }
}
