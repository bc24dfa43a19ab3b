/**
 * A model is described by `models/<id>.json`. The manifest carries everything needed to turn
 * audio into the exact features the network was trained on, so published models (WeSpeaker,
 * 3D-Speaker) drop in by writing a manifest, not code.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import { torchaudioFbankDefaults, type FbankOptions } from '../features/options.js';

const fbankOptionsSchema = z
  .object({
    numMelBins: z.number().int().min(1).max(512),
    frameLength: z.number().positive().max(200),
    frameShift: z.number().positive().max(200),
    dither: z.number().min(0),
    windowType: z.enum(['povey', 'hamming', 'hanning', 'rectangular', 'blackman']),
    preemphasisCoefficient: z.number().min(0).max(1),
    removeDcOffset: z.boolean(),
    roundToPowerOfTwo: z.boolean(),
    lowFreq: z.number().min(0),
    highFreq: z.number(),
    snipEdges: z.boolean(),
    useEnergy: z.boolean(),
    energyFloor: z.number().min(0),
    rawEnergy: z.boolean(),
    useLogFbank: z.boolean(),
    usePower: z.boolean(),
    blackmanCoeff: z.number(),
  })
  .strict()
  .partial();

/** One measured operating point of the raw cosine: accept when cosine ≥ threshold (src/scoring/calibration.ts). */
const operatingPointSchema = z.object({ threshold: z.number(), fmr: z.number().min(0).max(1), fnmr: z.number().min(0).max(1) }).strict();

/**
 * What `voice-passport calibrate` measured for one channel on the dev trials: the logistic map
 * llr = a·cosine + b (natural-log likelihood ratio), the trial counts behind it, the operating
 * table that turns a target FMR into a cosine threshold, and the EER by test duration that sets
 * the policies' minimum net speech. Only a and b are required (a hand-written calibration).
 */
const channelCalibrationSchema = z
  .object({
    /** > 0: the LLR must rise with the cosine, or "score ≥ threshold" would mean the opposite on the two scales. */
    a: z.number().positive(),
    b: z.number(),
    trials: z.object({ target: z.number().int().min(0), nonTarget: z.number().int().min(0), speakers: z.number().int().min(0).optional() }).strict().optional(),
    /** Cllr in bits of the raw cosine read as an LLR, and of the calibrated LLR, on the same trials. */
    cllr: z.object({ raw: z.number().min(0), calibrated: z.number().min(0) }).strict().optional(),
    eer: z.number().min(0).max(1).optional(),
    /** Ascending thresholds, non-increasing FMR, ending with the FMR-0 row. */
    operatingPoints: z
      .array(operatingPointSchema)
      .min(1)
      .max(1000)
      .refine((rows) => rows.every((r, i) => i === 0 || (r.threshold > rows[i - 1]!.threshold && r.fmr <= rows[i - 1]!.fmr)), 'operating points must have ascending thresholds and non-increasing FMR')
      .refine((rows) => rows.at(-1)?.fmr === 0, 'the last operating point must have FMR 0 (above every non-target score)')
      .optional(),
    durations: z
      .array(z.object({ seconds: z.number().positive(), eer: z.number().min(0).max(1), targetTrials: z.number().int().min(0), nonTargetTrials: z.number().int().min(0) }).strict())
      .max(32)
      .optional(),
    /** Effective target prior of the fit's weighted cross-entropy (0.5: Brümmer's Cllr). */
    effectivePrior: z.number().gt(0).lt(1).optional(),
    /**
     * Where the dev trials came from: folders, how trials were formed, when, and the sha256 of the
     * ONNX file that scored them (a calibration is only valid for those exact weights).
     */
    data: z
      .object({ sets: z.array(z.string()), protocol: z.string(), createdAt: z.string(), modelSha256: z.string().regex(/^[0-9a-f]{64}$/).optional() })
      .strict()
      .optional(),
  })
  .strict();

/** Logistic calibration per channel; telephone (8 kHz input) falls back to wideband when absent. */
const calibrationSchema = z
  .object({
    method: z.literal('logistic'),
    wideband: channelCalibrationSchema,
    telephone: channelCalibrationSchema.optional(),
    /** Legacy: trial counts for the whole calibration (per channel: `trials` of each channel). */
    trials: z.object({ target: z.number().int(), nonTarget: z.number().int() }).strict().optional(),
  })
  .strict();

export type ModelCalibration = z.infer<typeof calibrationSchema>;
export type ChannelCalibration = z.infer<typeof channelCalibrationSchema>;

export const manifestSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    description: z.string().default(''),
    convention: z.enum(['wespeaker', '3dspeaker', 'custom']),
    /** ONNX file, relative to the manifest's folder. */
    file: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    sampleRate: z.number().int().min(8000).max(48000),
    frontEnd: fbankOptionsSchema,
    sampleScale: z.enum(['int16', 'unit']),
    normalisation: z.enum(['none', 'mean', 'mean-variance']),
    input: z.object({ name: z.string(), layout: z.enum(['BTF', 'BFT']) }).strict(),
    output: z.object({ name: z.string() }).strict(),
    embeddingDim: z.number().int().min(2).max(4096),
    /** Long audio: one pass over the whole utterance, or windows whose embeddings are averaged. */
    segmentation: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('whole') }).strict(),
        z.object({ mode: z.literal('windows'), windowSeconds: z.number().positive(), hopSeconds: z.number().positive() }).strict(),
      ])
      .default({ mode: 'whole' }),
    /** Fewest feature frames the network accepts (shorter speech is padded by repetition). */
    minFrames: z.number().int().min(1).default(20),
    calibration: calibrationSchema.optional(),
    source: z
      .object({ url: z.string().optional(), licence: z.string().optional(), citation: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict();

export type ModelManifest = z.infer<typeof manifestSchema>;

export interface LoadedManifest extends ModelManifest {
  /** Absolute path of the ONNX file. */
  modelPath: string;
  /** Front-end options with torchaudio defaults filled in. */
  fbank: FbankOptions;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Reads `<modelsDir>/<id>.json`, validates it, and checks the ONNX file's sha256: a service that
 * scored voices with a silently swapped model would make every stored threshold meaningless.
 */
export async function loadManifest(modelsDir: string, id: string): Promise<LoadedManifest> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
    throw new VoicePassportError('model-invalid', `model id "${id}" is not a valid id`);
  }
  const manifestPath = path.resolve(modelsDir, `${id}.json`);
  let raw: string;
  try {
    raw = await readFile(manifestPath, 'utf8');
  } catch {
    throw new VoicePassportError('model-invalid', `no manifest for model "${id}" at ${manifestPath}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new VoicePassportError('model-invalid', `manifest ${manifestPath} is not JSON: ${(e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new VoicePassportError('model-invalid', `manifest ${manifestPath} is invalid: ${issues}`);
  }
  const manifest = parsed.data;
  // Thresholds measured on other weights would silently change every policy's false match rate.
  for (const channel of ['wideband', 'telephone'] as const) {
    const fitted = manifest.calibration?.[channel]?.data?.modelSha256;
    if (fitted !== undefined && fitted !== manifest.sha256) {
      throw new VoicePassportError(
        'model-invalid',
        `manifest ${manifestPath}: the ${channel} calibration was fitted on model file sha256 ${fitted}, not this manifest's ${manifest.sha256}; recalibrate (voice-passport calibrate --write)`,
      );
    }
  }
  if (manifest.id !== id) {
    throw new VoicePassportError('model-invalid', `manifest ${manifestPath} has id "${manifest.id}", expected "${id}"`);
  }
  const modelPath = path.resolve(path.dirname(manifestPath), manifest.file);
  let actual: string;
  try {
    actual = await sha256OfFile(modelPath);
  } catch {
    throw new VoicePassportError('model-invalid', `model file ${modelPath} for "${id}" cannot be read`);
  }
  if (actual !== manifest.sha256) {
    throw new VoicePassportError(
      'model-invalid',
      `model file ${modelPath} has sha256 ${actual}, but manifest "${id}" expects ${manifest.sha256}; refusing to start`,
    );
  }
  return { ...manifest, modelPath, fbank: { ...torchaudioFbankDefaults, ...manifest.frontEnd } };
}
