/**
 * `voice-passport cohort <folder>... [--model ID] [--channel wideband|telephone|both] [--law mulaw|alaw]
 * [--per-speaker 3] [--seconds 6] [--embed speech|whole] [--rows utterance|speaker] [--top-k 100] [--enable]
 * [--write]`: the impostor cohort of AS-norm (src/scoring/as-norm.ts) for a model.
 *
 * Each folder holds one sub-folder per speaker, as eval's (../shared/data/train: the model's training
 * speakers, so the cohort never holds a dev or enrolled caller); several folders pool their speakers
 * (e.g. the shared ones and scripts/train/debian_voices.py's), and a speaker name found in two of
 * them is refused, since it is most likely one person (or one folder given twice) and would weigh
 * double. Per speaker, its first N utterances in file-name order, each cut to its first S seconds,
 * go through the path eval uses (the telephone channel simulated for `telephone`:
 * src/evaluation/channel.ts, then the engine with its VAD, or each cut embedded whole with
 * `--embed whole`, as eval's option of that name), and each L2-normalised embedding is one row
 * (`--rows utterance`, the default). `--rows speaker` averages a speaker's embeddings and normalises
 * again (the service's voiceprint rule, equal weights): one row per speaker, as every cohort before
 * this option. Rows of utterances let the top-K statistics see each cohort speaker's spread as well
 * as where it sits, as AS-norm cohorts usually do (Matejka et al., Interspeech 2017, scored against
 * cohort recordings). This is scripts/train/cohort.py through the service's own front-end.
 *
 * Writes `<VP_MODELS_DIR>/<id>.cohort-<channel>.f32` (raw little-endian float32 [N, D]); with
 * --write also `scoreNormalisation` in the manifest (src/cli/calibrate.ts writes its calibration the
 * same way: validated, temporary file, rename), keeping its other fields; `enabled` becomes true
 * only with --enable (otherwise it stays as it was, false for a new block). A calibration fitted on
 * another score scale than the manifest now gives (e.g. cosines, when --enable switches AS-norm on)
 * is removed, and the report says so: recalibrate afterwards.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { oneOf, parseCliArgs } from './args.js';
import { VoicePassportError } from '../errors.js';
import type { Channel, G711Law } from '../evaluation/channel.js';
import { cohortFileBytes, sha256OfBytes } from '../model/cohort-file.js';
import { startCliEngine } from './engine.js';
import { calibrationScale, loadManifest, manifestSchema, sameScoreScale, scoreScaleOf, type CohortFile, type ModelCalibration, type ModelManifest, type ScoreNormalisation } from '../model/manifest.js';
import { combineEmbeddings, l2Normalise } from '../scoring/cosine.js';
import { engineAudioForFile, listSpeakers, mapBounded, progress, settle, type Speaker } from './eval.js';

const USAGE =
  'usage: voice-passport cohort <folder>... [--model ID] [--channel wideband|telephone|both] [--law mulaw|alaw] ' +
  '[--per-speaker 3] [--seconds 6] [--embed speech|whole] [--rows utterance|speaker] [--top-k 100] [--enable] [--write]';

export const DEFAULT_TOP_K = 100;

export interface CohortOptions {
  /** One or more folders of speaker sub-folders, pooled. */
  folders: string[];
  modelId: string;
  channels: Channel[];
  law: G711Law;
  perSpeaker: number;
  seconds: number;
  /** What of each cut is embedded: the VAD's speech (the service path) or all of it. */
  embed: 'speech' | 'whole';
  /** What a row of the file is: one utterance, or a speaker's utterances averaged. */
  rows: 'utterance' | 'speaker';
  /** Null: keep the manifest's, or DEFAULT_TOP_K for a new block. */
  topK: number | null;
  enable: boolean;
  write: boolean;
}

function positiveInteger(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!(Number.isInteger(v) && v >= 1 && v <= max)) throw new VoicePassportError('validation-failed', `--${name} must be an integer in [1, ${max}], got "${raw}"`);
  return v;
}

export function parseCohortArgs(argv: string[], config: Pick<Config, 'modelId'>): CohortOptions {
  const { values, positionals } = parseCliArgs(argv, {
        model: { type: 'string' },
        channel: { type: 'string' },
        law: { type: 'string' },
        'per-speaker': { type: 'string' },
        seconds: { type: 'string' },
        embed: { type: 'string' },
        rows: { type: 'string' },
        'top-k': { type: 'string' },
        enable: { type: 'boolean' },
        write: { type: 'boolean' },
      }, USAGE);
  if (positionals.length === 0) throw new VoicePassportError('validation-failed', USAGE);
  const channel = oneOf('channel', values.channel, ['wideband', 'telephone', 'both'], 'both');
  const law = oneOf('law', values.law, ['mulaw', 'alaw'], 'mulaw');
  if (values.law !== undefined && channel === 'wideband') throw new VoicePassportError('validation-failed', '--law applies to the telephone cohort only (--channel telephone or both)');
  const seconds = values.seconds === undefined ? 6 : Number(values.seconds);
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 3600)) throw new VoicePassportError('validation-failed', `--seconds must be a number of seconds in (0, 3600], got "${values.seconds}"`);
  const embed = oneOf('embed', values.embed, ['speech', 'whole'], 'speech');
  const rows = oneOf('rows', values.rows, ['utterance', 'speaker'], 'utterance');
  if (values.enable === true && values.write !== true) throw new VoicePassportError('validation-failed', '--enable changes the manifest: it needs --write');
  return {
    folders: positionals,
    modelId: values.model ?? config.modelId,
    channels: channel === 'both' ? ['wideband', 'telephone'] : [channel],
    law,
    perSpeaker: positiveInteger('per-speaker', values['per-speaker'], 3, 1000),
    seconds,
    embed,
    rows,
    topK: values['top-k'] === undefined ? null : positiveInteger('top-k', values['top-k'], DEFAULT_TOP_K, 1_000_000),
    enable: values.enable === true,
    write: values.write === true,
  };
}

/** The speakers of every folder, in folder order; a name in two folders is refused. */
export async function cohortSpeakers(folders: readonly string[]): Promise<Speaker[]> {
  const seen = new Map<string, string>();
  const speakers: Speaker[] = [];
  for (const folder of folders) {
    const { speakers: found } = await listSpeakers(folder);
    if (found.length === 0) throw new VoicePassportError('validation-failed', `${folder} has no speaker sub-folder with audio`);
    for (const s of found) {
      const other = seen.get(s.name);
      if (other !== undefined) {
        throw new VoicePassportError('validation-failed', `speaker "${s.name}" is in ${other} and in ${folder}: the same name is most likely one person, who would weigh double, so names must differ across folders`);
      }
      seen.set(s.name, folder);
      speakers.push(s);
    }
  }
  if (speakers.length < 2) {
    throw new VoicePassportError('validation-failed', `${folders.join(', ')}: ${speakers.length} speaker${speakers.length === 1 ? '' : 's'} with audio; a cohort needs at least 2`);
  }
  return speakers;
}

/** Where a cohort came from, as the manifest records it: `folder` for one, `folders` for several. */
export function folderFields(folders: readonly string[]): { folder: string } | { folders: string[] } {
  return folders.length === 1 ? { folder: folders[0] as string } : { folders: [...folders] };
}

export function cohortFileName(modelId: string, channel: Channel): string {
  return `${modelId}.cohort-${channel}.f32`;
}

/**
 * The manifest JSON with the new cohort entries merged into `scoreNormalisation` (other channels,
 * `topK` and `enabled` kept unless set), and every calibration block that is not on the scale the
 * new block gives its channel removed (all of it when the wideband one goes: telephone needs it).
 * Pure; the result is validated against the manifest schema. Throws validation-failed for a
 * telephone cohort without a wideband one.
 */
export function mergeScoreNormalisation(
  json: Record<string, unknown> & Pick<ModelManifest, 'scoreNormalisation' | 'calibration'>,
  entries: Partial<Record<Channel, CohortFile>>,
  options: { topK: number | null; enable: boolean },
): { json: Record<string, unknown>; scoreNormalisation: ScoreNormalisation; calibrationRemoved: Channel[] } {
  const existing = json.scoreNormalisation;
  const wideband = entries.wideband ?? existing?.cohorts.wideband;
  if (wideband === undefined) {
    throw new VoicePassportError('validation-failed', 'the manifest has no wideband cohort yet: make it first (--channel wideband or both); telephone audio falls back to it');
  }
  const telephone = entries.telephone ?? existing?.cohorts.telephone;
  const scoreNormalisation: ScoreNormalisation = {
    method: 'as-norm',
    enabled: options.enable || (existing?.enabled ?? false),
    topK: options.topK ?? existing?.topK ?? DEFAULT_TOP_K,
    cohorts: telephone === undefined ? { wideband } : { wideband, telephone },
  };
  const out: Record<string, unknown> & Pick<ModelManifest, 'scoreNormalisation' | 'calibration'> = { ...json, scoreNormalisation };
  const calibrationRemoved: Channel[] = [];
  const calibration = json.calibration;
  if (calibration !== undefined) {
    const stale = (ch: Channel) => {
      const block = calibration[ch];
      return block !== undefined && !sameScoreScale(calibrationScale(block), scoreScaleOf({ scoreNormalisation }, ch));
    };
    if (stale('wideband')) {
      calibrationRemoved.push('wideband', ...(calibration.telephone === undefined ? [] : (['telephone'] as const)));
      delete out.calibration;
    } else if (stale('telephone')) {
      calibrationRemoved.push('telephone');
      const { telephone: _gone, ...kept } = calibration;
      out.calibration = kept as ModelCalibration;
    }
  }
  const checked = manifestSchema.safeParse(out);
  if (!checked.success) {
    throw new VoicePassportError('internal', `the manifest would be invalid: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return { json: out, scoreNormalisation, calibrationRemoved };
}

async function writeAtomically(file: string, bytes: Uint8Array | string): Promise<() => Promise<void>> {
  const temp = `${file}.${randomUUID()}.tmp`;
  await writeFile(temp, bytes, { flag: 'wx' });
  return async () => {
    try {
      await rename(temp, file);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw e;
    }
  };
}

interface ChannelResult {
  channel: Channel;
  /** [rows, dim], row-major. */
  rows: Float32Array;
  speakers: number;
  utterances: number;
  failures: { file: string; code: string; message: string }[];
  vadFallbackUtterances: number;
  speakersWithoutEmbedding: string[];
}

export async function cohortCommand(argv: string[], config: Readonly<Config>, now: () => Date = () => new Date()): Promise<number> {
  const startedAt = performance.now();
  const opts = parseCohortArgs(argv, config);
  const speakers = await cohortSpeakers(opts.folders);
  // Checked first (sha256 included): the cohort is bound to these exact weights.
  const manifest = await loadManifest(config.modelsDir, opts.modelId);
  const referenced = new Set(Object.values(manifest.scoreNormalisation?.cohorts ?? {}).map((c) => c.file));
  for (const channel of opts.channels) {
    const name = cohortFileName(opts.modelId, channel);
    if (!opts.write && referenced.has(name)) {
      throw new VoicePassportError(
        'validation-failed',
        `${path.join(config.modelsDir, name)} is a cohort of model "${opts.modelId}"'s manifest; replacing it without updating the manifest (its sha256) would stop the model loading: add --write`,
      );
    }
  }
  if (opts.write && !opts.channels.includes('wideband') && manifest.scoreNormalisation === undefined) {
    throw new VoicePassportError('validation-failed', 'the manifest has no wideband cohort yet: make it first (--channel wideband or both); telephone audio falls back to it');
  }

  const maxSeconds = config.maxAudioSeconds;
  const engine = await startCliEngine(config, opts.modelId);
  const dim = manifest.embeddingDim;
  const lanes = Math.max(1, config.workers) * 2;
  const results: ChannelResult[] = [];
  try {
    for (const channel of opts.channels) {
      const jobs = speakers.flatMap((s, speaker) => s.files.slice(0, opts.perSpeaker).map((file) => ({ speaker, file })));
      const outcomes = await mapBounded(
        jobs,
        lanes,
        (job) =>
          settle(job.file, async () => {
            const input = await engineAudioForFile(job.file, { channel, law: opts.law, maxSeconds, firstSeconds: opts.seconds });
            const a = await engine.analyse({ ...input, vadFallback: 'whole', embed: opts.embed });
            return { speaker: job.speaker, embedding: a.embedding, vadFallback: a.vadFallbackUsed === true };
          }),
        progress(`${channel} utterances`, jobs.length, 'cohort'),
      );
      const ok = outcomes.flatMap((o) => (o.ok ? [o.value] : []));
      const rows: Float32Array[] = [];
      const missing: string[] = [];
      speakers.forEach((s, speaker) => {
        const mine = ok.filter((u) => u.speaker === speaker);
        if (mine.length === 0) missing.push(s.name);
        else if (opts.rows === 'speaker') rows.push(combineEmbeddings(mine.map((u) => ({ embedding: u.embedding, weight: 1 }))));
        else for (const u of mine) rows.push(l2Normalise(u.embedding));
      });
      if (rows.length === 0) throw new VoicePassportError('validation-failed', `no utterance of ${opts.folders.join(', ')} could be embedded for the ${channel} cohort`);
      const matrix = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => {
        if (r.length !== dim) throw new VoicePassportError('model-invalid', `model "${opts.modelId}" gave ${r.length}-dimensional embeddings, its manifest says ${dim}`);
        matrix.set(r, i * dim);
      });
      results.push({
        channel,
        rows: matrix,
        speakers: speakers.length - missing.length,
        utterances: ok.length,
        failures: outcomes.flatMap((o) => (o.ok ? [] : [{ file: o.file, code: o.code, message: o.message }])),
        vadFallbackUtterances: ok.filter((u) => u.vadFallback).length,
        speakersWithoutEmbedding: missing,
      });
    }
  } finally {
    await engine.close();
  }

  // Everything is written to temporary files first, then renamed: cohort files, then the manifest.
  const createdAt = now().toISOString();
  const entries: Partial<Record<Channel, CohortFile>> = {};
  const commits: (() => Promise<void>)[] = [];
  const files: { channel: Channel; file: string; sha256: string; bytes: number }[] = [];
  for (const r of results) {
    const bytes = cohortFileBytes(r.rows);
    const name = cohortFileName(opts.modelId, r.channel);
    const file = path.resolve(config.modelsDir, name);
    const sha256 = sha256OfBytes(bytes);
    commits.push(await writeAtomically(file, bytes));
    files.push({ channel: r.channel, file, sha256, bytes: bytes.length });
    entries[r.channel] = {
      file: name,
      sha256,
      speakers: r.speakers,
      ...(opts.rows === 'utterance' ? { rows: r.rows.length / dim } : {}),
      source: {
        ...folderFields(opts.folders),
        utterancesPerSpeaker: opts.perSpeaker,
        row: opts.rows,
        seconds: opts.seconds,
        embed: opts.embed,
        channel: r.channel,
        ...(r.channel === 'telephone' ? { law: opts.law } : {}),
        createdAt,
        modelSha256: manifest.sha256,
        description: `${opts.rows === 'speaker' ? `one embedding per speaker: the L2-normalised mean of its first ${opts.perSpeaker} utterances` : `one L2-normalised embedding per utterance: each speaker's first ${opts.perSpeaker}`} (file-name order), each cut to ${opts.seconds} s, ${opts.embed === 'whole' ? 'embedded whole' : 'its VAD speech embedded'} through the service's ${r.channel} path (voice-passport cohort)`,
      },
    };
  }
  let merged: ReturnType<typeof mergeScoreNormalisation> | null = null;
  let manifestFile: string | null = null;
  if (opts.write) {
    manifestFile = path.resolve(config.modelsDir, `${opts.modelId}.json`);
    const json = JSON.parse(await readFile(manifestFile, 'utf8')) as Parameters<typeof mergeScoreNormalisation>[0];
    merged = mergeScoreNormalisation(json, entries, { topK: opts.topK, enable: opts.enable });
    commits.push(await writeAtomically(manifestFile, `${JSON.stringify(merged.json, null, 2)}\n`));
  }
  for (const commit of commits) await commit();
  // The manifest as the service will read it: cohort files, sizes and sha256 checked again.
  if (opts.write) await loadManifest(config.modelsDir, opts.modelId);

  const wallSeconds = (performance.now() - startedAt) / 1000;
  const report = {
    command: 'cohort',
    model: opts.modelId,
    ...folderFields(opts.folders),
    perSpeaker: opts.perSpeaker,
    seconds: opts.seconds,
    embed: opts.embed,
    rows: opts.rows,
    cohorts: results.map((r, i) => ({
      channel: r.channel,
      ...(r.channel === 'telephone' ? { law: opts.law } : {}),
      file: files[i]!.file,
      sha256: files[i]!.sha256,
      speakers: r.speakers,
      rows: r.rows.length / dim,
      dim,
      bytes: files[i]!.bytes,
      utterances: r.utterances,
      failedUtterances: r.failures.length,
      vadFallbackUtterances: r.vadFallbackUtterances,
      speakersWithoutEmbedding: r.speakersWithoutEmbedding,
      failures: r.failures,
    })),
    written: manifestFile,
    scoreNormalisation: merged?.scoreNormalisation ?? null,
    calibrationRemoved: merged?.calibrationRemoved ?? [],
    next:
      merged === null
        ? 'not written to the manifest (--write)'
        : merged.calibrationRemoved.length > 0
          ? `the ${merged.calibrationRemoved.join(' and ')} calibration was fitted on another score scale and was removed: run voice-passport calibrate --write again`
          : merged.scoreNormalisation.enabled
            ? 'AS-norm is enabled: calibrate on this scale (voice-passport calibrate --write) before serving, so policies set by target FMR get thresholds on it'
            : 'AS-norm is written but not enabled: compare with voice-passport eval --score-normalisation as-norm and none, then rerun with --enable --write',
    wallSeconds: Number(wallSeconds.toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(
    `| cohort ${opts.modelId} | ${opts.folders.map((f) => path.basename(path.resolve(f))).join(' + ')} | ${results.map((r) => `${r.channel} ${r.speakers} spk, ${r.rows.length / dim} rows × ${dim} (${r.utterances} utt, ${r.failures.length} failed)`).join(' | ')} | ` +
      `${merged === null ? 'manifest not written (--write)' : `top-${merged.scoreNormalisation.topK}, ${merged.scoreNormalisation.enabled ? 'enabled' : 'not enabled'}${merged.calibrationRemoved.length > 0 ? `, calibration removed (${merged.calibrationRemoved.join(', ')})` : ''}`} | ${wallSeconds.toFixed(1)} s |\n`,
  );
  return 0;
}
