/**
 * AS-norm in the CLI: `voice-passport cohort` (options, the manifest merge, end to end with the test
 * model on generated speakers), eval's `--score-normalisation` and its report, eval's policy rows
 * from the running model's default policies, and calibrate recording the score scale.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrateChannel } from '../../src/cli/calibrate.js';
import { cohortFileName, cohortSpeakers, folderFields, mergeScoreNormalisation, parseCohortArgs } from '../../src/cli/cohort.js';
import { evalCommand, evalPolicies, parseEvalArgs, type EvalTrials } from '../../src/cli/eval.js';
import { loadConfig } from '../../src/config.js';
import { isVoicePassportError } from '../../src/errors.js';
import type { TrialSet } from '../../src/evaluation/trials.js';
import { loadManifest, type ModelCalibration } from '../../src/model/manifest.js';
import { operatingTable } from '../../src/scoring/calibration.js';
import { effectiveThreshold } from '../../src/scoring/policy.js';
import { speechLike } from '../model/speech-like.js';
import { wav } from '../model/wav.js';
import { cliError, repoRoot, runCli, tempDir } from './run-cli.js';

const refused = (f: () => unknown): [string, string] | string => {
  try {
    f();
  } catch (e) {
    return isVoicePassportError(e) ? [e.code, e.message.split('\n')[0]!] : String(e);
  }
  return 'accepted';
};

describe('parseCohortArgs', () => {
  it('defaults: both channels, µ-law, 3 utterances of 6 s per speaker, top-K kept or 100, nothing written', () => {
    expect(parseCohortArgs(['train'], { modelId: 'vp' })).toEqual({
      folders: ['train'],
      modelId: 'vp',
      channels: ['wideband', 'telephone'],
      law: 'mulaw',
      perSpeaker: 3,
      seconds: 6,
      embed: 'speech',
      rows: 'utterance',
      topK: null,
      enable: false,
      write: false,
    });
    expect(parseCohortArgs(['t', 'u', '--model', 'm', '--channel', 'telephone', '--law', 'alaw', '--per-speaker', '5', '--seconds', '2.5', '--embed', 'whole', '--rows', 'speaker', '--top-k', '50', '--enable', '--write'], { modelId: 'vp' })).toEqual({
      folders: ['t', 'u'],
      modelId: 'm',
      channels: ['telephone'],
      law: 'alaw',
      perSpeaker: 5,
      seconds: 2.5,
      embed: 'whole',
      rows: 'speaker',
      topK: 50,
      enable: true,
      write: true,
    });
  });

  it('refuses what it cannot honour', () => {
    const p = (argv: string[]) => refused(() => parseCohortArgs(argv, { modelId: 'vp' }));
    expect(p([])).toEqual(['validation-failed', expect.stringMatching(/^usage: voice-passport cohort <folder>/)]);
    expect(p(['t', '--channel', 'gsm'])).toEqual(['validation-failed', '--channel must be one of wideband, telephone, both, got "gsm"']);
    expect(p(['t', '--channel', 'wideband', '--law', 'alaw'])).toEqual(['validation-failed', '--law applies to the telephone cohort only (--channel telephone or both)']);
    expect(p(['t', '--per-speaker', '0'])).toEqual(['validation-failed', '--per-speaker must be an integer in [1, 1000], got "0"']);
    expect(p(['t', '--top-k', '2.5'])).toEqual(['validation-failed', '--top-k must be an integer in [1, 1000000], got "2.5"']);
    expect(p(['t', '--seconds', '0'])).toEqual(['validation-failed', '--seconds must be a number of seconds in (0, 3600], got "0"']);
    expect(p(['t', '--embed', 'vad'])).toEqual(['validation-failed', '--embed must be one of speech, whole, got "vad"']);
    expect(p(['t', '--rows', 'file'])).toEqual(['validation-failed', '--rows must be one of utterance, speaker, got "file"']);
    expect(p(['t', '--enable'])).toEqual(['validation-failed', '--enable changes the manifest: it needs --write']);
  });
});

describe('cohortSpeakers', () => {
  const root = tempDir('vp-cohort-folders-');
  const speaker = (folder: string, name: string, files = ['a.wav']) => {
    fs.mkdirSync(path.join(root, folder, name), { recursive: true });
    for (const f of files) fs.writeFileSync(path.join(root, folder, name, f), wav(new Float32Array(800), 8000));
  };
  speaker('shared', 'anna', ['2.wav', '1.wav']);
  speaker('shared', 'bert');
  speaker('extra', 'cas');
  fs.writeFileSync(path.join(root, 'extra', 'index.tsv'), 'speaker\tpath\n');
  speaker('twin', 'bert');
  fs.mkdirSync(path.join(root, 'empty', 'nobody'), { recursive: true });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const at = (...names: string[]) => names.map((n) => path.join(root, n));

  it('pools the folders in order, each speaker\'s files sorted; a folder may hold one speaker and other files', async () => {
    expect(await cohortSpeakers(at('shared', 'extra'))).toEqual([
      { name: 'anna', files: at('shared/anna/1.wav', 'shared/anna/2.wav') },
      { name: 'bert', files: at('shared/bert/a.wav') },
      { name: 'cas', files: at('extra/cas/a.wav') },
    ]);
  });

  it('refuses a name in two folders (the same folder twice too), a folder without speakers, and fewer than 2 speakers in all', async () => {
    const fails = async (folders: string[]) => cohortSpeakers(folders).then(() => 'accepted', (e: unknown) => (isVoicePassportError(e) ? [e.code, e.message] : String(e)));
    const [shared, twin, extra, empty] = at('shared', 'twin', 'extra', 'empty');
    expect(await fails([shared!, twin!])).toEqual(['validation-failed', `speaker "bert" is in ${shared} and in ${twin}: the same name is most likely one person, who would weigh double, so names must differ across folders`]);
    expect(await fails([shared!, shared!])).toEqual(['validation-failed', `speaker "anna" is in ${shared} and in ${shared}: the same name is most likely one person, who would weigh double, so names must differ across folders`]);
    expect(await fails([shared!, empty!])).toEqual(['validation-failed', `${empty} has no speaker sub-folder with audio`]);
    expect(await fails([extra!])).toEqual(['validation-failed', `${extra}: 1 speaker with audio; a cohort needs at least 2`]);
  });

  it('records one folder as `folder`, several as `folders`', () => {
    expect(folderFields(['a'])).toEqual({ folder: 'a' });
    expect(folderFields(['a', 'b'])).toEqual({ folders: ['a', 'b'] });
  });
});

describe('mergeScoreNormalisation', () => {
  const sha = (c: string) => c.repeat(64);
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', 'vp-test-tiny.json'), 'utf8')) as Parameters<typeof mergeScoreNormalisation>[0];
  const wb = { file: 'vp-test-tiny.cohort-wideband.f32', sha256: sha('a'), speakers: 4 };
  const tel = { file: 'vp-test-tiny.cohort-telephone.f32', sha256: sha('b'), speakers: 4 };
  const table = operatingTable({ target: [0.6, 0.9], nonTarget: [0.1, 0.5, 0.7] });

  it('a new block is off with top-K 100 unless told; later runs keep enabled, top-K and the other channel', () => {
    const first = mergeScoreNormalisation(manifest, { wideband: wb }, { topK: null, enable: false });
    expect(first.scoreNormalisation).toEqual({ method: 'as-norm', enabled: false, topK: 100, cohorts: { wideband: wb } });
    const { scoreNormalisation: _s, ...rest } = first.json;
    expect(rest).toEqual(manifest);
    const enabled = mergeScoreNormalisation(first.json as typeof manifest, {}, { topK: 20, enable: true });
    expect(enabled.scoreNormalisation).toEqual({ method: 'as-norm', enabled: true, topK: 20, cohorts: { wideband: wb } });
    const phone = mergeScoreNormalisation(enabled.json as typeof manifest, { telephone: tel }, { topK: null, enable: false });
    expect(phone.scoreNormalisation).toEqual({ method: 'as-norm', enabled: true, topK: 20, cohorts: { wideband: wb, telephone: tel } });
    expect(refused(() => mergeScoreNormalisation(manifest, { telephone: tel }, { topK: null, enable: false }))).toEqual([
      'validation-failed',
      'the manifest has no wideband cohort yet: make it first (--channel wideband or both); telephone audio falls back to it',
    ]);
  });

  it('removes calibrations fitted on another scale than the new block gives, and only those', () => {
    const cosineCalibration: ModelCalibration = { method: 'logistic', wideband: { a: 10, b: -5, operatingPoints: table }, telephone: { a: 9, b: -4 } };
    const off = mergeScoreNormalisation({ ...manifest, calibration: cosineCalibration }, { wideband: wb }, { topK: null, enable: false });
    expect([off.calibrationRemoved, off.json.calibration]).toEqual([[], cosineCalibration]);
    const on = mergeScoreNormalisation({ ...manifest, calibration: cosineCalibration }, { wideband: wb }, { topK: 3, enable: true });
    expect(on.calibrationRemoved).toEqual(['wideband', 'telephone']);
    expect(on.json.calibration).toBeUndefined();
    // AS-norm calibrations (telephone fitted against the wideband cohort): a new telephone cohort outdates only the telephone one.
    const data = { sets: [], protocol: 'p', createdAt: 't', scoreNormalisation: { method: 'as-norm' as const, topK: 3, cohortSha256: sha('a') } };
    const asNormCalibration: ModelCalibration = { method: 'logistic', wideband: { a: 1, b: 0, data }, telephone: { a: 2, b: 0, data } };
    const enabled = { ...manifest, scoreNormalisation: on.scoreNormalisation, calibration: asNormCalibration };
    expect(mergeScoreNormalisation(enabled, {}, { topK: null, enable: false }).calibrationRemoved).toEqual([]);
    const phone = mergeScoreNormalisation(enabled, { telephone: tel }, { topK: null, enable: false });
    expect([phone.calibrationRemoved, phone.json.calibration]).toEqual([['telephone'], { method: 'logistic', wideband: { a: 1, b: 0, data } }]);
  });
});

describe("eval's policy rows and options", () => {
  it('the running model\'s default policies for the channel evaluated: uncalibrated 0.5/0.6, else from the target FMR per channel', () => {
    expect(evalPolicies(undefined, 'telephone')).toEqual([
      { name: 'standard', targetFmr: null, targetFmrBound: null, threshold: 0.5, calibration: null },
      { name: 'high', targetFmr: null, targetFmrBound: null, threshold: 0.6, calibration: null },
    ]);
    const spaced = (n: number, from: number, to: number) => Array.from({ length: n }, (_, i) => from + ((to - from) * i) / n);
    const wide = { target: spaced(200, 0.4, 1), nonTarget: spaced(2000, -0.3, 0.7) };
    const phone = { target: spaced(200, 0.45, 1), nonTarget: spaced(2000, -0.2, 0.8) };
    const calibration: ModelCalibration = {
      method: 'logistic',
      wideband: { a: 10, b: -5, trials: { target: 200, nonTarget: 2000 }, operatingPoints: operatingTable(wide) },
      telephone: { a: 9, b: -4, trials: { target: 200, nonTarget: 2000 }, operatingPoints: operatingTable(phone) },
    };
    const rows = evalPolicies(calibration, 'telephone');
    expect(rows.map((r) => [r.name, r.targetFmr, r.calibration])).toEqual([
      ['standard', 0.01, 'telephone'],
      ['high', 0.001, 'telephone'],
    ]);
    for (const r of rows) expect(r.threshold).toBe(effectiveThreshold({ threshold: 0, targetFmr: r.targetFmr }, calibration, 'telephone'));
    expect(rows[0]!.threshold).not.toBe(evalPolicies(calibration, 'wideband')[0]!.threshold);
    expect(rows.map((r) => r.targetFmrBound)).toEqual(['estimate', 'estimate']);
    // With FMR intervals on the telephone table (here twice each rate), each tier also under upper-95.
    const withIntervals: ModelCalibration = {
      ...calibration,
      telephone: { ...calibration.telephone!, operatingPoints: operatingTable(phone).map((r) => ({ ...r, fmrInterval: { low: r.fmr / 2, high: Math.min(1, 2 * r.fmr) } })) },
    };
    const both = evalPolicies(withIntervals, 'telephone');
    expect(both.map((r) => [r.name, r.targetFmrBound, r.calibration])).toEqual([
      ['standard', 'estimate', 'telephone'],
      ['standard', 'upper-95', 'telephone'],
      ['high', 'estimate', 'telephone'],
      ['high', 'upper-95', 'telephone'],
    ]);
    for (const r of both) expect(r.threshold).toBe(effectiveThreshold({ threshold: 0, targetFmr: r.targetFmr, targetFmrBound: r.targetFmrBound }, withIntervals, 'telephone'));
    expect(both[1]!.threshold).toBeGreaterThan(both[0]!.threshold);
    // The wideband table has none: only the estimate there.
    expect(evalPolicies(withIntervals, 'wideband').map((r) => r.targetFmrBound)).toEqual(['estimate', 'estimate']);
  });

  it('--score-normalisation manifest|none|as-norm (absent: manifest)', () => {
    const config = { modelId: 'vp-test-tiny', enrolMinSeconds: 20 };
    expect(parseEvalArgs(['dev'], config).scoreNormalisation).toBeUndefined();
    expect(parseEvalArgs(['dev', '--score-normalisation', 'none'], config).scoreNormalisation).toBe('none');
    expect(parseEvalArgs(['dev', '--score-normalisation', 'as-norm'], config).scoreNormalisation).toBe('as-norm');
    expect(refused(() => parseEvalArgs(['dev', '--score-normalisation', 'z-norm'], config))).toEqual(['validation-failed', '--score-normalisation must be one of manifest, none, as-norm, got "z-norm"']);
  });
});

describe('calibrate records the score scale of its trials', () => {
  const set = (target: number[], nonTarget: number[]): TrialSet => {
    const scores = [...target, ...nonTarget];
    return { scores: Float64Array.from(scores), isTarget: Uint8Array.from(scores.map((_, i) => (i < target.length ? 1 : 0))), speakerA: new Uint32Array(scores.length), speakerB: Uint32Array.from(scores.map((_, i) => (i < target.length ? 0 : 1))) };
  };
  const run = (scale?: EvalTrials['scale']): EvalTrials => ({ model: 'm', channel: 'wideband', scoringChannel: 'wideband', speakers: 2, description: 'd', ...(scale ? { scale } : {}), main: set([2, 3, 0.5, 4], [-1, 0, 1, 2.5, -2]), byDuration: [] });
  const scale = { method: 'as-norm' as const, topK: 5, cohortSha256: 'c'.repeat(64) };

  it('AS-norm trials: data.scoreNormalisation; cosine trials: nothing (absent means cosines); mixed scales refused', () => {
    const now = new Date('2026-12-01T00:00:00Z');
    expect(calibrateChannel([run(scale)], { prior: 0.5, sets: ['x'], now }).block.data).toEqual({ sets: ['x'], protocol: 'wideband; d', createdAt: now.toISOString(), scoreNormalisation: scale });
    expect(calibrateChannel([run()], { prior: 0.5, sets: ['x'], now }).block.data).toEqual({ sets: ['x'], protocol: 'wideband; d', createdAt: now.toISOString() });
    expect(refused(() => calibrateChannel([run(scale), run()], { prior: 0.5, sets: [], now }))).toEqual(['internal', 'the folders were scored on different score scales']);
  });
});

describe('voice-passport cohort and eval --score-normalisation (end to end, test model)', () => {
  let root: string;
  let models: string;
  let pristine: string;
  const env = () => ({ VP_MODELS_DIR: models, VP_MODEL: 'vp-test-tiny' });
  const voice = (pitchHz: number, formantScale: number, k: number, seconds: number) =>
    wav(speechLike({ seconds, pitchHz: pitchHz * (1 + 0.03 * k), formantScale: formantScale * (1 + 0.02 * (k % 2)) }), 16000);

  beforeAll(() => {
    root = tempDir('vp-cohort-');
    // Cohort speakers (the "training" set) and other, evaluated speakers.
    const train = [
      [230, 1.2],
      [95, 0.9],
      [150, 1.0],
      [120, 0.95],
    ] as const;
    train.forEach(([pitch, formant], i) => {
      fs.mkdirSync(path.join(root, 'train', `spk${i}`), { recursive: true });
      for (let k = 0; k < 3; k++) fs.writeFileSync(path.join(root, 'train', `spk${i}`, `u${k}.wav`), voice(pitch, formant, k, 2));
    });
    const dev = [
      ['alice', 210, 1.18],
      ['bob', 105, 0.92],
      ['carol', 160, 1.05],
    ] as const;
    for (const [name, pitch, formant] of dev) {
      fs.mkdirSync(path.join(root, 'dev', name), { recursive: true });
      for (let k = 0; k < 3; k++) fs.writeFileSync(path.join(root, 'dev', name, `utt${k}.wav`), voice(pitch, formant, k, 2.5));
    }
    models = path.join(root, 'models');
    pristine = path.join(root, 'pristine');
    for (const dir of [models, pristine]) {
      fs.mkdirSync(dir);
      for (const f of ['vp-test-tiny.json', 'vp-test-tiny.onnx']) fs.copyFileSync(path.join(repoRoot, 'models', f), path.join(dir, f));
    }
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  /** eval in this process, handing over its trials (as calibrate does). */
  const trialsOf = async (modelsDir: string, args: string[]): Promise<EvalTrials> => {
    const config = loadConfig({ VP_MODELS_DIR: modelsDir, VP_MODEL: 'vp-test-tiny', VP_WORKERS: '1', VP_INTRA_OP_THREADS: '1', VP_DATA_DIR: path.join(root, 'data') });
    let got: EvalTrials | undefined;
    await evalCommand([path.join(root, 'dev'), '--durations', 'none', ...args], config, (t) => (got = t));
    return got!;
  };

  it(
    'writes N·D floats and a manifest entry that loads; eval with none gives the plain cosines, with AS-norm says so',
    async () => {
      const r = await runCli(['cohort', path.join(root, 'train'), '--channel', 'wideband', '--per-speaker', '2', '--seconds', '1.5', '--rows', 'speaker', '--top-k', '2', '--write'], env(), 90_000);
      expect(r.stderr).toMatch(/\| cohort vp-test-tiny \| train \| wideband 4 spk, 4 rows × 128 \(8 utt, 0 failed\) \| top-2, not enabled \| [\d.]+ s \|/);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      const file = path.join(models, cohortFileName('vp-test-tiny', 'wideband'));
      expect(report.cohorts).toEqual([expect.objectContaining({ channel: 'wideband', file, speakers: 4, rows: 4, dim: 128, bytes: 4 * 128 * 4, utterances: 8, failedUtterances: 0, speakersWithoutEmbedding: [] })]);
      expect(fs.statSync(file).size).toBe(4 * 128 * 4);
      expect(report.calibrationRemoved).toEqual([]);
      const m = await loadManifest(models, 'vp-test-tiny');
      expect(m.scoreNormalisation).toEqual({
        method: 'as-norm',
        enabled: false,
        topK: 2,
        cohorts: {
          wideband: {
            file: 'vp-test-tiny.cohort-wideband.f32',
            sha256: report.cohorts[0].sha256,
            speakers: 4,
            source: { folder: path.join(root, 'train'), utterancesPerSpeaker: 2, row: 'speaker', seconds: 1.5, embed: 'speech', channel: 'wideband', createdAt: expect.any(String), modelSha256: m.sha256, description: expect.stringMatching(/^one embedding per speaker/) },
          },
        },
      });
      expect(m.cohorts!.wideband.size).toBe(4);
      for (let row = 0; row < 4; row++) expect(Math.hypot(...m.cohorts!.wideband.rows.subarray(row * 128, (row + 1) * 128))).toBeCloseTo(1, 5);

      // Without --write, the file the manifest points at is not replaced behind its back.
      const again = await runCli(['cohort', path.join(root, 'train'), '--channel', 'wideband'], env(), 30_000);
      expect([again.code, cliError(again).code]).toEqual([2, 'validation-failed']);
      expect(cliError(again).message).toMatch(/is a cohort of model "vp-test-tiny"'s manifest; .* add --write$/);

      // none: exactly the cosines of a model without scoreNormalisation; as-norm: other scores, recorded scale.
      const plain = await trialsOf(pristine, []);
      const none = await trialsOf(models, ['--score-normalisation', 'none']);
      const manifestDefault = await trialsOf(models, []);
      expect(Array.from(none.main.scores)).toEqual(Array.from(plain.main.scores));
      expect(Array.from(manifestDefault.main.scores)).toEqual(Array.from(plain.main.scores));
      expect([plain.scale, none.scale]).toEqual([{ method: 'none' }, { method: 'none' }]);
      const asNorm = await trialsOf(models, ['--score-normalisation', 'as-norm']);
      expect(asNorm.scale).toEqual({ method: 'as-norm', topK: 2, cohortSha256: report.cohorts[0].sha256 });
      expect(asNorm.main.isTarget).toEqual(plain.main.isTarget);
      expect(Array.from(asNorm.main.scores)).not.toEqual(Array.from(plain.main.scores));

      // Enabled in the manifest: the report says which normalisation, top-K and cohort size.
      const json = JSON.parse(fs.readFileSync(path.join(models, 'vp-test-tiny.json'), 'utf8'));
      json.scoreNormalisation.enabled = true;
      fs.writeFileSync(path.join(models, 'vp-test-tiny.json'), JSON.stringify(json, null, 2));
      const e = await runCli(['eval', path.join(root, 'dev'), '--durations', 'none'], env(), 90_000);
      expect(e.code).toBe(0);
      expect(e.stderr.trim().split('\n').at(-1)).toMatch(/^\| dev wideband all-pairs vp-test-tiny as-norm top-2\/4 \| 3 spk, 9 utt \(\d whole\) \| 9\/27 trials \| EER .* \| standard≥0\.5 FMR .* \| high≥0\.6 FMR /);
      const evalReport = JSON.parse(e.stdout);
      expect(evalReport.scoreNormalisation).toBe('as-norm');
      expect(evalReport.asNorm).toEqual({ topK: 2, cohortSpeakers: 4, cohortRows: 4, cohortChannel: 'wideband', cohortFile: 'vp-test-tiny.cohort-wideband.f32', requested: 'manifest' });
      expect(evalReport.protocol.score).toMatch(/^AS-norm score \(the API normalisedScore\)/);
      expect(evalReport.policies.map((p: { policy: string; targetFmr: number | null; threshold: number }) => [p.policy, p.targetFmr, p.threshold])).toEqual([
        ['standard', null, 0.5],
        ['high', null, 0.6],
      ]);
      const off = JSON.parse((await runCli(['eval', path.join(root, 'dev'), '--durations', 'none', '--score-normalisation', 'none'], env(), 90_000)).stdout);
      expect([off.scoreNormalisation, off.asNorm, off.protocol.score]).toEqual(['none', null, expect.stringMatching(/^cosine of the two L2-normalised embeddings/)]);

      // A telephone cohort (cuts embedded whole) joins the wideband one; enabled and top-K stay.
      const t = await runCli(['cohort', path.join(root, 'train'), '--channel', 'telephone', '--per-speaker', '1', '--seconds', '1.5', '--embed', 'whole', '--rows', 'speaker', '--write'], env(), 90_000);
      expect(t.code).toBe(0);
      const m2 = await loadManifest(models, 'vp-test-tiny');
      expect(m2.scoreNormalisation).toMatchObject({ enabled: true, topK: 2, cohorts: { wideband: m.scoreNormalisation!.cohorts.wideband, telephone: { file: 'vp-test-tiny.cohort-telephone.f32', speakers: 4, source: { channel: 'telephone', law: 'mulaw', embed: 'whole', description: expect.stringContaining('embedded whole') } } } });
      expect(JSON.parse(t.stdout).next).toMatch(/^AS-norm is enabled: calibrate on this scale/);

      // Speakers pooled from two folders, a row per utterance (the default): the first run's cuts,
      // so each speaker's two rows averaged and normalised again are its row of the first run.
      fs.mkdirSync(path.join(root, 'more', 'spk9'), { recursive: true });
      fs.writeFileSync(path.join(root, 'more', 'spk9', 'u0.wav'), voice(180, 1.1, 0, 2));
      const pooled = await runCli(['cohort', path.join(root, 'train'), path.join(root, 'more'), '--channel', 'wideband', '--per-speaker', '2', '--seconds', '1.5', '--write'], env(), 90_000);
      expect(pooled.code).toBe(0);
      expect(pooled.stderr).toMatch(/\| cohort vp-test-tiny \| train \+ more \| wideband 5 spk, 9 rows × 128 \(9 utt, 0 failed\) \|/);
      const m3 = await loadManifest(models, 'vp-test-tiny');
      expect(m3.scoreNormalisation!.cohorts.wideband).toMatchObject({
        speakers: 5,
        rows: 9,
        source: { folders: [path.join(root, 'train'), path.join(root, 'more')], row: 'utterance', description: expect.stringMatching(/^one L2-normalised embedding per utterance/) },
      });
      expect(m3.scoreNormalisation!.cohorts.wideband.source).not.toHaveProperty('folder');
      expect(m3.cohorts!.wideband.size).toBe(9);
      const row = (c: { rows: Float32Array }, i: number) => Array.from(c.rows.subarray(i * 128, (i + 1) * 128));
      for (let spk = 0; spk < 4; spk++) {
        const mean = row(m3.cohorts!.wideband, 2 * spk).map((v, d) => v + row(m3.cohorts!.wideband, 2 * spk + 1)[d]!);
        const norm = Math.hypot(...mean);
        const speakerRow = row(m.cohorts!.wideband, spk);
        mean.forEach((v, d) => expect(v / norm).toBeCloseTo(speakerRow[d]!, 5));
      }
    },
    300_000,
  );
});

const sharedTrain = path.resolve(repoRoot, '../shared/data/train');
const haveShared = existsSync(sharedTrain);
if (!haveShared) console.warn(`skipping the cohort test on real training speakers: ${sharedTrain} is absent (it is outside the repository)`);

describe('voice-passport cohort on real training speakers', () => {
  it.skipIf(!haveShared)(
    'three speakers of ../shared/data/train (FLAC), one utterance each: a 3-row cohort file, the manifest untouched without --write (skipped when ../shared is absent)',
    async () => {
      const root = tempDir('vp-cohort-shared-');
      try {
        // The first file of three speakers, copied to a temporary folder (outside the repository).
        const names = fs.readdirSync(sharedTrain).sort().slice(0, 3);
        for (const n of names) {
          const first = fs.readdirSync(path.join(sharedTrain, n)).filter((f) => /\.(flac|wav)$/i.test(f)).sort()[0]!;
          fs.mkdirSync(path.join(root, 'train', n), { recursive: true });
          fs.copyFileSync(path.join(sharedTrain, n, first), path.join(root, 'train', n, first));
        }
        fs.mkdirSync(path.join(root, 'models'));
        for (const f of ['vp-test-tiny.json', 'vp-test-tiny.onnx']) fs.copyFileSync(path.join(repoRoot, 'models', f), path.join(root, 'models', f));
        const r = await runCli(['cohort', path.join(root, 'train'), '--channel', 'wideband', '--per-speaker', '1', '--seconds', '3'], { VP_MODELS_DIR: path.join(root, 'models'), VP_MODEL: 'vp-test-tiny' }, 90_000);
        expect(r.code).toBe(0);
        const report = JSON.parse(r.stdout);
        expect(report.cohorts[0]).toMatchObject({ speakers: 3, dim: 128, bytes: 3 * 128 * 4, failedUtterances: 0 });
        expect(report.written).toBeNull();
        // Not written to the manifest: the model loads as before.
        expect((await loadManifest(path.join(root, 'models'), 'vp-test-tiny')).scoreNormalisation).toBeUndefined();
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
