/** The manifest's `calibration` block (written by `voice-passport calibrate --write`). */
import { describe, expect, it } from 'vitest';
import { manifestSchema } from '../../src/model/manifest.js';
import { operatingTable } from '../../src/scoring/calibration.js';

const base = {
  id: 'm',
  convention: 'wespeaker',
  file: 'm.onnx',
  sha256: '0'.repeat(64),
  sampleRate: 16000,
  frontEnd: {},
  sampleScale: 'int16',
  normalisation: 'mean',
  input: { name: 'feats', layout: 'BTF' },
  output: { name: 'embs' },
  embeddingDim: 4,
};
const table = operatingTable({ nonTarget: [0.1, 0.2, 0.3, 0.4], target: [0.35, 0.9] });
const issues = (calibration: unknown) => {
  const r = manifestSchema.safeParse({ ...base, calibration });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('manifest calibration', () => {
  it('accepts a hand-written a, b and a full calibration with tables, per channel', () => {
    expect(issues({ method: 'logistic', wideband: { a: 12, b: -5 } })).toEqual([]);
    const full = {
      method: 'logistic',
      wideband: {
        a: 12,
        b: -5,
        trials: { target: 2, nonTarget: 4, speakers: 3 },
        cllr: { raw: 0.9, calibrated: 0.3 },
        eer: 0.1,
        operatingPoints: table,
        durations: [{ seconds: 2, eer: 0.1, targetTrials: 2, nonTargetTrials: 4 }],
        acrossChannels: { enrolChannel: 'telephone', durations: [{ seconds: 2, eer: 0.12, targetTrials: 4, nonTargetTrials: 8 }] },
        effectivePrior: 0.5,
        data: { sets: ['../shared/data/dev/so762'], protocol: 'all pairs', createdAt: '2026-11-29T00:00:00Z' },
      },
      telephone: { a: 10, b: -4, operatingPoints: table },
    };
    const parsed = manifestSchema.parse({ ...base, calibration: full });
    expect(parsed.calibration).toEqual(full);
  });

  it('refuses a slope ≤ 0, an unordered table, a table without its FMR-0 row, and unknown fields', () => {
    expect(issues({ method: 'logistic', wideband: { a: 0, b: 1 } })).toEqual(['calibration.wideband.a: Too small: expected number to be >0']);
    expect(issues({ method: 'logistic', wideband: { a: 1, b: 0, operatingPoints: [...table].reverse() } })).toEqual([
      'calibration.wideband.operatingPoints: operating points must have ascending thresholds and non-increasing FMR',
      'calibration.wideband.operatingPoints: the last operating point must have FMR 0 (above every non-target score)',
    ]);
    expect(issues({ method: 'logistic', wideband: { a: 1, b: 0, operatingPoints: table.slice(0, -1) } })).toEqual([
      'calibration.wideband.operatingPoints: the last operating point must have FMR 0 (above every non-target score)',
    ]);
    expect(issues({ method: 'logistic', wideband: { a: 1, b: 0, c: 2 } })).toEqual(['calibration.wideband: Unrecognized key: "c"']);
  });

  it('takes false-match pair counts on every row or none, not rising with the threshold, 0 exactly at FMR 0', () => {
    // table: FMR 0.5, 0.25, 0 at ascending thresholds.
    const withPairs = (pairs: number[]) => table.map((r, i) => ({ ...r, falseMatchPairs: pairs[i] }));
    const wideband = (operatingPoints: unknown) => ({ method: 'logistic', wideband: { a: 1, b: 0, operatingPoints } });
    expect(table.map((r) => r.fmr)).toEqual([0.5, 0.25, 0]);
    expect(issues(wideband(withPairs([2, 2, 0])))).toEqual([]);
    const partial = withPairs([2, 2, 0]).map((r, i) => (i === 1 ? { threshold: r.threshold, fmr: r.fmr, fnmr: r.fnmr } : r));
    const order = 'calibration.wideband.operatingPoints: falseMatchPairs must be on every operating point or none, and not rise with the threshold';
    expect(issues(wideband(partial))).toEqual([order]);
    expect(issues(wideband(withPairs([1, 2, 0])))).toEqual([order]);
    expect(issues(wideband(withPairs([2, 0, 0])))).toEqual(['calibration.wideband.operatingPoints.1: falseMatchPairs is 0 exactly where the FMR is 0']);
    expect(issues(wideband(withPairs([2, 1, 1])))).toEqual(['calibration.wideband.operatingPoints.2: falseMatchPairs is 0 exactly where the FMR is 0']);
    expect(issues(wideband(withPairs([2, 1.5, 0])))[0]).toMatch(/^calibration\.wideband\.operatingPoints\.1\.falseMatchPairs: /);
  });

  it("refuses a table across channels enrolled on the block's own channel", () => {
    const across = (enrolChannel: string) => ({ enrolChannel, durations: [{ seconds: 3, eer: 0.05, targetTrials: 1, nonTargetTrials: 1 }] });
    const wrong = "calibration: a channel's acrossChannels table must be enrolled on the other channel";
    expect(issues({ method: 'logistic', wideband: { a: 1, b: 0, acrossChannels: across('wideband') } })).toEqual([wrong]);
    expect(issues({ method: 'logistic', wideband: { a: 1, b: 0 }, telephone: { a: 1, b: 0, acrossChannels: across('telephone') } })).toEqual([wrong]);
    expect(issues({ method: 'logistic', wideband: { a: 1, b: 0, acrossChannels: across('telephone') }, telephone: { a: 1, b: 0, acrossChannels: across('wideband') } })).toEqual([]);
    expect(issues({ method: 'logistic', wideband: { a: 1, b: 0, acrossChannels: across('gsm') } })[0]).toMatch(/^calibration\.wideband\.acrossChannels\.enrolChannel: /);
  });
});

describe('calibration bound to the model file', () => {
  it('loadManifest refuses a calibration fitted on other weights', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { loadManifest } = await import('../../src/model/manifest.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-cal-sha-'));
    try {
      const repoModels = new URL('../../models/', import.meta.url);
      fs.copyFileSync(new URL('vp-test-tiny.onnx', repoModels), path.join(dir, 'vp-test-tiny.onnx'));
      const manifest = JSON.parse(fs.readFileSync(new URL('vp-test-tiny.json', repoModels), 'utf8'));
      const data = (modelSha256: string) => ({ sets: [], protocol: 'p', createdAt: '2026-11-29T00:00:00Z', modelSha256 });
      fs.writeFileSync(path.join(dir, 'vp-test-tiny.json'), JSON.stringify({ ...manifest, calibration: { method: 'logistic', wideband: { a: 1, b: 0, data: data(manifest.sha256) } } }));
      expect((await loadManifest(dir, 'vp-test-tiny')).calibration?.wideband.a).toBe(1);
      fs.writeFileSync(
        path.join(dir, 'vp-test-tiny.json'),
        JSON.stringify({ ...manifest, calibration: { method: 'logistic', wideband: { a: 1, b: 0 }, telephone: { a: 1, b: 0, data: data('f'.repeat(64)) } } }),
      );
      await expect(loadManifest(dir, 'vp-test-tiny')).rejects.toThrow(
        `the telephone calibration was fitted on model file sha256 ${'f'.repeat(64)}, not this manifest's ${manifest.sha256}; recalibrate (voice-passport calibrate --write)`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
