/**
 * `voice-passport embed <audio|folder>...` and `compare <a> <b>`: the engine the server uses,
 * loaded once, so CLI figures are the service's figures.
 */
import type { Config } from '../config.js';
import { VoicePassportError } from '../errors.js';
import { parseCliArgs } from './args.js';
import type { AudioAnalysis, EmbeddingEngine } from '../model/engine.js';
import { audioExtensions, engineInputForFile, expandAudioPaths } from './audio-file.js';
import { startCliEngine } from './engine.js';
import { errorShapeOf, printJson, toFixedArray } from './output.js';

const EMBED_USAGE = 'usage: voice-passport embed <audio|folder>... [--model ID]';
const COMPARE_USAGE = 'usage: voice-passport compare <audioA> <audioB> [--model ID]';

async function analyseFile(engine: EmbeddingEngine, file: string, maxSeconds: number): Promise<AudioAnalysis> {
  return engine.analyse(await engineInputForFile(file, maxSeconds));
}

function round(n: number | null, digits = 3): number | null {
  return n === null ? null : Number(n.toFixed(digits));
}

export async function embedCommand(argv: string[], config: Readonly<Config>): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, { model: { type: 'string' } }, EMBED_USAGE);
  if (positionals.length === 0) throw new VoicePassportError('validation-failed', EMBED_USAGE);
  const modelId = values.model ?? config.modelId;
  const files = await expandAudioPaths(positionals);
  // Folders with nothing to embed (a mistyped data set path) would otherwise print nothing and exit 0.
  if (files.length === 0) {
    throw new VoicePassportError('validation-failed', `No audio files (${audioExtensions.join(', ')}) under ${positionals.join(', ')}\n${EMBED_USAGE}`);
  }
  const engine = await startCliEngine(config, modelId, Math.min(config.workers, Math.max(1, files.length)));
  let failures = 0;
  try {
    // Results print in input order; a bounded look-ahead keeps every worker busy without
    // queueing a whole data set in memory.
    const inFlight = new Map<number, Promise<void>>();
    const finished = new Map<number, object>();
    let next = 0;
    const emit = (i: number, line: object) => {
      finished.set(i, line);
      for (let ready = finished.get(next); ready !== undefined; ready = finished.get(next)) {
        printJson(ready);
        finished.delete(next);
        next++;
      }
    };
    for (let i = 0; i < files.length; i++) {
      const file = files[i] as string;
      const task = analyseFile(engine, file, config.maxAudioSeconds).then(
        (a) =>
          emit(i, {
            file,
            model: a.modelId,
            dim: a.embedding.length,
            embedding: toFixedArray(a.embedding),
            netSpeechSeconds: round(a.netSpeechSeconds),
            snrDb: round(a.snrDb, 1),
            clippedRatio: round(a.clippedRatio, 6),
          }),
        (e: unknown) => {
          failures++;
          emit(i, { file, error: errorShapeOf(e) });
        },
      );
      inFlight.set(i, task.finally(() => inFlight.delete(i)));
      if (inFlight.size >= Math.max(1, engine.stats().workers) * 2) await Promise.race(inFlight.values());
    }
    await Promise.all(inFlight.values());
  } finally {
    await engine.close();
  }
  return failures === 0 ? 0 : 1;
}

export async function compareCommand(argv: string[], config: Readonly<Config>): Promise<void> {
  const { values, positionals } = parseCliArgs(argv, { model: { type: 'string' } }, COMPARE_USAGE);
  if (positionals.length !== 2) throw new VoicePassportError('validation-failed', COMPARE_USAGE);
  const engine = await startCliEngine(config, values.model ?? config.modelId, 2);
  try {
    const [a, b] = await Promise.all(positionals.map((f) => analyseFile(engine, f, config.maxAudioSeconds)));
    if (!a || !b) throw new VoicePassportError('internal', 'missing analysis');
    let cosine = 0;
    for (let i = 0; i < a.embedding.length; i++) cosine += (a.embedding[i] as number) * (b.embedding[i] as number);
    printJson({ cosine: Number(cosine.toFixed(6)), netSpeechSeconds: [round(a.netSpeechSeconds), round(b.netSpeechSeconds)] });
  } finally {
    await engine.close();
  }
}
