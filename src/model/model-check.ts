/**
 * Checks an ONNX file against the manifest that is about to describe it, before it is registered:
 * onnxruntime loads it, the manifest's input/output names exist, a dummy feature matrix runs and
 * gives an embedding of the expected size (or tells the size, when the caller does not know it),
 * and a full pass through the service's own front-end and embedder gives a finite embedding.
 * A model that passes here is one the service can start with.
 */
import { VoicePassportError } from '../errors.js';
import { torchaudioFbankDefaults } from '../features/options.js';
import { SpeakerEmbedder } from './embedder.js';
import type { ModelManifest } from './manifest.js';
import { createInferenceSession, type InferenceSessionLike } from './onnx-runtime.js';

export type ModelCheckFailure = 'not-loadable' | 'names-mismatch' | 'dim-mismatch' | 'not-runnable';

/** The manifest being checked; `embeddingDim` undefined means "find it out". */
export type ManifestToCheck = Omit<ModelManifest, 'embeddingDim'> & { embeddingDim?: number | undefined };

export interface ModelCheckResult {
  inputNames: string[];
  outputNames: string[];
  embeddingDim: number;
}

/** Frames of the dummy input: a few seconds' worth, above any network's minimum. */
const probeFrames = 200;

function fail(reason: ModelCheckFailure, message: string, details: Record<string, unknown> = {}): VoicePassportError {
  return new VoicePassportError('model-invalid', message, { reason, ...details });
}

/**
 * Who checks decides what the operator can do about wrong tensor names: `models add` has
 * --convention and --input-name/--output-name; `models fetch` has none of them (the names come
 * from the catalogue entry).
 */
export type ModelCheckCaller = 'add' | 'fetch';

function namesHint(manifest: ManifestToCheck, inputNames: string[], outputNames: string[], caller: ModelCheckCaller): string {
  const expected = `input "${manifest.input.name}" and output "${manifest.output.name}"`;
  if (caller === 'add') {
    return `the ${manifest.convention} convention expects ${expected}; use the other --convention, or --input-name/--output-name for an export with its own names`;
  }
  const only = (names: string[]) => (names.length === 1 ? names[0]! : 'NAME');
  const convention = manifest.convention === 'custom' ? 'wespeaker|3dspeaker' : manifest.convention;
  return (
    `its catalogue entry expects ${expected}: the catalogue's names do not match this file, so it was not registered. ` +
    'To use the file anyway, download it yourself and register it with ' +
    `\`voice-passport models add FILE --convention ${convention} --input-name ${only(inputNames)} --output-name ${only(outputNames)}\``
  );
}

export async function checkModel(modelPath: string, manifest: ManifestToCheck, caller: ModelCheckCaller): Promise<ModelCheckResult> {
  let session: InferenceSessionLike;
  try {
    // One thread: this runs once, in the CLI, on a machine that may be serving traffic.
    session = await createInferenceSession(modelPath, { intraOpNumThreads: 1 });
  } catch (e) {
    throw fail('not-loadable', `onnxruntime cannot load ${modelPath} as an ONNX model: ${(e as Error).message}`);
  }
  try {
    const inputNames = [...session.inputNames];
    const outputNames = [...session.outputNames];
    if (!inputNames.includes(manifest.input.name) || !outputNames.includes(manifest.output.name)) {
      throw fail(
        'names-mismatch',
        `model "${manifest.id}" has inputs [${inputNames.join(', ')}] and outputs [${outputNames.join(', ')}], but ${namesHint(manifest, inputNames, outputNames, caller)}`,
        { inputNames, outputNames, expectedInput: manifest.input.name, expectedOutput: manifest.output.name },
      );
    }

    const bins = manifest.frontEnd.numMelBins ?? torchaudioFbankDefaults.numMelBins;
    const frames = Math.max(probeFrames, manifest.minFrames);
    const data = new Float32Array(frames * bins);
    // Deterministic, zero-mean-ish values of the size of normalised log-mel features.
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.7) * 2;
    const dims = manifest.input.layout === 'BTF' ? [1, frames, bins] : [1, bins, frames];
    let outputDims: readonly number[];
    let outputLength: number;
    try {
      const out = (await session.run({ [manifest.input.name]: { type: 'float32', data, dims } }))[manifest.output.name];
      if (out === undefined) throw new Error(`no output "${manifest.output.name}"`);
      outputDims = out.dims;
      outputLength = out.data.length;
    } catch (e) {
      if (e instanceof VoicePassportError) throw e;
      throw fail(
        'not-runnable',
        `model "${manifest.id}" fails on a [${dims.join(', ')}] ${manifest.input.layout} input of ${bins} mel bins: ${(e as Error).message}`,
        { inputDims: dims },
      );
    }
    if (outputLength < 2 || (outputDims.length > 1 && outputDims[0] !== 1)) {
      throw fail('not-runnable', `model "${manifest.id}" returned output "${manifest.output.name}" of shape [${outputDims.join(', ')}] for a batch of one; expected [1, D]`, { outputDims });
    }
    if (manifest.embeddingDim !== undefined && manifest.embeddingDim !== outputLength) {
      throw fail(
        'dim-mismatch',
        `model "${manifest.id}" gives ${outputLength}-dimensional embeddings (shape [${outputDims.join(', ')}]), but ${manifest.embeddingDim} was expected`,
        { embeddingDim: outputLength, expected: manifest.embeddingDim },
      );
    }

    // End to end through the service's own path: fbank with the manifest's options, normalisation,
    // layout, network, L2 normalisation. Catches front-end options the network cannot take.
    const complete = { ...manifest, embeddingDim: outputLength, fbank: { ...torchaudioFbankDefaults, ...manifest.frontEnd } };
    const samples = new Float32Array(Math.round(manifest.sampleRate * 1.5));
    for (let i = 0; i < samples.length; i++) {
      const t = i / manifest.sampleRate;
      samples[i] = 0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.1 * Math.sin(2 * Math.PI * 1330 * t + Math.sin(i));
    }
    try {
      const embedding = await new SpeakerEmbedder(session, complete).embed(samples);
      if (embedding.length !== outputLength) throw new Error(`embedding of ${embedding.length} values`);
    } catch (e) {
      throw fail('not-runnable', `model "${manifest.id}" fails on 1.5 s of synthetic audio through the service's front-end: ${(e as Error).message}`);
    }
    return { inputNames, outputNames, embeddingDim: outputLength };
  } finally {
    await session.release();
  }
}
