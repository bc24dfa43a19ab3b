/**
 * `voice-passport calibrate`: option parsing, the pure assembly of a channel's calibration from
 * eval trials, writing it into a manifest (validated, other channel kept, sha256 untouched), and
 * one end-to-end run on a generated folder with the test model.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrateChannel, durationTable, parseCalibrateArgs, poolScores, writeCalibration } from '../../src/cli/calibrate.js';
import type { EvalTrials } from '../../src/cli/eval.js';
import { isVoicePassportError } from '../../src/errors.js';
import type { TrialSet } from '../../src/evaluation/trials.js';
import { loadManifest, sha256OfFile } from '../../src/model/manifest.js';
import { equalErrorRate, operatingPoints, sortTrials } from '../../src/evaluation/metrics.js';
import { cllr, nextUp, operatingTable } from '../../src/scoring/calibration.js';
import { speechLike } from '../model/speech-like.js';
import { wav } from '../model/wav.js';
import { cliError, repoRoot, runCli, tempDir } from './run-cli.js';

/** A trial set from target and non-target scores (speakers do not matter here). */
function trialSet(target: number[], nonTarget: number[]): TrialSet {
  const scores = [...target, ...nonTarget];
  return {
    scores: Float64Array.from(scores),
    isTarget: Uint8Array.from(scores.map((_, i) => (i < target.length ? 1 : 0))),
    speakerA: new Uint32Array(scores.length),
    speakerB: Uint32Array.from(scores.map((_, i) => (i < target.length ? 0 : 1))),
  };
}

const run = (main: TrialSet, byDuration: EvalTrials['byDuration'] = [], speakers = 2): EvalTrials => ({ model: 'm', channel: 'wideband', scoringChannel: 'wideband', speakers, description: 'all pairs: …', main, byDuration });

describe('parseCalibrateArgs', () => {
  it('defaults, pass-through of eval options, refusals', () => {
    expect(parseCalibrateArgs(['a', 'b'], { modelId: 'vp' })).toEqual({
      folders: ['a', 'b'],
      channel: 'wideband',
      prior: 0.5,
      write: false,
      modelId: 'vp',
      evalArgs: ['--channel', 'wideband', '--model', 'vp'],
      acrossChannels: false,
    });
    expect(parseCalibrateArgs(['a', '--channel', 'telephone', '--law', 'alaw', '--durations', 'none', '--model', 'x', '--prior', '0.1', '--write'], { modelId: 'vp' })).toEqual({
      folders: ['a'],
      channel: 'telephone',
      prior: 0.1,
      write: true,
      modelId: 'x',
      evalArgs: ['--channel', 'telephone', '--model', 'x', '--law', 'alaw', '--durations', 'none'],
      acrossChannels: false,
    });
    expect(parseCalibrateArgs(['a', '--channel', 'telephone', '--across-channels'], { modelId: 'vp' })).toMatchObject({ channel: 'telephone', acrossChannels: true, evalArgs: ['--channel', 'telephone', '--model', 'vp'] });
    const refused = (argv: string[]) => {
      try {
        parseCalibrateArgs(argv, { modelId: 'vp' });
      } catch (e) {
        return isVoicePassportError(e) ? [e.code, e.message.split('\n')[0]] : e;
      }
      return 'accepted';
    };
    expect(refused([])).toEqual(['validation-failed', expect.stringMatching(/^usage: voice-passport calibrate <folder>/)]);
    expect(refused(['a', '--channel', 'gsm'])).toEqual(['validation-failed', '--channel must be one of wideband, telephone, got "gsm"']);
    expect(refused(['a', '--prior', '1'])).toEqual(['validation-failed', '--prior must be a probability in (0, 1), got "1"']);
    expect(refused(['a', '--out', 'x.json'])).toEqual(['validation-failed', expect.stringMatching(/Unknown option '--out'/)]);
    // A calibration belongs to one channel: trials across channels are eval's alone (but for --across-channels' duration table).
    expect(refused(['a', '--enrol-channel', 'wideband'])).toEqual(['validation-failed', expect.stringMatching(/Unknown option '--enrol-channel'/)]);
    expect(refused(['a', '--across-channels', '--durations', 'none'])).toEqual(['validation-failed', '--across-channels measures EER by duration; it cannot go with --durations none']);
  });
});

describe('calibrateChannel', () => {
  // Two folders whose scores overlap: targets 0.3 … 0.9, non-targets −0.2 … 0.5.
  const spaced = (n: number, from: number, to: number) => Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));
  const a = { t: spaced(40, 0.3, 0.9), n: spaced(300, -0.2, 0.5) };
  const b = { t: spaced(20, 0.35, 0.85), n: spaced(200, -0.1, 0.45) };

  it('pools the folders: fit, Cllr before and after, operating table, EER by duration, provenance', () => {
    const durations2 = [{ seconds: 2, set: trialSet([0.6, 0.2], [0.1, 0.3, 0.4]) }];
    const durations5 = [
      { seconds: 2, set: trialSet([0.7], [0.5]) },
      { seconds: 5, set: trialSet([0.8], [0.2]) },
      { seconds: 10, set: trialSet([], [0.2]) },
    ];
    const now = new Date('2026-11-29T12:00:00Z');
    const fit = calibrateChannel([run(trialSet(a.t, a.n), durations2, 5), run(trialSet(b.t, b.n), durations5, 4)], { prior: 0.5, sets: ['dev/x', 'dev/y'], now });
    const pooled = poolScores([
      { target: a.t, nonTarget: a.n },
      { target: b.t, nonTarget: b.n },
    ]);
    const { block } = fit;
    expect(block.a).toBeGreaterThan(0);
    // The speakers behind the trials (two in each synthetic set), not the folders' own counts (5 and 4).
    expect(block.trials).toEqual({ target: 60, nonTarget: 500, speakers: 4 });
    expect(block.cllr!.calibrated).toBeLessThan(block.cllr!.raw);
    // Per folder: its own EER and its Cllr under the pooled map.
    const own = (t: number[], n: number[]) => equalErrorRate(operatingPoints(sortTrials({ target: t, nonTarget: n }))).eer;
    const calibratedCllr = (t: number[], n: number[]) => cllr({ target: t.map((x) => block.a * x + block.b), nonTarget: n.map((x) => block.a * x + block.b) });
    expect(fit.perFolder).toEqual([
      { targetTrials: 40, nonTargetTrials: 300, eer: Number(own(a.t, a.n).toFixed(6)), cllrRaw: Number(cllr({ target: a.t, nonTarget: a.n }).toFixed(6)), cllrCalibrated: Number(calibratedCllr(a.t, a.n).toFixed(6)) },
      { targetTrials: 20, nonTargetTrials: 200, eer: Number(own(b.t, b.n).toFixed(6)), cllrRaw: Number(cllr({ target: b.t, nonTarget: b.n }).toFixed(6)), cllrCalibrated: Number(calibratedCllr(b.t, b.n).toFixed(6)) },
    ]);
    expect(block.operatingPoints!.map(({ threshold, fmr, fnmr }) => ({ threshold, fmr, fnmr }))).toEqual(operatingTable(pooled));
    // Each folder here is two speakers (targets of speaker 0, non-targets 0 against 1). A bootstrap
    // replicate that draws both of one folder's speakers and not both of the other's sees that folder's
    // rates alone: about 44 % of the usable replicates each way, so the 2.5th and 97.5th percentiles
    // are exactly the two folders' own rates, in either order.
    const rate = (scores: number[], t: number, above: boolean) => scores.filter((x) => (x >= t) === above).length / scores.length;
    for (const row of block.operatingPoints!) {
      const fmrs = [rate(a.n, row.threshold, true), rate(b.n, row.threshold, true)];
      const fnmrs = [rate(a.t, row.threshold, false), rate(b.t, row.threshold, false)];
      const round = (v: number) => Number(v.toFixed(6));
      expect([row.fmrInterval, row.fnmrInterval]).toEqual([
        { low: round(Math.min(...fmrs)), high: round(Math.max(...fmrs)) },
        { low: round(Math.min(...fnmrs)), high: round(Math.max(...fnmrs)) },
      ]);
      // The pooled speakers are numbered apart, so each folder's one impostor pair counts once.
      expect(row.falseMatchPairs).toBe(fmrs.filter((f) => f > 0).length);
    }
    expect(block.bootstrap).toEqual({ replicates: expect.any(Number), requested: 1000, seed: 1, method: expect.stringMatching(/^percentile bootstrap over speakers/) });
    expect(block.bootstrap!.replicates).toBeGreaterThan(700);
    // 2 s pooled: targets [0.6, 0.2, 0.7], non-targets [0.1, 0.3, 0.4, 0.5]. Operating points
    // (FMR, FNMR) at 0.5: (1/4, 1/3), at 0.4: (1/2, 1/3); the diagonal is crossed a third of the way
    // along: EER 1/4 + 1/3 · 1/4 = 1/3. 5 s separated: 0. 10 s has no target trials: left out.
    expect(block.durations).toEqual([
      { seconds: 2, eer: 0.333333, targetTrials: 3, nonTargetTrials: 4 },
      { seconds: 5, eer: 0, targetTrials: 1, nonTargetTrials: 1 },
    ]);
    expect(block.effectivePrior).toBe(0.5);
    expect(block.data).toEqual({ sets: ['dev/x', 'dev/y'], protocol: 'wideband; all pairs: …', createdAt: '2026-11-29T12:00:00.000Z' });
    // FMR 1 % of 500: 5 non-targets accepted; 0.1 %: none (k = 0). Both are flagged: every false
    // match here comes from two pairs of speakers, one per folder, so no target below 1 rests on
    // three (and 0.001 is below 3/500 as well).
    const sorted = [...pooled.nonTarget].sort((x, y) => y - x);
    const estimates = fit.defaultPolicies.filter((p) => p.targetFmrBound === 'estimate');
    expect(estimates.map((p) => [p.name, p.threshold, p.fmr, p.falseMatchPairs, p.supported, p.lowestSupportedFmr, p.limitedBy])).toEqual([
      ['standard', nextUp(sorted[5]!), 0.01, 1, false, 1, 'speaker-pairs'],
      ['high', nextUp(sorted[0]!), 0, 0, false, 1, 'speaker-pairs'],
    ]);
    expect(estimates[0]!.llrThreshold).toBeCloseTo(block.a * estimates[0]!.threshold + block.b, 12);
    // Under upper-95 each tier takes the lowest row whose FMR interval ends at or under its target:
    // the row before it ends above the target, and the threshold is never below the estimate's.
    const rows = block.operatingPoints!;
    for (const p of fit.defaultPolicies.filter((q) => q.targetFmrBound === 'upper-95')) {
      const i = rows.findIndex((r) => r.threshold === p.threshold);
      expect(rows[i]!.fmrInterval!.high).toBeLessThanOrEqual(p.targetFmr);
      if (i > 0) expect(rows[i - 1]!.fmrInterval!.high).toBeGreaterThan(p.targetFmr);
      expect([p.fmr, p.fnmr, p.fmrInterval, p.fnmrInterval]).toEqual([rows[i]!.fmr, rows[i]!.fnmr, rows[i]!.fmrInterval, rows[i]!.fnmrInterval]);
      expect(p.threshold).toBeGreaterThanOrEqual(estimates.find((e) => e.name === p.name)!.threshold);
    }
    // At 1 % the bound moves the threshold: the folders' 1 %-row rates differ, so its interval ends above 1 %.
    expect(fit.defaultPolicies.map((p) => [p.name, p.targetFmrBound])).toEqual([
      ['standard', 'estimate'],
      ['standard', 'upper-95'],
      ['high', 'estimate'],
      ['high', 'upper-95'],
    ]);
    expect(fit.defaultPolicies[1]!.threshold).toBeGreaterThan(fit.defaultPolicies[0]!.threshold);
  });

  it('with runs across channels, stores their duration table (and nothing else of them) beside the channel\'s own', () => {
    const main = run(trialSet(a.t, a.n), [{ seconds: 2, set: trialSet([0.7], [0.5]) }]);
    const across = [{ byDuration: [{ seconds: 2, set: trialSet([0.6, 0.2], [0.1, 0.3, 0.4]) }, { seconds: 3, set: trialSet([0.8], [0.2]) }] }];
    const now = new Date('2026-11-29T12:00:00Z');
    const withAcross = calibrateChannel([main], { prior: 0.5, sets: ['dev/x'], now, across: { enrolChannel: 'telephone', runs: across } });
    const without = calibrateChannel([main], { prior: 0.5, sets: ['dev/x'], now });
    const { acrossChannels, ...rest } = withAcross.block;
    // 2 s: targets [0.6, 0.2], non-targets [0.1, 0.3, 0.4]: the FNMR stays 1/2 from 0.6 down to 0.3
    // while the FMR passes 1/3 (at 0.4) and 2/3 (at 0.3), so they cross at 1/2.
    expect(acrossChannels).toEqual({
      enrolChannel: 'telephone',
      durations: [
        { seconds: 2, eer: 0.5, targetTrials: 2, nonTargetTrials: 3 },
        { seconds: 3, eer: 0, targetTrials: 1, nonTargetTrials: 1 },
      ],
    });
    expect(rest).toEqual(without.block);
    // No duration rows across channels: nothing stored.
    expect(calibrateChannel([main], { prior: 0.5, sets: ['dev/x'], now, across: { enrolChannel: 'telephone', runs: [{ byDuration: [] }] } }).block).toEqual(without.block);
  });

  it('pools a duration only over the runs that hold both kinds of trial there (as eval, which skips the others)', () => {
    const set = (target: number[], nonTarget: number[]): TrialSet => ({
      scores: Float64Array.from([...target, ...nonTarget]),
      isTarget: Uint8Array.from([...target.map(() => 1), ...nonTarget.map(() => 0)]),
      speakerA: new Uint32Array(target.length + nonTarget.length),
      speakerB: new Uint32Array(target.length + nonTarget.length),
    });
    const a = { byDuration: [{ seconds: 10, set: set([0.6, 0.7, 0.4, 0.8], [0.5, 0.3, 0.2, 0.65]) }] };
    // One speaker of folder b reached 10 s: easy non-targets only.
    const b = { byDuration: [{ seconds: 10, set: set([], Array.from({ length: 40 }, (_, i) => -0.5 - i / 100)) }] };
    expect(durationTable([a, b])).toEqual(durationTable([a]));
    expect(durationTable([a, b])).toEqual([{ seconds: 10, eer: 0.25, targetTrials: 4, nonTargetTrials: 4 }]);
  });

  it('refuses trials that cannot be calibrated, with the counts', () => {
    try {
      calibrateChannel([run(trialSet([0.8, 0.9], [0.1, 0.2]))], { prior: 0.5, sets: [], now: new Date() });
      expect.unreachable();
    } catch (e) {
      expect(isVoicePassportError(e) && [e.code, e.details]).toEqual(['validation-failed', { targetTrials: 2, nonTargetTrials: 2 }]);
      expect((e as Error).message).toMatch(/^cannot calibrate on these trials: every target score/);
    }
  });
});

describe('writeCalibration', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('vp-calibrate-models-');
    for (const f of ['vp-test-tiny.json', 'vp-test-tiny.onnx']) fs.copyFileSync(path.join(repoRoot, 'models', f), path.join(dir, f));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const table = operatingTable({ target: [0.6, 0.9], nonTarget: [0.1, 0.5, 0.7] });

  it('merges one channel at a time; the manifest stays valid and the ONNX sha256 unchanged', async () => {
    const onnxBefore = await sha256OfFile(path.join(dir, 'vp-test-tiny.onnx'));
    const telephoneFirst = await writeCalibration(dir, 'vp-test-tiny', 'telephone', { a: 1, b: 0 }).catch((e: unknown) => e);
    expect(isVoicePassportError(telephoneFirst) && telephoneFirst.message).toBe(
      'model "vp-test-tiny" has no wideband calibration yet; run calibrate with --channel wideband --write first (telephone audio falls back to wideband)',
    );
    const file = await writeCalibration(dir, 'vp-test-tiny', 'wideband', { a: 12, b: -6, operatingPoints: table });
    expect(file).toBe(path.join(dir, 'vp-test-tiny.json'));
    await writeCalibration(dir, 'vp-test-tiny', 'telephone', { a: 9, b: -5 });
    await writeCalibration(dir, 'vp-test-tiny', 'wideband', { a: 13, b: -6.5, operatingPoints: table });
    const m = await loadManifest(dir, 'vp-test-tiny');
    expect(m.calibration).toEqual({ method: 'logistic', wideband: { a: 13, b: -6.5, operatingPoints: table }, telephone: { a: 9, b: -5 } });
    expect(await sha256OfFile(path.join(dir, 'vp-test-tiny.onnx'))).toBe(onnxBefore);
    // Everything else as it was.
    const original = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', 'vp-test-tiny.json'), 'utf8'));
    const { calibration, ...rest } = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(rest).toEqual(original);
    expect(calibration).toBeDefined();
    expect(fs.readdirSync(dir).sort()).toEqual(['vp-test-tiny.json', 'vp-test-tiny.onnx']);
  });

  it('an invalid block is refused and the manifest left as it was', async () => {
    const before = fs.readFileSync(path.join(dir, 'vp-test-tiny.json'), 'utf8');
    const err = await writeCalibration(dir, 'vp-test-tiny', 'wideband', { a: -1, b: 0 }).catch((e: unknown) => e);
    expect(isVoicePassportError(err) && [err.code, err.message]).toEqual(['internal', 'the calibrated manifest would be invalid: calibration.wideband.a: Too small: expected number to be >0']);
    expect(fs.readFileSync(path.join(dir, 'vp-test-tiny.json'), 'utf8')).toBe(before);
  });
});

describe('voice-passport calibrate (end to end)', () => {
  let root: string;
  beforeAll(() => {
    root = tempDir('vp-calibrate-');
    const voices = [
      { name: 'alice', pitchHz: 210, formantScale: 1.18 },
      { name: 'bob', pitchHz: 105, formantScale: 0.92 },
      { name: 'carol', pitchHz: 160, formantScale: 1.05 },
      { name: 'dave', pitchHz: 130, formantScale: 0.98 },
    ];
    for (const v of voices) {
      fs.mkdirSync(path.join(root, 'dev', v.name), { recursive: true });
      for (let k = 0; k < 4; k++) {
        const samples = speechLike({ seconds: 2.5, pitchHz: v.pitchHz * (1 + 0.04 * k), formantScale: v.formantScale * (1 + 0.02 * (k % 2)) });
        fs.writeFileSync(path.join(root, 'dev', v.name, `utt${k}.wav`), wav(samples, 16000));
      }
      fs.mkdirSync(path.join(root, 'narrow', v.name), { recursive: true });
      for (let k = 0; k < 2; k++) {
        const samples = speechLike({ seconds: 2, sampleRate: 8000, pitchHz: v.pitchHz * (1 + 0.04 * k), formantScale: v.formantScale });
        fs.writeFileSync(path.join(root, 'narrow', v.name, `utt${k}.wav`), wav(samples, 8000));
      }
    }
    fs.mkdirSync(path.join(root, 'models'));
    for (const f of ['vp-test-tiny.json', 'vp-test-tiny.onnx']) fs.copyFileSync(path.join(repoRoot, 'models', f), path.join(root, 'models', f));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it(
    'fits on the eval trials and writes the calibration into the manifest; a missing folder fails with not-found',
    async () => {
      const env = { VP_MODELS_DIR: path.join(root, 'models'), VP_MODEL: 'vp-test-tiny' };
      const r = await runCli(['calibrate', path.join(root, 'dev'), '--durations', 'none', '--write'], env, 90_000);
      expect(r.stderr).toMatch(/\| calibrate wideband vp-test-tiny \| dev \| 24\/96 trials \| a [\d.]+ b -?[\d.]+ \| Cllr [\d.]+ → [\d.]+ \| EER [\d.]+ % \| standard FMR/);
      // 96 non-target trials: an FMR of 0, 1 or 2 of them is quoted as under 3/96, never as a number.
      expect(r.stderr).toMatch(/\| standard FMR (< 3\/96 \(3\.1250 %\)|([3-9]|[1-9]\d)\.\d\d %)/);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ command: 'calibrate', model: 'vp-test-tiny', channel: 'wideband', trials: { target: 24, nonTarget: 96, speakers: 4 }, durations: [] });
      expect(report.written).toBe(path.join(root, 'models', 'vp-test-tiny.json'));
      const m = await loadManifest(path.join(root, 'models'), 'vp-test-tiny');
      expect(m.calibration!.wideband).toMatchObject({ a: report.calibration.a, b: report.calibration.b, trials: report.trials, operatingPoints: report.operatingPoints, effectivePrior: 0.5 });
      expect(m.calibration!.wideband.cllr!.calibrated).toBeLessThanOrEqual(m.calibration!.wideband.cllr!.raw);
      // Bound to the weights that scored the trials.
      expect(m.calibration!.wideband.data).toEqual({ sets: [path.join(root, 'dev')], protocol: expect.stringMatching(/^wideband; all pairs: /), createdAt: expect.any(String), modelSha256: m.sha256 });

      const missing = await runCli(['calibrate', path.join(root, 'nowhere')], env, 30_000);
      expect(missing.code).toBe(1);
      expect(cliError(missing)).toEqual({ code: 'not-found', message: `${path.join(root, 'nowhere')}: no such folder` });

      // 8 kHz recordings get the telephone calibration in the service: a wideband fit is refused.
      const before = fs.readFileSync(path.join(root, 'models', 'vp-test-tiny.json'), 'utf8');
      const narrow = await runCli(['calibrate', path.join(root, 'narrow'), '--durations', 'none', '--write'], env, 90_000);
      expect(narrow.code).toBe(2);
      expect(cliError(narrow)).toEqual({
        code: 'validation-failed',
        message: `${path.join(root, 'narrow')} holds only 8 kHz audio, which the service scores as telephone; calibrate it with --channel telephone`,
      });
      expect(fs.readFileSync(path.join(root, 'models', 'vp-test-tiny.json'), 'utf8')).toBe(before);
    },
    240_000,
  );

  it(
    '--across-channels also stores the duration table of voiceprints enrolled on the other channel',
    async () => {
      const env = { VP_MODELS_DIR: path.join(root, 'models'), VP_MODEL: 'vp-test-tiny' };
      const r = await runCli(['calibrate', path.join(root, 'dev'), '--durations', '2', '--across-channels', '--write'], env, 120_000);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`calibrate: ${path.join(root, 'dev')} (enrolled telephone, tested wideband)`);
      const report = JSON.parse(r.stdout);
      const m = await loadManifest(path.join(root, 'models'), 'vp-test-tiny');
      const block = m.calibration!.wideband;
      expect(block.acrossChannels).toEqual({ enrolChannel: 'telephone', durations: [{ seconds: 2, eer: expect.any(Number), targetTrials: expect.any(Number), nonTargetTrials: expect.any(Number) }] });
      expect(block.acrossChannels!.durations[0]!.targetTrials).toBeGreaterThan(0);
      expect(report.acrossChannels).toEqual(block.acrossChannels);
      // The table across channels is its own trials: enrolled through the phone line, not the wideband ones again.
      expect(block.durations).toHaveLength(1);
      expect(block.acrossChannels!.durations[0]!.nonTargetTrials).toBe(block.durations![0]!.nonTargetTrials * 2);

      // A folder recorded at 8 kHz has no app side to enrol from: refused, the manifest untouched.
      const before = fs.readFileSync(path.join(root, 'models', 'vp-test-tiny.json'), 'utf8');
      const narrow = await runCli(['calibrate', path.join(root, 'narrow'), '--channel', 'telephone', '--durations', '1', '--across-channels', '--write'], env, 120_000);
      expect(narrow.code).toBe(2);
      expect(cliError(narrow)).toEqual({
        code: 'validation-failed',
        message: `${path.join(root, 'narrow')} holds only 8 kHz audio: it has no wideband recordings for the enrolment side across channels (--enrol-channel wideband, --channel telephone)`,
      });
      expect(fs.readFileSync(path.join(root, 'models', 'vp-test-tiny.json'), 'utf8')).toBe(before);
    },
    240_000,
  );
});
