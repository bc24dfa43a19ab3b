/**
 * `voice-passport eval <folder>`: the service's own embedding engine over a folder of speakers
 * (one sub-folder each), scored into verification trials, reported as EER (with a 95 % speaker
 * bootstrap interval), minDCF at P_target 0.01, FMR/FNMR at each of the running model's default
 * policy thresholds for the channel evaluated (rule of three), and EER by test duration. Metric code
 * is in src/evaluation/ (pure); this file only reads files, drives the engine and assembles the report.
 *
 * Trials are scored with the service's own comparison (src/scoring/scorer.ts): the cosine, or the
 * AS-norm score when the model manifest enables it (--score-normalisation none|as-norm overrides
 * that, to measure whether AS-norm helps on a set).
 *
 * Every utterance goes through the engine ONCE for the main trials, exactly as a caller's audio
 * would: wideband files as the CLI sends them (engineInputForFile), telephone as G.711 bytes of
 * the simulated call (src/evaluation/channel.ts). Utterances in which the VAD finds no speech are
 * embedded whole (`vadFallback: 'whole'`), as the reference figures scored every utterance; the
 * report counts them. With --enrol-channel other than --channel (a customer who enrolled in the
 * app and calls the contact centre) each utterance goes through once per channel, and the trials
 * pair one side's rendering with the other's. With --noise or --noise-file and --snr the test side
 * (the caller) hears the recording with noise added at that SNR (src/evaluation/noise.ts) before
 * its channel, the enrolment side hears it clean, and the trials pair the two renderings likewise.
 */
import fs from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { oneOf, parseCliArgs } from './args.js';
import { VoicePassportError } from '../errors.js';
import { channelInput, concatenate, telephoneInput, type Channel, type EngineAudio, type G711Law } from '../evaluation/channel.js';
import { detSvg } from '../evaluation/det-svg.js';
import { addNoise, MIXTURE_PEAK, noiseKinds, type NoiseKind, type NoiseSource } from '../evaluation/noise.js';
import { quantile, type SpeakerTrials } from '../evaluation/confidence.js';
import { errorCountsAt, quoteRate } from '../evaluation/metrics.js';
import { policyRates, round6, summariseTrials, type PolicyRates, type TrialSummary } from '../evaluation/summary.js';
import {
  allPairsTrials,
  crossPairsTrials,
  enrolmentTrials,
  enrolmentVoiceprint,
  groupConsecutive,
  planEnrolment,
  planRotatingEnrolments,
  reindexSpeakers,
  splitScores,
  type SpeakerEmbedding,
  type TestItem,
  type Voiceprint,
  type TrialSet,
} from '../evaluation/trials.js';
import type { AnalyseInput, AudioAnalysis } from '../model/engine.js';
import { startCliEngine } from './engine.js';
import { SPEECH_CONTEXT_MS_RULE, speechContextMsSchema, type ModelCalibration, type ScoreScaleRecord } from '../model/manifest.js';
import { targetFmrBounds, type TargetFmrBound } from '../scoring/calibration.js';
import { calibrationFor, canDeriveWithBound, channelOfSampleRate, defaultPoliciesFor, effectiveThreshold, type ScoreChannel } from '../scoring/policy.js';
import { Scorer, scoreNormalisationModes, type ScoreNormalisationMode } from '../scoring/scorer.js';
import { audioExtensions, decodeAudioFile, engineInputForFile, entryKind, expandAudioPaths } from './audio-file.js';
import { errorShapeOf } from './output.js';
import { resample } from '../audio/resample.js';
import type { MonoAudio } from '../audio/types.js';
import { NARROWBAND_SPEECH_THRESHOLD, isSpeechThreshold, sileroSegmentationDefaults } from '../speech/regions.js';
import { tooNoisy } from '../scoring/decision.js';

const USAGE =
  'usage: voice-passport eval <folder> [--channel wideband|telephone] [--enrol-channel wideband|telephone] [--law mulaw|alaw] [--trials all-pairs|enrolment] ' +
  '[--enrol-seconds S] [--voiceprints first|rotating] [--test-seconds S] [--durations 2,3,5,10|none] [--noise white|pink | --noise-file F] [--snr DB] [--score-normalisation manifest|none|as-norm] [--embed speech|whole] [--speech-context-ms MS] [--vad-threshold P] [--model ID] [--out report.json] [--plot det.svg]';

/** The SNRs --snr accepts, in dB: from noise twice as loud as the speech to noise nobody hears. */
export const SNR_RANGE_DB = { min: -10, max: 60 } as const;

/** Test durations of the duration table (issue 4 §1: telephony callers speak briefly). */
export const DEFAULT_DURATIONS = [2, 3, 5, 10] as const;
/** A segment counts for a bucket if the engine embedded this close to the bucket's seconds. */
const DURATION_TOLERANCE_SECONDS = 1e-3;

type TrialProtocol = 'all-pairs' | 'enrolment';
/** Enrolment trials: one voiceprint per speaker from its first utterances, or one from each utterance on (planRotatingEnrolments). */
type VoiceprintPlan = 'first' | 'rotating';

/** Noise on the test side: generated, or a recording (--noise-file), at `snrDb` under the speech's active level. */
export type NoiseOption = { kind: NoiseKind; snrDb: number } | { kind: 'file'; file: string; snrDb: number };

interface EvalOptions {
  folder: string;
  /** The test (verification) side's channel. */
  channel: Channel;
  /** The enrolment side's channel: `channel` unless --enrol-channel says otherwise (enrolled in an app, verified on the phone). */
  enrolChannel: Channel;
  law: G711Law;
  trials: TrialProtocol;
  enrolSeconds: number | null;
  /** Enrolment trials only (null for all pairs). */
  voiceprints: VoiceprintPlan | null;
  testSeconds: number | null;
  durations: number[];
  modelId: string;
  out: string | null;
  plot: string | null;
  /** Absent: as the manifest says (`manifest`). */
  scoreNormalisation?: ScoreNormalisationMode;
  /**
   * What the main trials embed: 'speech' (default, the service path: only the VAD's speech) or
   * 'whole' (every utterance whole, the reference protocol). Duration rows always use VAD speech.
   */
  embed: 'speech' | 'whole';
  /** Absent: the manifest's speechContextMs. Set: that many ms either side of the speech instead (measuring a value before writing it). */
  speechContextMs?: number;
  /** Absent: the VAD's own threshold (0.5). Set: that speech probability instead (measuring a value before changing it). */
  vadThreshold?: number;
  /** Noise added to the test side only (a caller in a noisy place, enrolled in a quiet one); null: none. */
  noise: NoiseOption | null;
}

export interface Speaker {
  name: string;
  files: string[];
}

interface Utterance extends SpeakerEmbedding {
  file: string;
  netSpeechSeconds: number;
  durationSeconds: number;
  vadFallback: boolean;
  /** Seconds that were embedded: net speech, or the whole duration when the VAD found none. */
  speechSeconds: number;
  /** The rate the engine received (8000 through the telephone channel). */
  sampleRate: number;
  /** The service's own SNR estimate of what the engine received (null: none could be made). */
  snrDb: number | null;
}

function positiveSeconds(name: string, raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const v = Number(raw);
  if (!(Number.isFinite(v) && v > 0 && v <= 3600)) {
    throw new VoicePassportError('validation-failed', `--${name} must be a number of seconds in (0, 3600], got "${raw}"`);
  }
  return v;
}

function noiseOption(values: { noise?: string; 'noise-file'?: string; snr?: string }): NoiseOption | null {
  const { noise, 'noise-file': file, snr } = values;
  if (noise !== undefined && file !== undefined) throw new VoicePassportError('validation-failed', '--noise and --noise-file are two sources of noise; give one');
  if (noise === undefined && file === undefined) {
    if (snr !== undefined) throw new VoicePassportError('validation-failed', '--snr needs a noise to add: --noise white|pink or --noise-file F');
    return null;
  }
  if (snr === undefined) throw new VoicePassportError('validation-failed', `${noise === undefined ? '--noise-file' : '--noise'} needs --snr DB (the noise's level under the speech)`);
  const snrDb = snr.trim() === '' ? Number.NaN : Number(snr);
  if (!(Number.isFinite(snrDb) && snrDb >= SNR_RANGE_DB.min && snrDb <= SNR_RANGE_DB.max)) {
    throw new VoicePassportError('validation-failed', `--snr must be a number of dB in [${SNR_RANGE_DB.min}, ${SNR_RANGE_DB.max}], got "${snr}"`);
  }
  if (file !== undefined) {
    if (file === '') throw new VoicePassportError('validation-failed', '--noise-file needs the path of an audio file');
    return { kind: 'file', file, snrDb };
  }
  return { kind: oneOf('noise', noise, noiseKinds, 'white'), snrDb };
}

function vadThreshold(raw: string): number {
  const v = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!isSpeechThreshold(v)) throw new VoicePassportError('validation-failed', `--vad-threshold must be a speech probability in (0, 1], got "${raw}"`);
  return v;
}

function speechContextMs(raw: string): number {
  // Number('') is 0, so an empty value is refused before the shared rule sees it.
  const v = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!speechContextMsSchema.safeParse(v).success) {
    throw new VoicePassportError('validation-failed', `--speech-context-ms must be ${SPEECH_CONTEXT_MS_RULE}, got "${raw}"`);
  }
  return v;
}

/** The options that form eval's trials; `calibrate` takes the same ones and passes them through. */
export const evalTrialOptions = {
  channel: { type: 'string' },
  law: { type: 'string' },
  trials: { type: 'string' },
  'enrol-seconds': { type: 'string' },
  voiceprints: { type: 'string' },
  'test-seconds': { type: 'string' },
  durations: { type: 'string' },
  model: { type: 'string' },
} as const;

/**
 * --out and --plot are written after the whole evaluation, which can take hours on a data set: a
 * path that cannot be written (no such folder, a folder) is refused now, not as an internal error then.
 */
function outputFile(flag: string, file: string | undefined): string | null {
  if (file === undefined) return null;
  const dir = path.dirname(path.resolve(file));
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new VoicePassportError('validation-failed', `--${flag} ${file}: the folder ${dir} does not exist`);
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new VoicePassportError('validation-failed', `--${flag} ${file} is a folder; name a file`);
  return file;
}

export function parseEvalArgs(argv: string[], config: Pick<Config, 'modelId' | 'enrolMinSeconds'>): EvalOptions {
  const { values, positionals } = parseCliArgs(
    argv,
    {
      ...evalTrialOptions,
      'enrol-channel': { type: 'string' },
      noise: { type: 'string' },
      'noise-file': { type: 'string' },
      snr: { type: 'string' },
      'score-normalisation': { type: 'string' },
      embed: { type: 'string' },
      'speech-context-ms': { type: 'string' },
      'vad-threshold': { type: 'string' },
      out: { type: 'string' },
      plot: { type: 'string' },
    },
    USAGE,
  );
  if (positionals.length !== 1) throw new VoicePassportError('validation-failed', USAGE);
  const channel = oneOf('channel', values.channel, ['wideband', 'telephone'], 'wideband');
  const enrolChannel = oneOf('enrol-channel', values['enrol-channel'], ['wideband', 'telephone'], channel);
  if (values.law !== undefined && channel !== 'telephone' && enrolChannel !== 'telephone') {
    throw new VoicePassportError('validation-failed', '--law applies to the telephone channel only (--channel or --enrol-channel telephone)');
  }
  const enrolSeconds = positiveSeconds('enrol-seconds', values['enrol-seconds']);
  // --enrol-seconds or --voiceprints alone means enrolment trials; with --trials all-pairs they would be ignored, so refuse them.
  const trials = oneOf('trials', values.trials, ['all-pairs', 'enrolment'], enrolSeconds === null && values.voiceprints === undefined ? 'all-pairs' : 'enrolment');
  if (trials === 'all-pairs' && enrolSeconds !== null) {
    throw new VoicePassportError('validation-failed', '--enrol-seconds needs --trials enrolment (all-pairs trials have no enrolment)');
  }
  if (trials === 'all-pairs' && values.voiceprints !== undefined) {
    throw new VoicePassportError('validation-failed', '--voiceprints needs --trials enrolment (all-pairs trials have no voiceprints)');
  }
  let durations: number[] = [...DEFAULT_DURATIONS];
  if (values.durations !== undefined) {
    durations =
      values.durations === 'none'
        ? []
        : values.durations.split(',').map((d) => positiveSeconds('durations', d.trim()) as number);
    durations = [...new Set(durations)].sort((a, b) => a - b);
  }
  const scoreNormalisation = oneOf('score-normalisation', values['score-normalisation'], scoreNormalisationModes, 'manifest');
  return {
    folder: positionals[0] as string,
    channel,
    enrolChannel,
    law: oneOf('law', values.law, ['mulaw', 'alaw'], 'mulaw'),
    trials,
    enrolSeconds: trials === 'enrolment' ? (enrolSeconds ?? config.enrolMinSeconds) : null,
    voiceprints: trials === 'enrolment' ? oneOf<VoiceprintPlan>('voiceprints', values.voiceprints, ['first', 'rotating'], 'first') : null,
    testSeconds: positiveSeconds('test-seconds', values['test-seconds']),
    durations,
    modelId: values.model ?? config.modelId,
    out: outputFile('out', values.out),
    plot: outputFile('plot', values.plot),
    embed: oneOf('embed', values.embed, ['speech', 'whole'], 'speech'),
    noise: noiseOption(values),
    ...(values['score-normalisation'] === undefined ? {} : { scoreNormalisation }),
    ...(values['speech-context-ms'] === undefined ? {} : { speechContextMs: speechContextMs(values['speech-context-ms']) }),
    ...(values['vad-threshold'] === undefined ? {} : { vadThreshold: vadThreshold(values['vad-threshold']) }),
  };
}

/**
 * One sub-folder per speaker (sorted by name), its audio files found recursively and sorted. How
 * many speakers are enough is the caller's rule (eval: two; a cohort folder: one).
 */
export async function listSpeakers(folder: string): Promise<{ speakers: Speaker[]; emptyFolders: string[] }> {
  let info;
  try {
    info = await stat(folder);
  } catch {
    throw new VoicePassportError('not-found', `${folder}: no such folder`);
  }
  if (!info.isDirectory()) throw new VoicePassportError('validation-failed', `${folder} is not a folder; eval needs a folder with one sub-folder per speaker`);
  const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const loose = entries.filter((e) => e.isFile() && (audioExtensions as readonly string[]).includes(path.extname(e.name).toLowerCase()));
  if (loose.length > 0) {
    throw new VoicePassportError(
      'validation-failed',
      `${folder} holds audio files directly (e.g. ${loose[0]?.name}); eval takes each speaker from its own sub-folder, so move them into one`,
    );
  }
  const speakers: Speaker[] = [];
  const emptyFolders: string[] = [];
  for (const e of entries) {
    // A speaker folder may be a symbolic link (a subset made of links into a larger set).
    if ((await entryKind(folder, e)) !== 'folder') continue;
    const files = await expandAudioPaths([path.join(folder, e.name)]);
    if (files.length === 0) emptyFolders.push(e.name);
    else speakers.push({ name: e.name, files });
  }
  return { speakers, emptyFolders };
}

/** Runs `fn` over the items with at most `limit` in flight; results in input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, onDone?: (done: number) => void): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) {
      results[i] = await fn(items[i] as T, i);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export function progress(label: string, total: number, command = 'eval'): (done: number) => void {
  const step = Math.max(1, Math.ceil(total / 4));
  return (done) => {
    if (done % step === 0 || done === total) process.stderr.write(`${command}: ${label} ${done}/${total}\n`);
  };
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; file: string; code: string; message: string };

export async function settle<T>(file: string, p: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p() };
  } catch (e) {
    const shape = errorShapeOf(e);
    return { ok: false, file, code: shape.code, message: shape.message };
  }
}

/** One recording as each side of a trial hears it: `enrol` is `test` itself unless the two sides' channels differ. */
interface Recording {
  test: Utterance;
  enrol: Utterance;
}

/** A segment cut to exactly `seconds` of speech: a speaker's consecutive utterances, joined. */
interface Segment extends SpeakerEmbedding {
  files: string[];
}

interface DurationRow {
  seconds: number;
  segments: number;
  /** Groups whose joined audio had less speech than `seconds` once analysed (VAD differences), or failed. */
  droppedSegments: number;
  summary: TrialSummary | null;
  /** The rates at each policy's threshold (set on whole utterances) for tests of exactly `seconds`. */
  policies: DurationPolicyRates[];
  skipped?: string;
}

/** The rates at each policy threshold of a subset of the trials (decided, one test duration): the main rows' figures less their provenance. */
type DurationPolicyRates = Pick<PolicyRates, 'policy' | 'fmr' | 'fmrText' | 'fnmr' | 'fnmrText' | 'falseMatchPairs'> & { targetFmrBound: TargetFmrBound | null };

/**
 * The scored trials behind a run, for `voice-passport calibrate` (src/cli/calibrate.ts), which fits
 * its calibration on exactly the trials this harness forms. With a sink, evalCommand hands them
 * over instead of printing the report.
 */
export interface EvalTrials {
  model: string;
  channel: Channel;
  /** The channel whose cohort, calibration and policies scored the trials (scoringChannelOf). */
  scoringChannel: ScoreChannel;
  speakers: number;
  /** How the main trials were formed (the report's protocol.description). */
  description: string;
  /** The scale of the scores: cosines, or AS-norm with the top-K and cohort used (recorded with a calibration). */
  scale?: ScoreScaleRecord;
  main: TrialSet;
  byDuration: { seconds: number; set: TrialSet }[];
}

/**
 * The bytes one file gives the engine, as eval sends them: wideband as the CLI sends the file,
 * telephone through the simulated call (src/evaluation/channel.ts). With `firstSeconds`, only the
 * start of the recording (decoded, cut, then through the channel).
 */
export async function engineAudioForFile(file: string, opts: { channel: Channel; law: G711Law; maxSeconds: number; firstSeconds?: number }): Promise<EngineAudio> {
  if (opts.firstSeconds === undefined) {
    return opts.channel === 'telephone' ? telephoneInput(await decodeAudioFile(file, opts.maxSeconds), opts.law) : engineInputForFile(file, opts.maxSeconds);
  }
  const audio = await decodeAudioFile(file, opts.maxSeconds);
  const cut = { sampleRate: audio.sampleRate, samples: audio.samples.subarray(0, Math.max(1, Math.round(opts.firstSeconds * audio.sampleRate))) };
  return channelInput(cut, opts.channel, opts.law);
}

/**
 * The channel the service would score these trials on: it picks the cohort and calibration from the
 * verification audio's own rate (channelOfSampleRate), so a set recorded at 8 kHz is telephone audio
 * even without the simulated call. A set mixing rates is scored as wideband.
 */
export function scoringChannelOf(channel: Channel, sampleRates: readonly number[]): ScoreChannel {
  if (channel === 'telephone') return 'telephone';
  return sampleRates.length > 0 && sampleRates.every((r) => channelOfSampleRate(r) === 'telephone') ? 'telephone' : 'wideband';
}

/**
 * The policies eval reports: the running model's default policies (set by target FMR when its
 * calibration has an operating table, else the uncalibrated defaults), each with the threshold that
 * decides for the channel evaluated; a tier set by target FMR is reported under both bounds when the
 * channel's table has the intervals upper-95 needs, so its cost can be measured on other speakers
 * than the calibration's. `calibration` is the manifest's, or undefined when the scores are on
 * another scale than the one it was fitted on (--score-normalisation other than the manifest's).
 */
export interface EvalPolicy {
  name: string;
  targetFmr: number | null;
  targetFmrBound: TargetFmrBound | null;
  threshold: number;
  calibration: Channel | null;
}

export function evalPolicies(calibration: ModelCalibration | undefined, channel: Channel): EvalPolicy[] {
  const chosen = calibrationFor(calibration, channel);
  return defaultPoliciesFor(calibration).flatMap((p): EvalPolicy[] => {
    if (p.targetFmr === null || chosen === null) return [{ name: p.name, targetFmr: p.targetFmr, targetFmrBound: null, threshold: effectiveThreshold(p, calibration, channel), calibration: null }];
    // The estimate as always (with the stored threshold where the channel has no table); upper-95 where it can be derived.
    const bounds = targetFmrBounds.filter((b) => b === 'estimate' || canDeriveWithBound(chosen.calibration, b));
    return bounds.map((targetFmrBound) => ({
      name: p.name,
      targetFmr: p.targetFmr,
      targetFmrBound,
      threshold: effectiveThreshold({ ...p, targetFmrBound }, calibration, channel),
      calibration: chosen.channel,
    }));
  });
}

/** The noise source of --noise / --noise-file, at any recording's rate (a file is decoded once and resampled once per rate). */
interface LoadedNoise {
  snrDb: number;
  at(sampleRate: number): NoiseSource;
}

async function loadNoise(opt: NoiseOption, maxSeconds: number): Promise<LoadedNoise> {
  if (opt.kind !== 'file') {
    const source: NoiseSource = { kind: opt.kind };
    return { snrDb: opt.snrDb, at: () => source };
  }
  const audio = await decodeAudioFile(opt.file, maxSeconds);
  if (!audio.samples.some((v) => v !== 0)) throw new VoicePassportError('validation-failed', `--noise-file ${opt.file} is silent; it sets no noise level`);
  const name = path.basename(opt.file);
  const byRate = new Map<number, NoiseSource>();
  return {
    snrDb: opt.snrDb,
    at(sampleRate) {
      let source = byRate.get(sampleRate);
      if (source === undefined) {
        const samples = sampleRate === audio.sampleRate ? audio.samples : resample(audio.samples, audio.sampleRate, sampleRate);
        source = { kind: 'file', name, audio: { sampleRate, samples } };
        byRate.set(sampleRate, source);
      }
      return source;
    },
  };
}

/** The noise as the report and the summary line name it: `pink noise`, `noise from babble.wav`. */
function noiseName(n: NoiseOption): string {
  return n.kind === 'file' ? `noise from ${path.basename(n.file)}` : `${n.kind} noise`;
}

/**
 * The service's SNR estimates of the test side (what a caller's audio would be gated on): their
 * spread, and how many fall under the verification's quality bar, where the service answers
 * `inconclusive` (low-snr) instead of deciding (src/scoring/decision.ts).
 */
function snrSpread(values: readonly (number | null)[], minSnrDb: number) {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const at = (q: number) => (known.length === 0 ? null : Number(quantile(known, q).toFixed(1)));
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), notEstimated: values.length - known.length, minSnrDb, underMinSnrDb: known.filter((v) => tooNoisy(v, minSnrDb)).length };
}

/** How a channel is described in the report's protocol. */
function channelText(channel: Channel, law: G711Law): string {
  return channel === 'telephone'
    ? `telephone: each recording resampled to 8 kHz, band-limited to 300-3400 Hz and passed through G.711 ${law === 'mulaw' ? 'µ-law' : 'A-law'}, sent to the engine as ${law === 'mulaw' ? 'audio/PCMU' : 'audio/PCMA'} (the service's 8 kHz path)`
    : 'wideband: each recording at its own sample rate, as the CLI sends it';
}

/**
 * The channels in the summary line and the plot title: `telephone/mulaw`, `wideband→telephone/mulaw`
 * across channels, and the test side's noise after a `+` (`wideband + pink noise 10 dB`).
 */
function channelsCell(opts: Pick<EvalOptions, 'channel' | 'enrolChannel' | 'law' | 'noise'>): string {
  const one = (c: Channel) => (c === 'telephone' ? `${c}/${opts.law}` : c);
  const channels = opts.enrolChannel === opts.channel ? one(opts.channel) : `${one(opts.enrolChannel)}→${one(opts.channel)}`;
  return opts.noise === null ? channels : `${channels} + ${noiseName(opts.noise)} ${opts.noise.snrDb} dB`;
}

const fmtThreshold = (t: number) => String(Number(t.toPrecision(4)));
const fmtPercent = (r: number) => `${Number((r * 100).toPrecision(3))} %`;

/** A calibrated tier's target as the summary line and the DET plot name it. */
const targetText = (targetFmr: number, bound: TargetFmrBound | null) => `FMR target ${fmtPercent(targetFmr)}${bound === 'upper-95' ? ', upper-95' : ''}`;

/** How a policy row is labelled in the summary line. */
function policyLabel(p: EvalPolicy): string {
  return p.targetFmr === null ? `${p.name}≥${p.threshold}` : `${p.name} (${targetText(p.targetFmr, p.targetFmrBound)})≥${fmtThreshold(p.threshold)}`;
}

export async function evalCommand(argv: string[], config: Readonly<Config>, sink?: (trials: EvalTrials) => void): Promise<number> {
  const startedAt = performance.now();
  const opts = parseEvalArgs(argv, config);
  const { speakers, emptyFolders } = await listSpeakers(opts.folder);
  if (speakers.length < 2) {
    throw new VoicePassportError('validation-failed', `${opts.folder} has ${speakers.length} speaker sub-folder(s) with audio; non-target trials need at least 2`);
  }
  const maxSeconds = config.maxAudioSeconds;
  const engine = await startCliEngine(config, opts.modelId);
  const lanes = Math.max(1, config.workers) * 2;
  // What the engine keeps around the speech: the manifest's, unless --speech-context-ms says otherwise.
  const contextMs = opts.speechContextMs ?? engine.manifest.speechContextMs;
  // Both engine overrides travel with every analysis, the main trials' and the duration segments'.
  const context = {
    ...(opts.speechContextMs === undefined ? {} : { speechContextMs: opts.speechContextMs }),
    ...(opts.vadThreshold === undefined ? {} : { vadThreshold: opts.vadThreshold }),
  };
  try {
    const mode = opts.scoreNormalisation ?? 'manifest';
    let scorer: Scorer;
    try {
      scorer = Scorer.fromManifest(engine.manifest, mode);
    } catch (e) {
      throw new VoicePassportError('validation-failed', `--score-normalisation as-norm: ${(e as Error).message}`);
    }
    // The calibration (and so the policies' thresholds) holds only on the scale it was fitted on:
    // the manifest's own. Scores on another scale get the uncalibrated default policies.
    const manifestScale = Scorer.fromManifest(engine.manifest).scale;
    const calibration = scorer.scale === manifestScale ? engine.manifest.calibration : undefined;
    // Enrolled in an app, verified on the phone (or the other way round): each recording is heard
    // through both channels, the enrolment side through --enrol-channel and the test side through
    // --channel. The service scores a voiceprint against a caller on the caller's channel (its
    // cohort, calibration and policies: src/passport/verification.ts), and so do these trials.
    const cross = opts.enrolChannel !== opts.channel;
    // A caller in a noisy place, enrolled in a quiet one: noise on the test side only, before its channel.
    const noise = opts.noise === null ? null : await loadNoise(opts.noise, maxSeconds);
    const testInput = (audio: MonoAudio): EngineAudio =>
      channelInput(noise === null ? audio : addNoise(audio, noise.at(audio.sampleRate), noise.snrDb).audio, opts.channel, opts.law);
    // The two sides of a trial hear different renderings of a recording.
    const twoSides = cross || noise !== null;
    const analyseInput = async (job: { speaker: number; file: string }, input: EngineAudio): Promise<Utterance> => {
      const a: AudioAnalysis = await engine.analyse({ ...input, vadFallback: 'whole', embed: opts.embed, ...context });
      const vadFallback = a.vadFallbackUsed === true;
      return {
        speaker: job.speaker,
        file: job.file,
        embedding: a.embedding,
        netSpeechSeconds: a.netSpeechSeconds,
        durationSeconds: a.durationSeconds,
        vadFallback,
        speechSeconds: vadFallback ? a.durationSeconds : a.netSpeechSeconds,
        sampleRate: a.sampleRate,
        snrDb: a.snrDb,
      };
    };

    // --- every utterance, once (once per side when the two sides hear it differently) ---
    const jobs = speakers.flatMap((s, speaker) => s.files.map((file) => ({ speaker, file })));
    const outcomes = await mapBounded(
      jobs,
      lanes,
      (job) =>
        settle(job.file, async (): Promise<Recording> => {
          if (!twoSides) {
            const one = await analyseInput(job, await engineAudioForFile(job.file, { channel: opts.channel, law: opts.law, maxSeconds }));
            return { test: one, enrol: one };
          }
          // Read and decode once; each side renders the same samples (a decoded file as float
          // WAV is what engineAudioForFile sends for FLAC, and the same samples for any other file).
          const audio = await decodeAudioFile(job.file, maxSeconds);
          return {
            test: await analyseInput(job, testInput(audio)),
            enrol: await analyseInput(job, channelInput(audio, opts.enrolChannel, opts.law)),
          };
        }),
      progress('utterances', jobs.length),
    );
    const failures = outcomes.flatMap((o) => (o.ok ? [] : [{ file: o.file, code: o.code, message: o.message }]));
    const recordings = outcomes.flatMap((o) => (o.ok ? [o.value] : []));
    const utterances = recordings.map((r) => r.test);
    // Across channels, one side stands for an app on a wideband line. A folder recorded at 8 kHz has
    // no such side: its "wideband" renderings are the 8 kHz recordings as they are, so the trials
    // would be 8 kHz on both sides under a label that says otherwise (and calibrate --across-channels
    // would store them as an app-enrolled customer's table).
    if (cross && recordings.length > 0) {
      const wideSide = opts.channel === 'wideband' ? 'test' : 'enrol';
      if (recordings.every((r) => channelOfSampleRate(r[wideSide].sampleRate) === 'telephone')) {
        throw new VoicePassportError(
          'validation-failed',
          `${opts.folder} holds only 8 kHz audio: it has no wideband recordings for the ${wideSide === 'enrol' ? 'enrolment' : 'test'} side across channels (--enrol-channel ${opts.enrolChannel}, --channel ${opts.channel})`,
        );
      }
    }
    const bySpeaker = speakers.map((_, s) => recordings.filter((r) => r.test.speaker === s));
    const scoringChannel = scoringChannelOf(
      opts.channel,
      utterances.map((u) => u.sampleRate),
    );
    const pairs = scorer.trialScorer(scoringChannel);

    // --- main trials ---
    const enrolSideText = `heard through the ${opts.enrolChannel} channel${noise === null ? '' : ', clean'}`;
    const testSideText = `heard through the ${opts.channel} channel${opts.noise === null ? '' : ` with ${noiseName(opts.noise)} added at ${opts.noise.snrDb} dB SNR`}`;
    const longEnough = (u: Utterance) => opts.testSeconds === null || u.speechSeconds >= opts.testSeconds;
    let main: TrialSet;
    let description: string;
    let excluded = 0;
    // Enrolment trials' voiceprints (members: the files each was formed from), and each enrolled
    // speaker's test pool: the utterances that at least one of its voiceprints does not hold.
    let enrolled: Voiceprint[] = [];
    const testPools = new Map<number, Recording[]>();
    // The service's quality gate (VP_MIN_SNR_DB; src/scoring/decision.ts, and enrolment refuses such
    // samples too): a side whose SNR estimate is under it is not decided on; one without an estimate is.
    const minSnrDb = config.minSnrDb;
    const passesGate = (u: Utterance) => !tooNoisy(u.snrDb, minSnrDb);
    // The main trials the gate lets through; null when it lets every one through.
    let decided: TrialSet | null = null;
    if (opts.trials === 'all-pairs') {
      // Each utterance sits on both sides, so both of its renderings must have the speech.
      const pool = recordings.filter((r) => longEnough(r.test) && longEnough(r.enrol));
      excluded = recordings.length - pool.length;
      main = twoSides
        ? crossPairsTrials(
            pool.map((r) => r.enrol),
            pool.map((r) => r.test),
            pairs,
          )
        : allPairsTrials(
            pool.map((r) => r.test),
            pairs,
          );
      if (pool.some((r) => !passesGate(r.test) || !passesGate(r.enrol))) {
        decided = twoSides
          ? crossPairsTrials(
              pool.map((r) => r.enrol),
              pool.map((r) => r.test),
              pairs,
              (i, j) => passesGate(pool[i]!.enrol) && passesGate(pool[j]!.test),
            )
          : allPairsTrials(
              pool.filter((r) => passesGate(r.test)).map((r) => r.test),
              pairs,
            );
      }
      description =
        (twoSides
          ? `all pairs ${cross ? 'across channels' : 'with a noisy test side'}: every ordered pair of two different utterances, the first ${enrolSideText} (the enrolment side), the second ${testSideText} (the test side), cosine of the two embeddings; same speaker = target, different = non-target (the reference protocol's pairs, each taken in both orders because the sides differ)`
          : 'all pairs: every unordered pair of single utterances, one utterance each side, cosine of the two embeddings; same speaker = target, different = non-target (the protocol of ../shared/models/reference/README.md)') +
        (opts.testSeconds === null ? '' : `; only utterances with at least ${opts.testSeconds} s of speech take part`);
    } else {
      const enrolSeconds = opts.enrolSeconds as number;
      const voiceprintRule = "(embeddings averaged, weighted by speech: the service's own rule)";
      enrolled = bySpeaker.flatMap((list, speaker) => {
        const speech = list.map((r) => r.enrol.speechSeconds);
        const plans = opts.voiceprints === 'rotating' ? planRotatingEnrolments(speech, enrolSeconds) : [planEnrolment(speech, enrolSeconds)].filter((p) => p !== null);
        if (plans.length === 0) return [];
        const tested = new Set(plans.flatMap((p) => p.test));
        testPools.set(
          speaker,
          list.filter((_, i) => tested.has(i)),
        );
        return plans.map((plan) => {
          const enrol = plan.enrol.map((i) => list[i] as Recording);
          return { speaker, embedding: enrolmentVoiceprint(enrol.map((r) => r.enrol)), members: new Set(enrol.map((r) => r.test.file)) };
        });
      });
      const tests: TestItem[] = [];
      const testsPassing: TestItem[] = [];
      for (const r of recordings) {
        if (!longEnough(r.test)) {
          excluded++;
          continue;
        }
        const item = { speaker: r.test.speaker, embedding: r.test.embedding, sources: [r.test.file] };
        tests.push(item);
        if (passesGate(r.test)) testsPassing.push(item);
      }
      main = enrolmentTrials(enrolled, tests, pairs);
      if (testsPassing.length < tests.length) decided = enrolmentTrials(enrolled, testsPassing, pairs);
      description =
        (opts.voiceprints === 'rotating'
          ? `enrolment, rotating: per speaker, one voiceprint from each of its utterances in file-name order on, taking the next utterances in turn (after the last, the first) until they hold at least ${enrolSeconds} s of speech, at most all but one ${voiceprintRule}, ` +
            "each tested against that speaker's utterances it does not hold"
          : `enrolment: per speaker, a voiceprint from its first utterances in file-name order until they hold at least ${enrolSeconds} s of speech ${voiceprintRule}, ` +
            "tested against each of that speaker's remaining utterances") +
        ' (target) and every utterance of every other speaker (non-target); an utterance is never tested against an enrolment it is part of; ' +
        (opts.voiceprints === 'rotating' ? 'the trials share utterances, so the intervals resample speakers; ' : '') +
        'speakers without enough speech to enrol and keep one utterance to test are not enrolled, their utterances still serve as non-target tests' +
        (opts.testSeconds === null ? '' : `; only test utterances with at least ${opts.testSeconds} s of speech`) +
        (twoSides ? `; the voiceprints from the enrolment utterances ${enrolSideText}, the tests ${testSideText}` : '');
    }
    const mainIndexed = reindexSpeakers(main);
    if (mainIndexed.counts.target === 0 || mainIndexed.counts.nonTarget === 0) {
      throw new VoicePassportError(
        'validation-failed',
        `the trials have ${mainIndexed.counts.target} target and ${mainIndexed.counts.nonTarget} non-target trials; an error rate needs both (more utterances per speaker, a smaller --enrol-seconds or --test-seconds?)`,
      );
    }
    const { summary, points, bySpeaker: sortedTrials } = summariseTrials(mainIndexed.set, mainIndexed.speakers);
    const policyList = evalPolicies(calibration, scoringChannel);
    const policies = policyRates(sortedTrials, policyList).map((r, i) => {
      const p = policyList[i]!;
      const { policy, ...rest } = r;
      return {
        policy,
        targetFmr: p.targetFmr,
        targetFmrBound: p.targetFmrBound,
        thresholdFrom:
          p.targetFmr === null
            ? `the uncalibrated default threshold${calibration === undefined && engine.manifest.calibration !== undefined ? " (the manifest's calibration is on another score scale than these trials)" : ''}`
            : p.targetFmrBound === 'upper-95'
              ? `the ${p.calibration} calibration's operating table: the lowest threshold whose FMR interval over its speakers ends at most at ${p.targetFmr}`
              : `the ${p.calibration} calibration's operating table: the lowest threshold whose FMR on its trials is at most ${p.targetFmr}`,
        ...rest,
      };
    });

    // The same policies' rates on other trials (the gate's decided ones, each test duration).
    const ratesAtPolicies = (trials: SpeakerTrials): DurationPolicyRates[] =>
      policyRates(trials, policyList).map((r, i) => ({
        policy: r.policy,
        targetFmrBound: policyList[i]!.targetFmrBound,
        fmr: r.fmr,
        fmrText: r.fmrText,
        fnmr: r.fnmr,
        fnmrText: r.fnmrText,
        falseMatchPairs: r.falseMatchPairs,
      }));

    const decidedSummary = (() => {
      if (decided === null) return null;
      const indexed = reindexSpeakers(decided);
      if (indexed.counts.target === 0 || indexed.counts.nonTarget === 0) {
        return { targetTrials: indexed.counts.target, nonTargetTrials: indexed.counts.nonTarget, skipped: 'the gate leaves no target or no non-target trial' };
      }
      const d = summariseTrials(indexed.set, indexed.speakers);
      return {
        targetTrials: d.summary.targetTrials,
        nonTargetTrials: d.summary.nonTargetTrials,
        eer: d.summary.eer,
        minDcf: d.summary.minDcf,
        policies: ratesAtPolicies(d.bySpeaker),
      };
    })();

    // --- EER by test duration: segments cut to exactly d seconds of speech, embedded again ---
    const durationRows: DurationRow[] = [];
    const durationSets: EvalTrials['byDuration'] = []; // for the sink
    for (const seconds of opts.durations) {
      // Each speaker's test pool: all its utterances (all pairs) or those not in its enrolment.
      // Utterances embedded whole (no speech found) have no measured speech to count, so none join.
      // All pairs with two renderings put each segment on both sides, so it is heard both ways.
      const bothSides = twoSides && opts.trials === 'all-pairs';
      const pools = bySpeaker.map((list, speaker) => (testPools.get(speaker) ?? list).filter((r) => !r.test.vadFallback && !(bothSides && r.enrol.vadFallback)));
      const groups = pools.flatMap((pool, speaker) =>
        groupConsecutive(
          pool.map((r) => r.test.netSpeechSeconds),
          seconds,
        ).map((g) => ({ speaker, files: g.map((i) => (pool[i] as Recording).test.file) })),
      );
      const analysed = await mapBounded(
        groups,
        lanes,
        (g) =>
          settle(g.files[0] as string, async () => {
            const joined = concatenate(await Promise.all(g.files.map((f) => decodeAudioFile(f, maxSeconds))));
            const segment = async (side: 'test' | 'enrol'): Promise<Segment | null> => {
              const rendered = side === 'test' ? testInput(joined) : channelInput(joined, opts.enrolChannel, opts.law);
              const input: AnalyseInput = { ...rendered, maxSpeechSeconds: seconds, ...context };
              const a = await engine.analyse(input);
              return a.netSpeechSeconds >= seconds - DURATION_TOLERANCE_SECONDS ? { speaker: g.speaker, embedding: a.embedding, files: g.files } : null;
            };
            const test = await segment('test');
            const enrol = bothSides && test !== null ? await segment('enrol') : test;
            return test === null || enrol === null ? null : { test, enrol };
          }),
        progress(`${seconds} s segments`, groups.length),
      );
      const segments = analysed.flatMap((o) => (o.ok && o.value !== null ? [o.value] : []));
      const row: DurationRow = { seconds, segments: segments.length, droppedSegments: groups.length - segments.length, summary: null, policies: [] };
      const tests = segments.map((s) => s.test);
      const set =
        opts.trials === 'enrolment'
          ? enrolmentTrials(
              enrolled,
              tests.map((s) => ({ ...s, sources: s.files })),
              pairs,
            )
          : bothSides
            ? crossPairsTrials(
                segments.map((s) => s.enrol),
                tests,
                pairs,
              )
            : allPairsTrials(tests, pairs);
      durationSets.push({ seconds, set });
      const indexed = reindexSpeakers(set);
      if (indexed.counts.target === 0 || indexed.counts.nonTarget === 0) {
        row.skipped = `${segments.length} segments of ${seconds} s give ${indexed.counts.target} target and ${indexed.counts.nonTarget} non-target trials`;
      } else {
        const d = summariseTrials(indexed.set, indexed.speakers);
        row.summary = d.summary;
        // A policy's minimum net speech comes from these rows' EER (src/scoring/policy.ts); its
        // threshold does not change with the caller's speech, so the rates at it show what a
        // decision on this much speech is worth.
        row.policies = ratesAtPolicies(d.bySpeaker);
      }
      durationRows.push(row);
    }
    if (sink !== undefined) {
      sink({ model: engine.modelId, channel: opts.channel, scoringChannel, speakers: speakers.length, description, scale: scorer.scaleRecord(scoringChannel), main, byDuration: durationSets });
      return 0;
    }

    const wallSeconds = (performance.now() - startedAt) / 1000;
    const normalisation = scorer.describe(scoringChannel);
    const report = {
      command: 'eval',
      folder: opts.folder,
      model: engine.modelId,
      channel: opts.channel,
      enrolChannel: opts.enrolChannel,
      ...(opts.channel === 'telephone' || opts.enrolChannel === 'telephone' ? { law: opts.law } : {}),
      noise: opts.noise,
      scoringChannel,
      scoreNormalisation: normalisation.scoreNormalisation,
      asNorm:
        normalisation.scoreNormalisation === 'as-norm'
          ? { topK: normalisation.topK, cohortSpeakers: normalisation.cohort.speakers, cohortRows: normalisation.cohort.rows, cohortChannel: normalisation.cohort.channel, cohortFile: normalisation.cohort.file, requested: mode }
          : null,
      protocol: {
        trials: opts.trials,
        description,
        enrolSeconds: opts.enrolSeconds,
        voiceprints: opts.voiceprints,
        testSeconds: opts.testSeconds,
        score:
          normalisation.scoreNormalisation === 'as-norm'
            ? `AS-norm score (the API normalisedScore): ((s − μₑ)/σₑ + (s − μₜ)/σₜ)/2 of the cosine s of the two L2-normalised embeddings, μ and σ the mean and (population) standard deviation of each side's ${normalisation.topK} highest cosines against the ${normalisation.cohort.channel} cohort of ${normalisation.cohort.rows} rows from ${normalisation.cohort.speakers} speakers (${normalisation.cohort.file}); accept when score ≥ threshold`
            : 'cosine of the two L2-normalised embeddings (the API rawScore); accept when score ≥ threshold',
        policies:
          'the running model\'s default policies for this channel: set by target FMR (threshold from the calibration\'s operating table, as the service derives it) when the manifest has a calibration on this score scale, else the uncalibrated default thresholds; accept when score ≥ threshold',
        channel: cross ? `enrolment side: ${channelText(opts.enrolChannel, opts.law)}; test side: ${channelText(opts.channel, opts.law)}` : channelText(opts.channel, opts.law),
        ...(opts.noise === null
          ? {}
          : {
              noise: `test side only: ${noiseName(opts.noise)} (${opts.noise.kind === 'file' ? 'looped from an offset drawn per recording, at the recording\'s rate' : 'Gaussian, drawn per recording'}; seeded by the recording, so reruns are identical) added to the recording before its channel, at ${opts.noise.snrDb} dB under the recording's active speech level (ITU-T P.56 method B); a mixture that would clip is scaled down as a whole to a peak of ${MIXTURE_PEAK}; the enrolment side hears the recording clean`,
            }),
        scoringChannel:
          'the cohort, calibration and policy thresholds used, chosen as the service chooses them: telephone for 8 kHz audio (the telephone channel, or recordings that are all 8 kHz or less), else wideband' +
          (cross ? "; across channels, the test side's: the service scores a voiceprint against a caller with the caller's channel, both sides normalised against that channel's cohort" : ''),
        embed:
          opts.embed === 'whole'
            ? 'whole: every utterance of the main trials is embedded whole, silence included, as the reference figures were (--embed whole); net speech is still the VAD\'s; duration rows embed VAD speech'
            : `speech: the VAD's speech regions are embedded with ${contextMs} ms of audio kept either side of each (${opts.speechContextMs === undefined ? "the manifest's speechContextMs" : '--speech-context-ms'}), as the service does`,
        speechContextMs: contextMs,
        vadThreshold:
          opts.vadThreshold === undefined
            ? `the VAD's own: Silero's speech probability ${sileroSegmentationDefaults.threshold} at 16 kHz and ${NARROWBAND_SPEECH_THRESHOLD} at 8 kHz, its lower hysteresis threshold 0.15 below`
            : `${opts.vadThreshold} (--vad-threshold; the lower hysteresis threshold follows at max(${opts.vadThreshold} − 0.15, 0.01))`,
        vadFallback: 'utterances in which the VAD finds no speech (or less than one 25 ms frame) are embedded whole and counted in counts.vadFallbackUtterances; they count with their whole duration for --enrol-seconds/--test-seconds and never join duration segments',
        eerDefinition: 'FMR = FNMR on the straight segment between the two operating points where they cross (linear interpolation on the DET step)',
        minDcf: 'min over thresholds of (C_miss·P_target·FNMR + C_fa·(1−P_target)·FMR) / min(C_miss·P_target, C_fa·(1−P_target)), P_target 0.01, C_miss = C_fa = 1 (NIST SRE)',
        ruleOfThree: 'ISO/IEC 19795-1: an FMR or FNMR below 3/N (N trials) is not printed as a number but as "< 3/N"',
        durations:
          opts.durations.length === 0
            ? 'not computed (--durations none)'
            : `per speaker, consecutive ${opts.trials === 'all-pairs' ? '' : opts.voiceprints === 'rotating' ? 'test (held by not every voiceprint of the speaker) ' : 'test (non-enrolment) '}utterances in file-name order are joined until they hold at least d s of speech (a short remainder is dropped), the audio joined end to end, passed through the channel and embedded from exactly its first d s of VAD speech; ` +
              (opts.trials === 'all-pairs'
                ? twoSides
                  ? `trials: ordered pairs of two different segments, the first ${enrolSideText}, the second ${testSideText} (both sides d s; a segment with less than d s of speech on either side is dropped)`
                  : 'trials: all pairs of such segments (both sides d s)'
                : 'trials: every voiceprint above against every segment that holds none of its enrolment utterances (target when same speaker)') +
              "; each row's policies: the FMR and FNMR at the main trials' policy thresholds, which do not change with the test's speech",
      },
      counts: {
        speakers: speakers.length,
        utterances: jobs.length,
        analysed: utterances.length,
        failedUtterances: failures.length,
        vadFallbackUtterances: utterances.filter((u) => u.vadFallback).length,
        ...(twoSides ? { enrolSideVadFallbackUtterances: recordings.filter((r) => r.enrol.vadFallback).length } : {}),
        excludedByTestSeconds: excluded,
        ...(opts.trials === 'enrolment' ? { enrolledSpeakers: new Set(enrolled.map((v) => v.speaker)).size, voiceprints: enrolled.length } : {}),
        trialSpeakers: summary.speakers,
        targetTrials: summary.targetTrials,
        nonTargetTrials: summary.nonTargetTrials,
      },
      eer: summary.eer,
      minDcf: summary.minDcf,
      policies,
      // What the service's quality gate would make of the test side (every analysed utterance as the test heard it).
      testSideSnrDb: snrSpread(
        utterances.map((u) => u.snrDb),
        minSnrDb,
      ),
      qualityGate: {
        minSnrDb,
        rule:
          `a trial is decided when the service's SNR estimate of each side is at least ${minSnrDb} dB or cannot be made (verification answers inconclusive/low-snr under it, enrolment refuses the sample as too-noisy)` +
          (opts.trials === 'enrolment' ? '; voiceprints are not gated, only tests' : '') +
          '; decided: the main trials that pass, with their rates at each policy; null when every trial passes (the main figures are then the decided ones)',
        decided: decidedSummary,
      },
      byDuration: durationRows.map((r) => ({
        seconds: r.seconds,
        segments: r.segments,
        droppedSegments: r.droppedSegments,
        ...(r.summary === null
          ? { skipped: r.skipped }
          : {
              speakers: r.summary.speakers,
              targetTrials: r.summary.targetTrials,
              nonTargetTrials: r.summary.nonTargetTrials,
              eer: r.summary.eer,
              minDcf: r.summary.minDcf,
              policies: r.policies,
            }),
      })),
      failures,
      vadFallbackFiles: utterances.filter((u) => u.vadFallback).map((u) => u.file),
      ...(emptyFolders.length > 0 ? { emptySpeakerFolders: emptyFolders } : {}),
      wallSeconds: Number(wallSeconds.toFixed(1)),
    };

    const json = `${JSON.stringify(report, null, 2)}\n`;
    process.stdout.write(json);
    if (opts.out !== null) await writeFile(opts.out, json);
    if (opts.plot !== null) {
      const scores = splitScores(main);
      const marks = [
        ...policyList.map((p) => {
          const c = errorCountsAt(scores, p.threshold);
          return {
            label: p.targetFmr === null ? `${p.name} (≥ ${p.threshold})` : `${p.name} (${targetText(p.targetFmr, p.targetFmrBound)}, ≥ ${fmtThreshold(p.threshold)})`,
            fmr: c.fmr,
            fnmr: c.fnmr,
            // As the report quotes them: never a rate below 3/N (ISO/IEC 19795-1 rule of three).
            fmrText: quoteRate(c.falseMatches, c.nonTargetTrials).text,
            fnmrText: quoteRate(c.falseNonMatches, c.targetTrials).text,
          };
        }),
        { label: 'minDCF', fmr: summary.minDcf.fmr, fnmr: summary.minDcf.fnmr, fmrText: summary.minDcf.fmrText, fnmrText: summary.minDcf.fnmrText },
      ];
      const title = `${path.basename(path.resolve(opts.folder))} · ${channelsCell(opts)} · ${opts.trials} · ${engine.modelId}${normalisation.scoreNormalisation === 'as-norm' ? ` · AS-norm top-${normalisation.topK}` : ''}`;
      const subtitle = `${summary.speakers} speakers, ${summary.targetTrials} target / ${summary.nonTargetTrials} non-target trials, EER 95 % CI ${(summary.eer.ci95.low * 100).toFixed(2)}–${(summary.eer.ci95.high * 100).toFixed(2)} %`;
      await writeFile(opts.plot, detSvg({ title, subtitle, points, eer: summary.eer.value, marks }));
    }
    const modelCell = normalisation.scoreNormalisation === 'as-norm' ? `${report.model} as-norm top-${normalisation.topK}/${normalisation.cohort.rows}` : report.model;
    const labelled = policies.map((p, i) => ({ ...p, label: policyLabel(policyList[i]!) }));
    process.stderr.write(`${summaryLine(path.basename(path.resolve(opts.folder)), modelCell, opts, scoringChannel, report.counts, report.testSideSnrDb, decidedSummary, summary, labelled, durationRows, wallSeconds)}\n`);
    return 0;
  } finally {
    await engine.close();
  }
}

/** The one human-readable line on stderr. */
function summaryLine(
  name: string,
  model: string,
  opts: EvalOptions,
  scoringChannel: ScoreChannel,
  counts: { speakers: number; analysed: number; vadFallbackUtterances: number },
  snr: ReturnType<typeof snrSpread>,
  decided: { targetTrials: number; nonTargetTrials: number; eer?: { value: number } } | null,
  s: TrialSummary,
  policies: readonly (PolicyRates & { label: string })[],
  durations: readonly DurationRow[],
  wallSeconds: number,
): string {
  const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
  const cells = [
    `${name} ${channelsCell(opts)}${scoringChannel === opts.channel ? '' : ` (scored as ${scoringChannel})`} ${opts.trials}${opts.embed === 'whole' ? ' (whole utterances)' : ''} ${model}`,
    // The speakers behind the trials, not the folders read (one whose files all failed has none).
    `${s.speakers} spk, ${counts.analysed} utt (${counts.vadFallbackUtterances} whole)`,
    `${s.targetTrials}/${s.nonTargetTrials} trials`,
    `EER ${pct(s.eer.value)} [${pct(s.eer.ci95.low)}, ${pct(s.eer.ci95.high)}]`,
    `minDCF ${round6(s.minDcf.value).toFixed(3)}`,
    ...policies.map((p) => `${p.label} FMR ${p.fmrText} FNMR ${p.fnmrText}`),
    `by duration ${durations.length === 0 ? '-' : durations.map((d) => `${d.seconds}s ${d.summary === null ? 'n/a' : `${pct(d.summary.eer.value)} (${d.summary.targetTrials}/${d.summary.nonTargetTrials})`}`).join(', ')}`,
    `test SNR est. median ${snr.median === null ? 'n/a' : `${snr.median} dB`}, ${snr.underMinSnrDb} under ${snr.minSnrDb} dB` +
      (decided === null ? '' : `, decided EER ${decided.eer === undefined ? 'n/a' : pct(decided.eer.value)} (${decided.targetTrials}/${decided.nonTargetTrials})`),
    `${wallSeconds.toFixed(1)} s`,
  ];
  return `| ${cells.join(' | ')} |`;
}
