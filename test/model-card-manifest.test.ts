/**
 * The model card's figures that the shipped files already hold, checked against them without running
 * a model: the calibration table and the duration tables (models/README.md, *Calibration and
 * policies*) against the manifest's `calibration`, and the *Files* bullet and README's parameter
 * count against the manifest and the ONNX and cohort files. A recalibration (`calibrate --write`)
 * that is not carried into the card fails here. test/cli/eval-model-card.test.ts reruns the
 * measured tables where ../shared is present; this one runs everywhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { modelCard, modelCardTable } from './model-card.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const modelId = /^## Model card: `([^`]+)`/m.exec(modelCard)?.[1] ?? '';

interface OperatingPoint {
  threshold: number;
  fmr: number;
  fnmr: number;
}
interface Durations {
  seconds: number;
  eer: number;
  targetTrials: number;
}
interface ChannelCalibration {
  a: number;
  b: number;
  cllr: { raw: number; calibrated: number };
  eer: number;
  operatingPoints: OperatingPoint[];
  durations: Durations[];
  acrossChannels?: { enrolChannel: string; durations: Durations[] };
}
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, `models/${modelId}.json`), 'utf8')) as {
  file: string;
  description: string;
  embeddingDim: number;
  scoreNormalisation: { cohorts: Record<string, { file: string; speakers: number; rows: number }> };
  calibration: Record<'wideband' | 'telephone', ChannelCalibration>;
};


const num = (s: string) => Number(s.replace('−', '-'));
/** Agreement to the card's rounding: half a unit of the last digit printed. */
function expectPrinted(printed: string, value: number, what: string): void {
  const decimals = printed.includes('.') ? (printed.split('.')[1] as string).length : 0;
  expect(Math.abs(num(printed) - value), `${what}: the card says ${printed}, the manifest ${value}`).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 1e-9);
}

/** The threshold a policy's estimate bound reads off the operating table: the lowest with FMR at most the target. */
function estimateRow(points: OperatingPoint[], target: number): OperatingPoint {
  const row = [...points].sort((p, q) => p.threshold - q.threshold).find((p) => p.fmr <= target);
  if (row === undefined) throw new Error(`no operating point at FMR ≤ ${target}`);
  return row;
}

describe(`the model card agrees with models/${modelId}.json and the files beside it`, () => {
  it('describes the default model', () => {
    expect(modelId).toBe(loadConfig({}).modelId);
  });

  it('the calibration table: a, b, Cllr, EER, the estimate thresholds with their FNMR, the EER by duration', () => {
    const rows = modelCardTable('| channel | llr = a·s + b (s: AS-norm score) | Cllr raw → calibrated | EER | standard (FMR 1 %), estimate |');
    expect(rows.map((r) => r[0])).toEqual(['wideband', 'telephone']);
    for (const [channel, ab, cllr, eer, standard, high, durations] of rows) {
      const c = manifest.calibration[channel as 'wideband' | 'telephone'];
      const m = /^a ([\d.−-]+), b ([\d.−-]+)$/.exec(ab ?? '');
      expect(m, ab).not.toBeNull();
      expectPrinted(m?.[1] ?? '', c.a, `${channel} a`);
      expectPrinted(m?.[2] ?? '', c.b, `${channel} b`);
      const [raw, calibrated] = (cllr ?? '').split(' → ');
      expectPrinted(raw ?? '', c.cllr.raw, `${channel} Cllr raw`);
      expectPrinted(calibrated ?? '', c.cllr.calibrated, `${channel} Cllr calibrated`);
      expectPrinted((eer ?? '').replace(' %', ''), c.eer * 100, `${channel} EER (%)`);
      for (const [cell, target] of [[standard, 0.01], [high, 0.001]] as const) {
        const p = /^s ≥ ([\d.]+), FNMR ([\d.]+) %$/.exec(cell ?? '');
        expect(p, cell).not.toBeNull();
        const row = estimateRow(c.operatingPoints, target);
        expectPrinted(p?.[1] ?? '', row.threshold, `${channel} threshold at FMR ${target}`);
        expectPrinted(p?.[2] ?? '', row.fnmr * 100, `${channel} FNMR (%) at FMR ${target}`);
      }
      const d = /^([\d.]+) \/ ([\d.]+) \/ ([\d.]+) \/ ([\d.]+) % \((\d+) target trials at 10 s\)$/.exec(durations ?? '');
      expect(d, durations).not.toBeNull();
      c.durations.forEach((row, i) => expectPrinted(d?.[i + 1] ?? '', row.eer * 100, `${channel} EER (%) at ${row.seconds} s`));
      expect(Number(d?.[5])).toBe(c.durations.find((r) => r.seconds === 10)?.targetTrials);
    }
  });

  it("the duration tables behind the policies' minimum net speech, on and across channels", () => {
    const rows = modelCardTable('| enrolled → verified | EER at 2 / 3 / 5 / 10 s (target trials at 10 s) | 5 % reached at | 2 % reached at |');
    expect(rows.length).toBe(4);
    for (const [direction, cell] of rows) {
      const [enrol, test] = (direction ?? '').split(' → ') as ['wideband' | 'telephone', 'wideband' | 'telephone'];
      const c = manifest.calibration[test];
      const durations = enrol === test ? c.durations : c.acrossChannels?.enrolChannel === enrol ? c.acrossChannels.durations : undefined;
      expect(durations, `${direction}: no such table in the manifest`).toBeDefined();
      const d = /^([\d.]+) \/ ([\d.]+) \/ ([\d.]+) \/ ([\d.]+) % \((\d+)\)$/.exec(cell ?? '');
      expect(d, cell).not.toBeNull();
      (durations ?? []).forEach((row, i) => expectPrinted(d?.[i + 1] ?? '', row.eer * 100, `${direction} EER (%) at ${row.seconds} s`));
      expect(Number(d?.[5])).toBe(durations?.find((r) => r.seconds === 10)?.targetTrials);
    }
  });

  it('the Files bullet: ONNX size, cohort rows × dimensions and speakers; the parameter count in the card, the manifest and README', () => {
    const files = /- \*\*Files:\*\* `([^`]+)` \(([\d.]+) MB[\s\S]*?output\s+`embs` \[B, (\d+)\][\s\S]*?(\d+) × (\d+) each[\s\S]*?its (\d+) training speakers/.exec(modelCard);
    expect(files, 'the Files bullet').not.toBeNull();
    const [, onnx, mb, dim, rows, rowDim, speakers] = files ?? [];
    expect(onnx).toBe(manifest.file);
    expectPrinted(mb ?? '', fs.statSync(path.join(repoRoot, 'models', manifest.file)).size / 1e6, 'ONNX file (MB)');
    expect([Number(dim), Number(rowDim)]).toEqual([manifest.embeddingDim, manifest.embeddingDim]);
    for (const cohort of Object.values(manifest.scoreNormalisation.cohorts)) {
      expect([cohort.rows, cohort.speakers]).toEqual([Number(rows), Number(speakers)]);
      expect(fs.statSync(path.join(repoRoot, 'models', cohort.file)).size).toBe(cohort.rows * manifest.embeddingDim * 4);
    }
    const parameters = Number(/\*\*([\d\s]+)\s+parameters\.\*\*/.exec(modelCard)?.[1]?.replace(/\s/g, ''));
    expect(manifest.description).toContain(`${parameters} parameters, ${manifest.embeddingDim}-dim embedding`);
    const inReadme = /`[^`]+` \(([\d.]+) M parameters/.exec(readme.slice(readme.indexOf('## Accuracy of the default model')));
    expectPrinted(inReadme?.[1] ?? 'NaN', parameters / 1e6, 'README parameters (M)');
  });
});
