/**
 * `voice-passport calibrate <folder>... [--channel wideband|telephone] [--model ID] [--write]`:
 * runs the evaluation harness (src/cli/eval.ts, the same trials and channel simulation) over one or
 * more dev folders, pools their trials, and fits what the service needs to turn cosines into
 * decisions an operator can reason about (src/scoring/calibration.ts):
 *
 *  - the logistic map llr = a·score + b (prior-weighted cross-entropy, effective prior 0.5 unless
 *    --prior), with Cllr before and after, where the score is eval's: the service's comparison score
 *    (the cosine, or the AS-norm score when the manifest enables scoreNormalisation; the calibration
 *    records which, and loadManifest refuses it on another scale);
 *  - the operating table (threshold, FMR, FNMR) from the pooled non-target and target scores, from
 *    which policies derive thresholds for a target FMR, and the trial counts behind it; each row's
 *    rates carry a 95 % interval over resampled speakers (src/evaluation/confidence.ts);
 *  - the EER by test duration (pooled over the folders), from which policies take their minimum
 *    net speech.
 *
 * Prints the result as JSON; with --write, stores it as `calibration.<channel>` in
 * `<VP_MODELS_DIR>/<id>.json` (the ONNX file and its sha256 are untouched; the other channel's
 * calibration is kept). The service reads it at start.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { oneOf, parseCliArgs } from './args.js';
import { VoicePassportError } from '../errors.js';
import { equalErrorRate, operatingPoints, quoteRate, sortTrials, type TrialScores } from '../evaluation/metrics.js';
import { falseMatchPairs, speakerBootstrapRates, type RateInterval } from '../evaluation/confidence.js';
import { roundInterval } from '../evaluation/summary.js';
import { poolTrialSets, speakerTrials, splitScores } from '../evaluation/trials.js';
import { calibrationScale, loadManifest, manifestSchema, sameScoreScale, scoreScaleOf, type ChannelCalibration, type ModelCalibration, type ScoreScaleRecord } from '../model/manifest.js';
import { applyCalibration, cllr, defaultEffectivePrior, fitLogisticCalibration, MIN_FALSE_MATCH_PAIRS, operatingTable, targetFmrBounds, thresholdForFmr, type TargetFmrBound } from '../scoring/calibration.js';
import { calibratedDefaultTargets, derivedMinNetSpeech, type ScoreChannel } from '../scoring/policy.js';
import { evalCommand, evalTrialOptions, type EvalTrials } from './eval.js';

const USAGE =
  'usage: voice-passport calibrate <folder>... [--channel wideband|telephone] [--law mulaw|alaw] [--trials all-pairs|enrolment] ' +
  '[--enrol-seconds S] [--voiceprints first|rotating] [--test-seconds S] [--durations 2,3,5,10|none] [--across-channels] [--prior P] [--model ID] [--write]';

/** Eval's trial options, passed through unchanged (eval validates them); --channel and --model are always given. */
const passThrough = Object.keys(evalTrialOptions) as (keyof typeof evalTrialOptions)[];

export interface CalibrateOptions {
  folders: string[];
  channel: ScoreChannel;
  prior: number;
  write: boolean;
  modelId: string;
  /** argv for evalCommand, without the folder. */
  evalArgs: string[];
  /**
   * Also measure the EER by duration of voiceprints enrolled on the other channel against callers
   * on this one (eval --enrol-channel), for the policies' minimum net speech.
   */
  acrossChannels: boolean;
}

/** The other channel: where a voiceprint was enrolled when it meets callers on `channel`. */
const otherChannel = (channel: ScoreChannel): ScoreChannel => (channel === 'wideband' ? 'telephone' : 'wideband');

export function parseCalibrateArgs(argv: string[], config: Pick<Config, 'modelId'>): CalibrateOptions {
  const { values, positionals } = parseCliArgs(
    argv,
    { ...evalTrialOptions, prior: { type: 'string' }, write: { type: 'boolean' }, 'across-channels': { type: 'boolean' } },
    USAGE,
  );
  if (positionals.length === 0) throw new VoicePassportError('validation-failed', USAGE);
  const channel = oneOf('channel', values.channel, ['wideband', 'telephone'], 'wideband');
  const prior = values.prior === undefined ? defaultEffectivePrior : Number(values.prior);
  if (!(prior > 0 && prior < 1)) throw new VoicePassportError('validation-failed', `--prior must be a probability in (0, 1), got "${values.prior}"`);
  const modelId = values.model ?? config.modelId;
  const evalArgs: string[] = ['--channel', channel, '--model', modelId];
  for (const k of passThrough) {
    const v = values[k];
    if (v !== undefined && k !== 'channel' && k !== 'model') evalArgs.push(`--${k}`, v);
  }
  const acrossChannels = values['across-channels'] === true;
  if (acrossChannels && values.durations === 'none') {
    throw new VoicePassportError('validation-failed', '--across-channels measures EER by duration; it cannot go with --durations none');
  }
  return { folders: positionals, channel, prior, write: values.write === true, modelId, evalArgs, acrossChannels };
}

function concat(parts: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Target and non-target scores of several trial sets, pooled. */
export function poolScores(sets: readonly TrialScores[]): { target: Float64Array; nonTarget: Float64Array } {
  return { target: concat(sets.map((s) => s.target)), nonTarget: concat(sets.map((s) => s.nonTarget)) };
}

const round6 = (v: number) => Number(v.toFixed(6));

/** Replicates and seed of the operating table's speaker bootstrap: seeded, so a rerun writes the same intervals. */
const BOOTSTRAP = { replicates: 1000, seed: 1 };

export interface CalibrationFit {
  block: ChannelCalibration;
  /**
   * Per folder (in order): its own EER, and Cllr of its trials under the pooled calibration. A
   * calibrated Cllr far above the pooled one says the folder's scores sit elsewhere than the pool's.
   */
  perFolder: { targetTrials: number; nonTargetTrials: number; eer: number; cllrRaw: number; cllrCalibrated: number }[];
  /** What the calibrated default policies would get on this channel, under each bound of the target. */
  defaultPolicies: {
    name: string;
    targetFmr: number;
    targetFmrBound: TargetFmrBound;
    threshold: number;
    llrThreshold: number;
    fmr: number;
    fnmr: number;
    fmrInterval: RateInterval | null;
    fnmrInterval: RateInterval | null;
    /** Pairs of calibration speakers with a false match at the threshold. */
    falseMatchPairs: number;
    supported: boolean;
    lowestSupportedFmr: number;
    limitedBy: 'trials' | 'speaker-pairs';
  }[];
}

/** EER by test duration: each duration's trials pooled over the runs that have both kinds. */
export function durationTable(runs: readonly Pick<EvalTrials, 'byDuration'>[]): NonNullable<ChannelCalibration['durations']> {
  const seconds = [...new Set(runs.flatMap((r) => r.byDuration.map((d) => d.seconds)))].sort((x, y) => x - y);
  return seconds.flatMap((s) => {
    // A run whose row at this duration lacks one kind (one speaker reached it) is left out, as eval
    // skips that row: its non-targets alone would pool in as easy trials and flatter the EER.
    const complete = runs.flatMap((r) => r.byDuration.filter((d) => d.seconds === s).map((d) => splitScores(d.set))).filter((x) => x.target.length > 0 && x.nonTarget.length > 0);
    const scores = poolScores(complete);
    if (scores.target.length === 0 || scores.nonTarget.length === 0) return [];
    return [{ seconds: s, eer: round6(equalErrorRate(operatingPoints(sortTrials(scores))).eer), targetTrials: scores.target.length, nonTargetTrials: scores.nonTarget.length }];
  });
}

/**
 * Everything `calibrate` stores for one channel, from the runs over the folders (and, with
 * `across`, the runs of voiceprints enrolled on the other channel, for their duration table).
 * Pure: the trials in, the manifest block out. Throws VoicePassportError when the trials cannot be
 * calibrated.
 */
export function calibrateChannel(
  runs: readonly EvalTrials[],
  options: { prior: number; sets: string[]; now: Date; modelSha256?: string; across?: { enrolChannel: ScoreChannel; runs: readonly Pick<EvalTrials, 'byDuration'>[] } },
): CalibrationFit {
  const scale: ScoreScaleRecord = runs[0]?.scale ?? { method: 'none' };
  if (runs.some((r) => !sameScoreScale(r.scale ?? { method: 'none' }, scale))) throw new VoicePassportError('internal', 'the folders were scored on different score scales');
  const perRun = runs.map((r) => splitScores(r.main));
  // The folders' trials as one set, speakers numbered apart (for the bootstrap below); its scores
  // are poolScores(perRun), in the same order.
  const bySpeaker = poolTrialSets(runs.map((r) => r.main));
  const pooled = splitScores(bySpeaker.set);
  let fit;
  try {
    fit = fitLogisticCalibration(pooled, { prior: options.prior });
  } catch (e) {
    throw new VoicePassportError('validation-failed', `cannot calibrate on these trials: ${(e as Error).message}`, {
      targetTrials: pooled.target.length,
      nonTargetTrials: pooled.nonTarget.length,
    });
  }
  const calibrated = { target: pooled.target.map((s) => applyCalibration(fit, s)), nonTarget: pooled.nonTarget.map((s) => applyCalibration(fit, s)) };
  // Each row's FMR and FNMR with a 95 % interval over resampled speakers (ISO/IEC 19795-1: trials
  // of one person are not independent), so an operator sees how far a new population may differ,
  // and the pairs of speakers its false matches come from (how few a low FMR rests on).
  const trialsBySpeaker = speakerTrials(bySpeaker.set, bySpeaker.speakers);
  const rows = operatingTable(pooled);
  const thresholds = rows.map((r) => r.threshold);
  const boot = speakerBootstrapRates(trialsBySpeaker, thresholds, BOOTSTRAP);
  const pairs = falseMatchPairs(trialsBySpeaker, thresholds);
  const table = rows.map((r, k) => ({ ...r, fmrInterval: roundInterval(boot.intervals[k]!.fmr), fnmrInterval: roundInterval(boot.intervals[k]!.fnmr), falseMatchPairs: pairs[k]! }));
  const eer = equalErrorRate(operatingPoints(trialsBySpeaker.sorted)).eer;

  const durations = durationTable(runs);
  const acrossDurations = options.across === undefined ? [] : durationTable(options.across.runs);

  const block: ChannelCalibration = {
    a: fit.a,
    b: fit.b,
    // The speakers behind the trials (a folder whose files all failed adds none).
    trials: { target: pooled.target.length, nonTarget: pooled.nonTarget.length, speakers: bySpeaker.speakers },
    cllr: { raw: round6(cllr(pooled)), calibrated: round6(cllr(calibrated)) },
    eer: round6(eer),
    operatingPoints: table,
    bootstrap: { replicates: boot.replicates, requested: boot.requested, seed: boot.seed, method: boot.method },
    ...(durations.length > 0 ? { durations } : {}),
    ...(options.across !== undefined && acrossDurations.length > 0 ? { acrossChannels: { enrolChannel: options.across.enrolChannel, durations: acrossDurations } } : {}),
    effectivePrior: options.prior,
    data: {
      sets: options.sets,
      protocol: `${runs[0]?.channel ?? 'wideband'}; ${runs[0]?.description ?? ''}`,
      createdAt: options.now.toISOString(),
      ...(options.modelSha256 === undefined ? {} : { modelSha256: options.modelSha256 }),
      // Cosine calibrations record nothing (absent means cosines); AS-norm ones their top-K and cohort.
      ...(scale.method === 'none' ? {} : { scoreNormalisation: scale }),
    },
  };
  // Each default tier under both bounds (README, Policies), so an operator sees the trade-off before choosing.
  const defaultPolicies = calibratedDefaultTargets.flatMap(({ name, targetFmr }) =>
    targetFmrBounds.map((targetFmrBound) => {
      const t = thresholdForFmr(table, targetFmr, pooled.nonTarget.length, targetFmrBound);
      return {
        name,
        targetFmr,
        targetFmrBound,
        threshold: t.threshold,
        llrThreshold: applyCalibration(fit, t.threshold),
        fmr: t.fmr,
        fnmr: t.fnmr,
        fmrInterval: t.fmrInterval ?? null,
        fnmrInterval: t.fnmrInterval ?? null,
        falseMatchPairs: t.falseMatchPairs!,
        supported: t.supported,
        lowestSupportedFmr: t.lowestSupportedFmr,
        limitedBy: t.limitedBy,
      };
    }),
  );
  const perFolder = perRun.map((s) => {
    const cal = (x: ArrayLike<number>) => Array.from(x, (v) => applyCalibration(fit, v));
    const hasBoth = s.target.length > 0 && s.nonTarget.length > 0;
    return {
      targetTrials: s.target.length,
      nonTargetTrials: s.nonTarget.length,
      eer: hasBoth ? round6(equalErrorRate(operatingPoints(sortTrials(s))).eer) : NaN,
      cllrRaw: hasBoth ? round6(cllr(s)) : NaN,
      cllrCalibrated: hasBoth ? round6(cllr({ target: cal(s.target), nonTarget: cal(s.nonTarget) })) : NaN,
    };
  });
  return { block, perFolder, defaultPolicies };
}

/**
 * Stores `block` as `calibration.<channel>` in `<modelsDir>/<id>.json`, keeping everything else
 * (the other channel's calibration included). The manifest is checked (sha256 included) before, the
 * result validated before it replaces the file (write to a temporary file, then rename: a crash
 * never leaves a half-written manifest). Returns the manifest's path.
 */
export async function writeCalibration(modelsDir: string, id: string, channel: ScoreChannel, block: ChannelCalibration): Promise<string> {
  await loadManifest(modelsDir, id);
  const file = path.resolve(modelsDir, `${id}.json`);
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> & { calibration?: ModelCalibration };
  const existing = json.calibration;
  if (channel === 'telephone' && existing === undefined) {
    throw new VoicePassportError('validation-failed', `model "${id}" has no wideband calibration yet; run calibrate with --channel wideband --write first (telephone audio falls back to wideband)`);
  }
  json.calibration = { ...(existing ?? { method: 'logistic' }), method: 'logistic', [channel]: block } as ModelCalibration;
  const checked = manifestSchema.safeParse(json);
  if (!checked.success) {
    throw new VoicePassportError('internal', `the calibrated manifest would be invalid: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  // The trials were scored on the manifest's scale when calibrate started; it must still be that one.
  if (!sameScoreScale(calibrationScale(block), scoreScaleOf(checked.data, channel))) {
    throw new VoicePassportError('validation-failed', `the scoreNormalisation of model "${id}" changed while calibrating; run calibrate again`);
  }
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(json, null, 2)}\n`, { flag: 'wx' });
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  return file;
}

export async function calibrateCommand(argv: string[], config: Readonly<Config>, now: () => Date = () => new Date()): Promise<number> {
  const opts = parseCalibrateArgs(argv, config);
  // Checked first (sha256 included): the calibration is bound to these exact weights.
  const manifest = await loadManifest(config.modelsDir, opts.modelId);
  const runs: EvalTrials[] = [];
  for (const folder of opts.folders) {
    process.stderr.write(`calibrate: ${folder} (${opts.channel})\n`);
    await evalCommand([folder, ...opts.evalArgs], config, (t) => runs.push(t));
    const run = runs[runs.length - 1];
    // The service scores 8 kHz audio with the telephone calibration: a wideband calibration fitted
    // on such audio would sit where the service never reads it (and on the telephone cohort's scale).
    if (run !== undefined && run.scoringChannel !== opts.channel) {
      throw new VoicePassportError(
        'validation-failed',
        `${folder} holds only 8 kHz audio, which the service scores as ${run.scoringChannel}; calibrate it with --channel ${run.scoringChannel}`,
      );
    }
  }
  // Voiceprints enrolled on the other channel, tested on this one: only their duration rows are kept.
  const acrossRuns: EvalTrials[] = [];
  if (opts.acrossChannels) {
    for (const folder of opts.folders) {
      process.stderr.write(`calibrate: ${folder} (enrolled ${otherChannel(opts.channel)}, tested ${opts.channel})\n`);
      await evalCommand([folder, ...opts.evalArgs, '--enrol-channel', otherChannel(opts.channel)], config, (t) => acrossRuns.push(t));
    }
  }
  const { block, perFolder, defaultPolicies } = calibrateChannel(runs, {
    prior: opts.prior,
    sets: opts.folders,
    now: now(),
    modelSha256: manifest.sha256,
    ...(opts.acrossChannels ? { across: { enrolChannel: otherChannel(opts.channel), runs: acrossRuns } } : {}),
  });
  const written = opts.write ? await writeCalibration(config.modelsDir, opts.modelId, opts.channel, block) : null;
  const minSpeech = Object.fromEntries(
    calibratedDefaultTargets.map(({ name, targetFmr }) => [name, derivedMinNetSpeech(targetFmr, { method: 'logistic', wideband: block }).seconds]),
  );
  const asNorm = calibrationScale(block).method === 'as-norm';
  const report = {
    command: 'calibrate',
    model: opts.modelId,
    channel: opts.channel,
    folders: opts.folders,
    ...(asNorm ? { scoreNormalisation: calibrationScale(block) } : {}),
    perFolder: runs.map((r, i) => ({ folder: opts.folders[i], speakers: r.speakers, ...perFolder[i]! })),
    calibration: { a: block.a, b: block.b, effectivePrior: opts.prior, scale: asNorm ? 'natural-log likelihood ratio: llr = a·(AS-norm score) + b' : 'natural-log likelihood ratio: llr = a·cosine + b' },
    trials: block.trials,
    cllr: block.cllr,
    eer: block.eer,
    defaultPolicies: defaultPolicies.map((p) => ({ ...p, minNetSpeechSeconds: minSpeech[p.name] })),
    durations: block.durations ?? [],
    ...(block.acrossChannels === undefined ? {} : { acrossChannels: block.acrossChannels }),
    operatingPoints: block.operatingPoints,
    written,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
  // The policies' rates are counts over the calibration trials: quoted as eval quotes them (never below 3/N).
  const quoted = (rate: number, trials: number) => quoteRate(Math.round(rate * trials), trials).text;
  const interval = (i: RateInterval | null) => (i === null ? '' : ` [${(i.low * 100).toFixed(2)}, ${(i.high * 100).toFixed(2)}]`);
  process.stderr.write(
    `| calibrate ${opts.channel} ${opts.modelId} | ${opts.folders.map((f) => path.basename(path.resolve(f))).join('+')} | ${block.trials!.target}/${block.trials!.nonTarget} trials | ` +
      `a ${block.a.toFixed(3)} b ${block.b.toFixed(3)} | Cllr ${block.cllr!.raw.toFixed(3)} → ${block.cllr!.calibrated.toFixed(3)} | EER ${pct(block.eer!)} | ` +
      `${defaultPolicies.map((p) => `${p.name}${p.targetFmrBound === 'estimate' ? '' : ` (${p.targetFmrBound})`} FMR ${quoted(p.fmr, block.trials!.nonTarget)}${interval(p.fmrInterval)} FNMR ${quoted(p.fnmr, block.trials!.target)}${interval(p.fnmrInterval)} at ${asNorm ? 'as-norm' : 'cos'} ≥ ${p.threshold.toFixed(4)}, false matches from ${p.falseMatchPairs} speaker pair${p.falseMatchPairs === 1 ? '' : 's'}${p.supported ? '' : ` (unsupported: below ${pct(p.lowestSupportedFmr)}, ${p.limitedBy === 'trials' ? '3/N' : `fewer than ${MIN_FALSE_MATCH_PAIRS} pairs`})`}`).join(' | ')} | ${written ? `written to ${written}` : 'not written (--write)'} |\n`,
  );
  return 0;
}
