/**
 * The model card's headline table (models/README.md, "Measured accuracy": whole utterances,
 * AS-norm, every dev set on both channels) is what `voice-passport eval` measures from this
 * checkout: issue 4's "eval reproduces the model card's numbers" checked on every run of the
 * suite that has ../shared beside the repository, as CI has. The expected figures are read from
 * the card itself, so a change to the front-end, the model, its cohort or the trials that moves a
 * figure fails here until the card is regenerated (scripts/train/model-card-evals.sh, then
 * scripts/train/model-card-tables.mjs). The first row of the table across channels (so762,
 * enrolled on wideband audio, verified on the phone: the deployment's common case) is checked the
 * same way, and so is the phone row of *As the service decides* (a 20 s voiceprint against callers,
 * the table the default policies' bound rests on). About 3 min on 2 cores; the card's other columns (cosine, VAD speech, durations) and
 * the other rows across channels take ten times longer and stay with that script.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { repoRoot, runCli, tempDir } from './run-cli.js';
import { modelCard, modelCardTable } from '../model-card.js';

const devDir = path.resolve(repoRoot, '../shared/data/dev');
const haveShared = fs.existsSync(devDir);
if (!haveShared) console.warn(`skipping the model card reproduction: ${devDir} is absent (it is outside the repository)`);

interface CardRow {
  set: string;
  channel: 'wideband' | 'telephone';
  analysed: number;
  utterances: number;
  vadFallback: number;
  targetTrials: number;
  nonTargetTrials: number;
  eerPercent: number;
  ciPercent: [number, number];
  minDcf: number;
}



const int = (s: string | undefined) => Number((s ?? '').replace(/ /g, ''));

/** The trial counts and the whole, AS-norm cell: `1 125 / 30 000` and `4.44 % [2.5, 7.0] (0.449)`. */
function parseTrialCells(trials: string | undefined, whole: string | undefined): Pick<CardRow, 'targetTrials' | 'nonTargetTrials' | 'eerPercent' | 'ciPercent' | 'minDcf'> | null {
  const t = /^([\d ]+) \/ ([\d ]+)$/.exec(trials ?? '');
  const w = /^([\d.]+) % \[([\d.]+), ([\d.]+)\] \(([\d.]+)\)$/.exec(whole ?? '');
  if (t === null || w === null) return null;
  return { targetTrials: int(t[1]), nonTargetTrials: int(t[2]), eerPercent: Number(w[1]), ciPercent: [Number(w[2]), Number(w[3])], minDcf: Number(w[4]) };
}

function parseRow(cells: string[]): CardRow {
  const [set, channel, utts, trials, whole] = cells;
  const u = /^(\d+)\/(\d+) \((\d+)\)$/.exec(utts ?? '');
  const figures = parseTrialCells(trials, whole);
  if (set === undefined || channel === undefined || u === null || figures === null) throw new Error(`unreadable model card row: ${cells.join(' | ')}`);
  return {
    set,
    // The card names the as-recorded row "wideband", or "as recorded (8 kHz: ...)" for fsdd; the
    // simulated line is "telephone µ-law".
    channel: channel.startsWith('telephone') ? 'telephone' : 'wideband',
    analysed: int(u[1]),
    utterances: int(u[2]),
    vadFallback: int(u[3]),
    ...figures,
  };
}

const modelId = /^## Model card: `([^`]+)`/m.exec(modelCard)?.[1];
const rows = modelCardTable('| dev set | channel | utterances (VAD found none) |').map(parseRow);
const ratios = new Map(modelCardTable('| dev set | telephone ÷ wideband EER (whole, AS-norm) |').map(([set, ratio]) => [set, Number(ratio)]));

interface CrossRow {
  set: string;
  enrol: string;
  test: string;
  figures: NonNullable<ReturnType<typeof parseTrialCells>>;
  /** At the `standard` threshold on the caller's channel, in %. */
  fmrPercent: number;
  fnmrPercent: number;
}

/** A row of the table across channels: `| so762 | wideband → telephone | 2 250 / 60 000 | 7.42 % [4.7, 10.1] (0.525) | 0.990 %, 22.09 % |`. */
function parseCrossRow(cells: string[]): CrossRow {
  const [set, direction, trials, whole, standard] = cells;
  const d = /^(wideband|telephone) → (wideband|telephone)$/.exec(direction ?? '');
  const p = /^([\d.]+) %, ([\d.]+) %$/.exec(standard ?? '');
  const figures = parseTrialCells(trials, whole);
  if (set === undefined || d === null || p === null || figures === null) throw new Error(`unreadable model card row across channels: ${cells.join(' | ')}`);
  return { set, enrol: d[1] as string, test: d[2] as string, figures, fmrPercent: Number(p[1]), fnmrPercent: Number(p[2]) };
}

const crossRows = modelCardTable('| dev set | enrolled → verified |').map(parseCrossRow);

interface VoiceprintRow {
  enrol: string;
  test: string;
  voiceprints: number;
  enrolledSpeakers: number;
  figures: NonNullable<ReturnType<typeof parseTrialCells>>;
  /** FMR at each default tier under each bound, in %, with the half unit of its last printed digit (a "< 3/N" cell: null). */
  fmrPercent: Record<'standard-estimate' | 'standard-upper-95' | 'high-estimate' | 'high-upper-95', { value: number; rounding: number } | null>;
}

/** A row of *As the service decides*: `| telephone → telephone | 195 (22) / 25 | 397 / 46 800 | 1.76 % [0.9, 3.0] (0.250) | 1.00 %, … | 0.314 %, … | … |`. */
function parseVoiceprintRow(cells: string[]): VoiceprintRow {
  const [direction, voiceprints, trials, eer, standardEstimate, standardUpper, highEstimate, highUpper] = cells;
  const d = /^(wideband|telephone) → (wideband|telephone)$/.exec(direction ?? '');
  const v = /^([\d ]+) \((\d+)\) \/ \d+$/.exec(voiceprints ?? '');
  const figures = parseTrialCells(trials, eer);
  const fmr = (cell: string | undefined) => {
    const m = /^(\d+)\.(\d+) %, /.exec(cell ?? '');
    return m === null ? null : { value: Number(`${m[1]}.${m[2]}`), rounding: 0.5 * 10 ** -(m[2] as string).length };
  };
  if (d === null || v === null || figures === null) throw new Error(`unreadable model card row of voiceprints: ${cells.join(' | ')}`);
  return {
    enrol: d[1] as string,
    test: d[2] as string,
    voiceprints: Number((v[1] as string).replace(/ /g, '')),
    enrolledSpeakers: Number(v[2]),
    figures,
    fmrPercent: { 'standard-estimate': fmr(standardEstimate), 'standard-upper-95': fmr(standardUpper), 'high-estimate': fmr(highEstimate), 'high-upper-95': fmr(highUpper) },
  };
}

const voiceprintRows = modelCardTable('| so762, enrolled → verified | voiceprints (of speakers) / speakers |').map(parseVoiceprintRow);

interface Report {
  model: string;
  channel: string;
  counts: { utterances: number; analysed: number; vadFallbackUtterances: number; targetTrials: number; nonTargetTrials: number };
  eer: { value: number; ci95: { low: number; high: number } };
  minDcf: { value: number };
}

function expectNear(measured: number, inCard: number, tolerance: number, what: string): void {
  expect(Math.abs(measured - inCard), `${what}: measured ${measured}, the card says ${inCard}`).toBeLessThanOrEqual(tolerance);
}

let out: string;
const measured = new Map<string, Report>();

beforeAll(() => {
  out = tempDir('vp-model-card-');
});
afterAll(() => {
  fs.rmSync(out, { recursive: true, force: true });
});

describe('the model card is what eval measures', () => {
  it('describes the service\'s default model and lists every dev set on both channels', () => {
    expect(modelId).toBe(loadConfig({}).modelId);
    expect(rows.map((r) => `${r.set}/${r.channel}`)).toEqual(['so762/wideband', 'so762/telephone', 'sc/wideband', 'sc/telephone', 'fsdd/wideband', 'fsdd/telephone']);
    expect([...ratios.keys()]).toEqual(['so762', 'sc', 'fsdd']);
    expect(crossRows.map((r) => `${r.set}/${r.enrol}→${r.test}`)).toEqual(['so762/wideband→telephone', 'so762/telephone→wideband', 'sc/wideband→telephone', 'sc/telephone→wideband']);
    expect(voiceprintRows.map((r) => `${r.enrol}→${r.test}`)).toEqual(['wideband→wideband', 'telephone→telephone', 'wideband→telephone', 'telephone→wideband']);
  });

  // Tolerances: the card prints EERs to 0.01 points and minDCF to 0.001, and onnxruntime's CPU
  // kernels may round differently on another processor, which can move a trial across the EER
  // threshold (one so762 target trial is 0.09 points of miss rate). Anything larger is a change.
  it.skipIf(!haveShared).each(rows)(
    '$set $channel: the card\'s EER, its interval, minDCF and trial counts',
    async (row) => {
      const file = path.join(out, `${row.set}-${row.channel}.json`);
      const args = ['eval', path.join(devDir, row.set), '--channel', row.channel, '--model', modelId ?? '', '--embed', 'whole', '--durations', 'none', '--out', file];
      const run = await runCli(args, { VP_WORKERS: '2' }, 300_000);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
      measured.set(`${row.set}/${row.channel}`, report);
      expect(report.model).toBe(modelId);
      expect(report.channel).toBe(row.channel);
      expect({
        analysed: report.counts.analysed,
        utterances: report.counts.utterances,
        vadFallback: report.counts.vadFallbackUtterances,
        targetTrials: report.counts.targetTrials,
        nonTargetTrials: report.counts.nonTargetTrials,
      }).toEqual({ analysed: row.analysed, utterances: row.utterances, vadFallback: row.vadFallback, targetTrials: row.targetTrials, nonTargetTrials: row.nonTargetTrials });
      expectNear(report.eer.value * 100, row.eerPercent, 0.1, 'EER (%)');
      expectNear(report.eer.ci95.low * 100, row.ciPercent[0], 0.2, 'EER interval, low end (%)');
      expectNear(report.eer.ci95.high * 100, row.ciPercent[1], 0.2, 'EER interval, high end (%)');
      expectNear(report.minDcf.value, row.minDcf, 0.005, 'minDCF');
    },
    320_000,
  );

  it.skipIf(!haveShared)(
    'so762 enrolled on wideband audio, verified on the phone: the card\'s EER, its interval, minDCF, counts and standard-policy rates',
    async () => {
      const cross = crossRows[0] as CrossRow;
      const file = path.join(out, 'so762-cross.json');
      const args = ['eval', path.join(devDir, cross.set), '--enrol-channel', cross.enrol, '--channel', cross.test, '--model', modelId ?? '', '--embed', 'whole', '--durations', 'none', '--out', file];
      const run = await runCli(args, { VP_WORKERS: '2' }, 300_000);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report & {
        enrolChannel: string;
        policies: { policy: string; targetFmrBound: string | null; fmr: number | null; fnmr: number | null }[];
      };
      expect([report.enrolChannel, report.channel]).toEqual([cross.enrol, cross.test]);
      expect({ targetTrials: report.counts.targetTrials, nonTargetTrials: report.counts.nonTargetTrials }).toEqual({
        targetTrials: cross.figures.targetTrials,
        nonTargetTrials: cross.figures.nonTargetTrials,
      });
      expectNear(report.eer.value * 100, cross.figures.eerPercent, 0.1, 'EER (%)');
      expectNear(report.eer.ci95.low * 100, cross.figures.ciPercent[0], 0.2, 'EER interval, low end (%)');
      expectNear(report.eer.ci95.high * 100, cross.figures.ciPercent[1], 0.2, 'EER interval, high end (%)');
      expectNear(report.minDcf.value, cross.figures.minDcf, 0.005, 'minDCF');
      const standard = report.policies.find((p) => p.policy === 'standard' && p.targetFmrBound === 'estimate');
      // One so762 non-target trial across channels is 0.0017 points of FMR, one target trial 0.044 of FNMR.
      expectNear((standard?.fmr ?? NaN) * 100, cross.fmrPercent, 0.02, 'standard FMR (%)');
      expectNear((standard?.fnmr ?? NaN) * 100, cross.fnmrPercent, 0.2, 'standard FNMR (%)');
    },
    320_000,
  );

  // The shipped calibration is fitted on these trials, and the default tiers' thresholds are read off
  // them: the table's phone row, voiceprints enrolled and verified over the phone (the contact
  // centre's own case), is rerun here without its duration columns, about 35 s; the other rows stay
  // with model-card-evals.sh.
  it.skipIf(!haveShared)(
    'so762, 20 s voiceprints on the phone, one from each utterance on: the card\'s EER, counts and false-match rates at both bounds',
    async () => {
      const row = voiceprintRows.find((r) => r.enrol === 'telephone' && r.test === 'telephone');
      if (row === undefined) throw new Error('models/README.md has no telephone → telephone row in *As the service decides*');
      const file = path.join(out, 'so762-voiceprints.json');
      const args = ['eval', path.join(devDir, 'so762'), '--trials', 'enrolment', '--voiceprints', 'rotating', '--enrol-seconds', '20', '--enrol-channel', 'telephone', '--channel', 'telephone', '--model', modelId ?? '', '--durations', 'none', '--out', file];
      const run = await runCli(args, { VP_WORKERS: '2' }, 300_000);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report & {
        counts: { enrolledSpeakers: number; voiceprints: number };
        policies: { policy: string; targetFmrBound: string | null; fmr: number | null }[];
      };
      expect({ voiceprints: report.counts.voiceprints, enrolledSpeakers: report.counts.enrolledSpeakers, targetTrials: report.counts.targetTrials, nonTargetTrials: report.counts.nonTargetTrials }).toEqual({
        voiceprints: row.voiceprints,
        enrolledSpeakers: row.enrolledSpeakers,
        targetTrials: row.figures.targetTrials,
        nonTargetTrials: row.figures.nonTargetTrials,
      });
      expectNear(report.eer.value * 100, row.figures.eerPercent, 0.1, 'EER (%)');
      expectNear(report.minDcf.value, row.figures.minDcf, 0.005, 'minDCF');
      for (const [key, inCard] of Object.entries(row.fmrPercent)) {
        const [policy, bound] = [key.slice(0, key.indexOf('-')), key.slice(key.indexOf('-') + 1)];
        const measuredFmr = report.policies.find((p) => p.policy === policy && p.targetFmrBound === bound)?.fmr ?? NaN;
        // The card's rounding, plus one non-target trial (of 46 800: 0.002 points); a "< 3/N" cell holds at most 2.
        if (inCard === null) expect(measuredFmr * row.figures.nonTargetTrials, `${key} false matches`).toBeLessThan(3);
        else expectNear(measuredFmr * 100, inCard.value, inCard.rounding + 100 / row.figures.nonTargetTrials, `${key} FMR (%)`);
      }
    },
    320_000,
  );

  it.skipIf(!haveShared)('the telephone ÷ wideband ratios the goals are judged by', () => {
    for (const [set, ratio] of ratios) {
      const w = measured.get(`${set}/wideband`);
      const t = measured.get(`${set}/telephone`);
      if (w === undefined || t === undefined) throw new Error(`${set}: an eval above failed, so there is no ratio to check`);
      expectNear(t.eer.value / w.eer.value, ratio, 0.02, `${set}: telephone ÷ wideband`);
    }
  });
});
