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
import { readCohortFile, type LoadedCohort } from './cohort-file.js';

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * A model id, which is also the stem of `<id>.json` and `<id>.onnx`. It starts with a letter or
 * digit: a leading dot would make hidden files that `models list` skips (and `..` reads as a folder).
 */
export const modelIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MODEL_ID_RULE = '1-64 letters, digits, dot, dash, underscore, starting with a letter or digit';

/**
 * Audio (ms) kept either side of a speech region: the one rule for the manifest's speechContextMs
 * and the evaluation override of it (engine, `eval --speech-context-ms`).
 */
export const speechContextMsSchema = z.number().int().min(0).max(1000);
export const SPEECH_CONTEXT_MS_RULE = 'a whole number of ms from 0 to 1000';

/**
 * The scale a calibration was fitted on (its `data.scoreNormalisation`): plain cosines, or AS-norm
 * scores with this top-K against the cohort file with this sha256. A calibration without it was
 * fitted on cosines (every calibration before AS-norm existed was).
 */
const scoreScaleRecordSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('none') }).strict(),
  z.object({ method: z.literal('as-norm'), topK: z.number().int().min(1), cohortSha256: sha256Schema }).strict(),
]);

export type ScoreScaleRecord = z.infer<typeof scoreScaleRecordSchema>;

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

/**
 * One measured operating point of the comparison score (the cosine, or the AS-norm score when the
 * manifest enables it): accept when score ≥ threshold (src/scoring/calibration.ts).
 */
const rateIntervalSchema = z
  .object({ low: z.number().min(0).max(1), high: z.number().min(0).max(1) })
  .strict()
  .refine((i) => i.low <= i.high, 'an interval needs low <= high');
/**
 * fmrInterval and fnmrInterval (since the speaker bootstrap, see `bootstrap` below): 95 % intervals
 * of the two rates at that threshold over resampled speakers; older calibrations lack them.
 * falseMatchPairs (since the speaker-pair rule, src/scoring/calibration.ts MIN_FALSE_MATCH_PAIRS):
 * how many pairs of calibration speakers have a non-target score at or above the threshold, so
 * none exactly where the FMR is 0.
 */
const operatingPointSchema = z
  .object({
    threshold: z.number(),
    fmr: z.number().min(0).max(1),
    fnmr: z.number().min(0).max(1),
    fmrInterval: rateIntervalSchema.optional(),
    fnmrInterval: rateIntervalSchema.optional(),
    falseMatchPairs: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((r) => r.falseMatchPairs === undefined || (r.falseMatchPairs === 0) === (r.fmr === 0), 'falseMatchPairs is 0 exactly where the FMR is 0');

/** EER by test duration (net speech), for the policies' minimum net speech. */
const durationTableSchema = z
  .array(z.object({ seconds: z.number().positive(), eer: z.number().min(0).max(1), targetTrials: z.number().int().min(0), nonTargetTrials: z.number().int().min(0) }).strict())
  .max(32);

/**
 * What `voice-passport calibrate` measured for one channel on the dev trials: the logistic map
 * llr = a·score + b (natural-log likelihood ratio) of the comparison score (the cosine, or the
 * AS-norm score when `scoreNormalisation` is enabled), the trial counts behind it, the operating
 * table that turns a target FMR into a threshold on that score, and the EER by test duration that
 * sets the policies' minimum net speech. Only a and b are required (a hand-written calibration).
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
      .refine(
        (rows) => rows.every((r) => r.falseMatchPairs === undefined) || rows.every((r, i) => r.falseMatchPairs !== undefined && (i === 0 || r.falseMatchPairs <= rows[i - 1]!.falseMatchPairs!)),
        'falseMatchPairs must be on every operating point or none, and not rise with the threshold',
      )
      .optional(),
    /** How the operating points' intervals were made (src/evaluation/confidence.ts). */
    bootstrap: z.object({ replicates: z.number().int().min(1), requested: z.number().int().min(1), seed: z.number().int(), method: z.string() }).strict().optional(),
    durations: durationTableSchema.optional(),
    /**
     * The EER-by-duration table of voiceprints enrolled on the other channel against callers on this
     * one (`calibrate --across-channels`: enrolled in an app, calling in), which the policies'
     * minimum net speech takes into account too.
     */
    acrossChannels: z.object({ enrolChannel: z.enum(['wideband', 'telephone']), durations: durationTableSchema }).strict().optional(),
    /** Effective target prior of the fit's weighted cross-entropy (0.5: Brümmer's Cllr). */
    effectivePrior: z.number().gt(0).lt(1).optional(),
    /**
     * Where the dev trials came from: folders, how trials were formed, when, the sha256 of the
     * ONNX file that scored them (a calibration is only valid for those exact weights), and the
     * score scale it was fitted on (absent: cosines).
     */
    data: z
      .object({
        sets: z.array(z.string()),
        protocol: z.string(),
        createdAt: z.string(),
        modelSha256: sha256Schema.optional(),
        scoreNormalisation: scoreScaleRecordSchema.optional(),
      })
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
  .strict()
  .refine(
    (c) => c.wideband.acrossChannels?.enrolChannel !== 'wideband' && c.telephone?.acrossChannels?.enrolChannel !== 'telephone',
    "a channel's acrossChannels table must be enrolled on the other channel",
  );

export type ModelCalibration = z.infer<typeof calibrationSchema>;
export type ChannelCalibration = z.infer<typeof channelCalibrationSchema>;

/**
 * One impostor cohort file (src/model/cohort-file.ts): a file name beside the manifest, its sha256
 * and row count, and where its embeddings came from (written by `voice-passport cohort`).
 */
const cohortFileSchema = z
  .object({
    file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a file name in the manifest\'s folder (letters, digits, ".", "_", "-"; no folders)'),
    sha256: sha256Schema,
    /** Cohort speakers. */
    speakers: z.number().int().min(1).max(1_000_000),
    /**
     * Rows of the file, when a row is one utterance (`source.row`); absent: one row per speaker,
     * as every cohort before `voice-passport cohort --rows` was.
     */
    rows: z.number().int().min(1).max(10_000_000).optional(),
    source: z
      .object({
        folder: z.string(),
        /** Instead of `folder` when the speakers were pooled from several. */
        folders: z.array(z.string()).min(2),
        utterancesPerSpeaker: z.number().int().min(1),
        /** What a row is: a speaker's utterances averaged (absent in older manifests), or one utterance. */
        row: z.enum(['speaker', 'utterance']),
        seconds: z.number().positive(),
        /** What of each cut was embedded: the VAD's speech (absent in older manifests) or all of it. */
        embed: z.enum(['speech', 'whole']),
        channel: z.enum(['wideband', 'telephone']),
        law: z.enum(['mulaw', 'alaw']),
        createdAt: z.string(),
        /** The ONNX file that made the embeddings: a cohort is only valid for those exact weights. */
        modelSha256: sha256Schema,
        description: z.string(),
      })
      .strict()
      .partial()
      .optional(),
  })
  .strict()
  .refine((c) => c.rows === undefined || c.rows >= c.speakers, { message: 'rows must be at least speakers: every cohort speaker has a row', path: ['rows'] });

/**
 * Adaptive symmetric score normalisation (src/scoring/as-norm.ts). When enabled, the comparison
 * score is the AS-norm score of the cosine against the cohort (telephone audio: the telephone
 * cohort when present, else the wideband one), and calibration, operating table and policy
 * thresholds are on that scale. Disabled (or absent): the comparison score is the cosine.
 */
const scoreNormalisationSchema = z
  .object({
    method: z.literal('as-norm'),
    enabled: z.boolean(),
    topK: z.number().int().min(1).max(1_000_000),
    cohorts: z.object({ wideband: cohortFileSchema, telephone: cohortFileSchema.optional() }).strict(),
  })
  .strict();

export type ScoreNormalisation = z.infer<typeof scoreNormalisationSchema>;
export type CohortFile = z.infer<typeof cohortFileSchema>;

export const manifestSchema = z
  .object({
    id: z.string().regex(modelIdPattern, `a model id: ${MODEL_ID_RULE}`),
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
    /**
     * Audio kept either side of each VAD speech region in what the model hears, in ms (clipped to
     * the recording; regions that then meet are joined). Net speech, which the policies' minimum is
     * about, is still measured on the VAD's regions alone. A model trained on untrimmed crops hears
     * pauses and word edges in training; cutting them away costs it accuracy (models/README.md).
     */
    speechContextMs: speechContextMsSchema.default(0),
    /**
     * How audio at another rate is brought to `sampleRate` for the model: `kaiser`, the service's
     * own band-limited resampler (src/audio/resample.ts), or `torchaudio`, torchaudio's default
     * resampler (src/audio/sinc-resample.ts), for a model trained on audio that torchaudio
     * resampled (its 8 kHz telephone crops above all). A model hears another resampler's output as
     * another channel (models/README.md). Voice activity detection always uses `kaiser`.
     */
    resampler: z.enum(['kaiser', 'torchaudio']).default('kaiser'),
    calibration: calibrationSchema.optional(),
    scoreNormalisation: scoreNormalisationSchema.optional(),
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
  /** The checked cohort files of `scoreNormalisation` (enabled or not); absent without it. */
  cohorts?: { wideband: LoadedCohort; telephone?: LoadedCohort };
}

type Channel = 'wideband' | 'telephone';

/** Rows of a cohort file: `rows`, or one per speaker where the manifest predates `rows`. */
export function cohortRows(c: CohortFile): number {
  return c.rows ?? c.speakers;
}

/** The cohort a channel uses: telephone's own when present, else wideband's (as calibrationFor). */
export function cohortFileFor(normalisation: ScoreNormalisation, channel: Channel): { channel: Channel; cohort: CohortFile } {
  const telephone = normalisation.cohorts.telephone;
  return channel === 'telephone' && telephone !== undefined ? { channel: 'telephone', cohort: telephone } : { channel: 'wideband', cohort: normalisation.cohorts.wideband };
}

/**
 * The comparison-score scale of a channel: cosines, or AS-norm with the manifest's top-K and that
 * channel's cohort. `asNorm` overrides the manifest's `enabled` (eval's --score-normalisation).
 */
export function scoreScaleOf(manifest: Pick<ModelManifest, 'scoreNormalisation'>, channel: Channel, asNorm: boolean = manifest.scoreNormalisation?.enabled ?? false): ScoreScaleRecord {
  const sn = manifest.scoreNormalisation;
  if (!asNorm || sn === undefined) return { method: 'none' };
  return { method: 'as-norm', topK: sn.topK, cohortSha256: cohortFileFor(sn, channel).cohort.sha256 };
}

export function sameScoreScale(a: ScoreScaleRecord, b: ScoreScaleRecord): boolean {
  if (a.method === 'none' || b.method === 'none') return a.method === b.method;
  return a.topK === b.topK && a.cohortSha256 === b.cohortSha256;
}

export function describeScoreScale(r: ScoreScaleRecord): string {
  return r.method === 'none' ? 'cosine scores (no score normalisation)' : `AS-norm scores (top-${r.topK}, cohort sha256 ${r.cohortSha256})`;
}

/** The scale a calibration block was fitted on: recorded, or cosines when not recorded. */
export function calibrationScale(c: ChannelCalibration): ScoreScaleRecord {
  return c.data?.scoreNormalisation ?? { method: 'none' };
}

/**
 * What stops a manifest from deciding calls: a channel without its own calibration falls back to the
 * wideband one (src/scoring/policy.ts, calibrationFor), which holds only where that channel's scores
 * are on the same scale. With AS-norm against a telephone cohort of its own they are not, and the
 * wideband thresholds and LLR slope would decide telephone calls on another scale. The loader takes
 * such a manifest (`voice-passport calibrate` must load it to fit the missing block); the service
 * refuses to start on it. Empty when nothing stops it.
 */
export function calibrationGaps(manifest: Pick<ModelManifest, 'id' | 'calibration' | 'scoreNormalisation'>): string[] {
  const c = manifest.calibration;
  if (c === undefined || c.telephone !== undefined) return [];
  const fitted = calibrationScale(c.wideband);
  const telephone = scoreScaleOf(manifest, 'telephone');
  if (sameScoreScale(fitted, telephone)) return [];
  return [
    `model "${manifest.id}" compares telephone calls on ${describeScoreScale(telephone)}, but has only a wideband calibration, fitted on ${describeScoreScale(fitted)}: ` +
      'calibrate the telephone channel (voice-passport calibrate DEV_SET --channel telephone --write) before serving calls',
  ];
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
  if (!modelIdPattern.test(id)) {
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
  // A cohort made with other weights holds embeddings of another space: its statistics mean nothing.
  for (const channel of ['wideband', 'telephone'] as const) {
    const made = manifest.scoreNormalisation?.cohorts[channel]?.source?.modelSha256;
    if (made !== undefined && made !== manifest.sha256) {
      throw new VoicePassportError(
        'model-invalid',
        `manifest ${manifestPath}: the ${channel} cohort was made with model file sha256 ${made}, not this manifest's ${manifest.sha256}; make it again (voice-passport cohort --write)`,
      );
    }
  }
  // Thresholds measured on one score scale decide nonsense on another (a cosine of 0.6 is not an
  // AS-norm score of 0.6): the calibration must be on the scale the manifest now compares with.
  for (const channel of ['wideband', 'telephone'] as const) {
    const block = manifest.calibration?.[channel];
    if (block === undefined) continue;
    const fitted = calibrationScale(block);
    const now = scoreScaleOf(manifest, channel);
    if (!sameScoreScale(fitted, now)) {
      throw new VoicePassportError(
        'model-invalid',
        `manifest ${manifestPath}: the ${channel} calibration was fitted on ${describeScoreScale(fitted)}, but the manifest now compares ${describeScoreScale(now)}; ` +
          `remove calibration${channel === 'wideband' ? '' : '.telephone'} and recalibrate (voice-passport calibrate --write), or restore scoreNormalisation as it was`,
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
  const loaded: LoadedManifest = { ...manifest, modelPath, fbank: { ...torchaudioFbankDefaults, ...manifest.frontEnd } };
  const sn = manifest.scoreNormalisation;
  if (sn !== undefined) {
    const read = (channel: Channel, c: CohortFile) =>
      readCohortFile(path.resolve(path.dirname(manifestPath), c.file), { rows: cohortRows(c), dim: manifest.embeddingDim, sha256: c.sha256 }, `model "${id}" ${channel} cohort`);
    const wideband = await read('wideband', sn.cohorts.wideband);
    loaded.cohorts = sn.cohorts.telephone === undefined ? { wideband } : { wideband, telephone: await read('telephone', sn.cohorts.telephone) };
  }
  return loaded;
}
