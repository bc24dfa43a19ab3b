/**
 * The manifest's `scoreNormalisation` block (AS-norm): schema, cohort files checked at load time
 * (size, sha256, finite values, errors naming the file), cohorts and calibrations bound to the
 * model file, and a calibration bound to the score scale it was fitted on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVoicePassportError } from '../../src/errors.js';
import { cohortFileBytes, sha256OfBytes } from '../../src/model/cohort-file.js';
import { calibrationGaps, loadManifest, manifestSchema, scoreScaleOf } from '../../src/model/manifest.js';
import { repoRoot } from '../cli/run-cli.js';

const DIM = 128; // vp-test-tiny
const tiny = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', 'vp-test-tiny.json'), 'utf8')) as Record<string, unknown> & { sha256: string };

/** n rows of DIM floats, row r pointing mostly along dimension r. */
function rows(n: number, scale = 2): Float32Array {
  const out = new Float32Array(n * DIM);
  for (let r = 0; r < n; r++) {
    out[r * DIM + (r % DIM)] = scale;
    out[r * DIM + ((r + 1) % DIM)] = 0.5;
  }
  return out;
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-asnorm-manifest-'));
  fs.copyFileSync(path.join(repoRoot, 'models', 'vp-test-tiny.onnx'), path.join(dir, 'vp-test-tiny.onnx'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeCohort(name: string, data: Float32Array | Uint8Array): string {
  const bytes = data instanceof Float32Array ? cohortFileBytes(data) : data;
  fs.writeFileSync(path.join(dir, name), bytes);
  return sha256OfBytes(bytes);
}

function writeManifest(extra: Record<string, unknown>): void {
  fs.writeFileSync(path.join(dir, 'vp-test-tiny.json'), JSON.stringify({ ...tiny, ...extra }));
}

const block = (sha: string, more: Record<string, unknown> = {}) => ({
  method: 'as-norm',
  enabled: true,
  topK: 3,
  cohorts: { wideband: { file: 'vp-test-tiny.cohort-wideband.f32', sha256: sha, speakers: 5 } },
  ...more,
});

async function refusal(): Promise<string> {
  const e = await loadManifest(dir, 'vp-test-tiny').then(
    () => null,
    (err: unknown) => err,
  );
  if (!isVoicePassportError(e)) throw new Error(`expected model-invalid, got ${String(e)}`);
  expect(e.code).toBe('model-invalid');
  return e.message;
}

describe('scoreNormalisation schema', () => {
  const base = { ...tiny };
  const issues = (scoreNormalisation: unknown) => {
    const r = manifestSchema.safeParse({ ...base, scoreNormalisation });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts both channels with provenance; refuses folders in file names, top-K 0, other methods and unknown keys', () => {
    const sha = 'a'.repeat(64);
    expect(
      issues({
        ...block(sha),
        cohorts: {
          wideband: { file: 'm.cohort-wideband.f32', sha256: sha, speakers: 453, source: { folder: '../shared/data/train', utterancesPerSpeaker: 3, seconds: 6, channel: 'wideband', createdAt: 'now', modelSha256: tiny.sha256 } },
          telephone: { file: 'm.cohort-telephone.f32', sha256: sha, speakers: 453, source: { channel: 'telephone', law: 'mulaw' } },
        },
      }),
    ).toEqual([]);
    expect(issues({ ...block(sha), cohorts: { wideband: { file: '../x.f32', sha256: sha, speakers: 5 } } })).toEqual([
      `scoreNormalisation.cohorts.wideband.file: a file name in the manifest's folder (letters, digits, ".", "_", "-"; no folders)`,
    ]);
    expect(issues({ ...block(sha), topK: 0 })).toEqual(['scoreNormalisation.topK: Too small: expected number to be >=1']);
    expect(issues({ ...block(sha), cohorts: { wideband: { file: 'm.f32', sha256: sha, speakers: 5, rows: 4 } } })).toEqual([
      'scoreNormalisation.cohorts.wideband.rows: rows must be at least speakers: every cohort speaker has a row',
    ]);
    expect(issues({ ...block(sha), method: 'z-norm' })).toHaveLength(1);
    expect(issues({ ...block(sha), extra: 1 })).toEqual(['scoreNormalisation: Unrecognized key: "extra"']);
  });
});

describe('loadManifest with cohort files', () => {
  it('loads the cohorts, rows L2-normalised; a manifest without the block has none', async () => {
    writeManifest({});
    expect((await loadManifest(dir, 'vp-test-tiny')).cohorts).toBeUndefined();
    const sha = writeCohort('vp-test-tiny.cohort-wideband.f32', rows(5));
    const tsha = writeCohort('tel.f32', rows(4, 3));
    writeManifest({ scoreNormalisation: { ...block(sha), cohorts: { wideband: block(sha).cohorts.wideband, telephone: { file: 'tel.f32', sha256: tsha, speakers: 4 } } } });
    const m = await loadManifest(dir, 'vp-test-tiny');
    expect(m.cohorts!.wideband).toMatchObject({ size: 5, dim: DIM, sha256: sha, file: path.join(dir, 'vp-test-tiny.cohort-wideband.f32') });
    expect(m.cohorts!.telephone).toMatchObject({ size: 4, dim: DIM, sha256: tsha });
    const r0 = m.cohorts!.wideband.rows.subarray(0, DIM);
    expect(Math.hypot(...r0)).toBeCloseTo(1, 6);
    expect(r0[0]).toBeCloseTo(2 / Math.hypot(2, 0.5), 6);
  });

  it('a row per utterance: the file holds `rows` rows, not one per speaker', async () => {
    const sha = writeCohort('vp-test-tiny.cohort-wideband.f32', rows(5));
    const utterances = { file: 'vp-test-tiny.cohort-wideband.f32', sha256: sha, speakers: 2, rows: 5, source: { row: 'utterance' } };
    writeManifest({ scoreNormalisation: { ...block(sha), cohorts: { wideband: utterances } } });
    expect((await loadManifest(dir, 'vp-test-tiny')).cohorts!.wideband).toMatchObject({ size: 5, dim: DIM, sha256: sha });
    writeManifest({ scoreNormalisation: { ...block(sha), cohorts: { wideband: { ...utterances, rows: 4 } } } });
    expect(await refusal()).toMatch(new RegExp(`has ${5 * DIM * 4} bytes, but 4 rows × ${DIM} dimensions × 4 bytes \\(float32\\) = ${4 * DIM * 4}$`));
  });

  it('a disabled block is still checked (eval --score-normalisation as-norm uses it)', async () => {
    writeManifest({ scoreNormalisation: block('b'.repeat(64), { enabled: false }) });
    expect(await refusal()).toMatch(/wideband cohort: cohort file .*vp-test-tiny\.cohort-wideband\.f32 cannot be read \(ENOENT\)/);
  });

  it('refuses a wrong size, a wrong sha256, a non-finite value and an all-zero row, naming the file', async () => {
    const file = path.join(dir, 'vp-test-tiny.cohort-wideband.f32');
    let sha = writeCohort('vp-test-tiny.cohort-wideband.f32', rows(4));
    writeManifest({ scoreNormalisation: block(sha) });
    expect(await refusal()).toBe(`model "vp-test-tiny" wideband cohort: cohort file ${file} has ${4 * DIM * 4} bytes, but 5 rows × ${DIM} dimensions × 4 bytes (float32) = ${5 * DIM * 4}`);

    sha = writeCohort('vp-test-tiny.cohort-wideband.f32', rows(5));
    writeManifest({ scoreNormalisation: block('c'.repeat(64)) });
    expect(await refusal()).toBe(`model "vp-test-tiny" wideband cohort: cohort file ${file} has sha256 ${sha}, but the manifest expects ${'c'.repeat(64)}`);

    const nan = rows(5);
    nan[2 * DIM + 7] = Number.NaN;
    writeManifest({ scoreNormalisation: block(writeCohort('vp-test-tiny.cohort-wideband.f32', nan)) });
    expect(await refusal()).toBe(`model "vp-test-tiny" wideband cohort: cohort file ${file} holds a non-finite value (NaN) in row 2, dimension 7`);

    const zero = rows(5);
    zero.fill(0, 3 * DIM, 4 * DIM);
    writeManifest({ scoreNormalisation: block(writeCohort('vp-test-tiny.cohort-wideband.f32', zero)) });
    expect(await refusal()).toBe(`model "vp-test-tiny" wideband cohort: cohort file ${file} row 3 has no usable length (norm 0)`);
  });

  it('refuses a cohort made with other weights', async () => {
    const sha = writeCohort('vp-test-tiny.cohort-wideband.f32', rows(5));
    const other = 'f'.repeat(64);
    writeManifest({ scoreNormalisation: { ...block(sha), cohorts: { wideband: { ...block(sha).cohorts.wideband, source: { modelSha256: other } } } } });
    expect(await refusal()).toMatch(`the wideband cohort was made with model file sha256 ${other}, not this manifest's ${tiny.sha256}; make it again (voice-passport cohort --write)`);
  });
});

describe('a calibration is bound to the score scale it was fitted on', () => {
  const data = (scoreNormalisation?: unknown) => ({ sets: [], protocol: 'p', createdAt: 't', ...(scoreNormalisation === undefined ? {} : { scoreNormalisation }) });

  it('a cosine calibration (recorded or not) loads with AS-norm off and is refused with it on', async () => {
    const sha = writeCohort('vp-test-tiny.cohort-wideband.f32', rows(5));
    writeManifest({ scoreNormalisation: block(sha, { enabled: false }), calibration: { method: 'logistic', wideband: { a: 10, b: -5 }, telephone: { a: 9, b: -4, data: data({ method: 'none' }) } } });
    expect((await loadManifest(dir, 'vp-test-tiny')).calibration?.wideband.a).toBe(10);
    writeManifest({ scoreNormalisation: block(sha), calibration: { method: 'logistic', wideband: { a: 10, b: -5 } } });
    expect(await refusal()).toMatch(
      `the wideband calibration was fitted on cosine scores (no score normalisation), but the manifest now compares AS-norm scores (top-3, cohort sha256 ${sha}); remove calibration and recalibrate (voice-passport calibrate --write), or restore scoreNormalisation as it was`,
    );
  });

  it('an AS-norm calibration needs the same top-K and cohort; telephone is checked against its own cohort', async () => {
    const sha = writeCohort('vp-test-tiny.cohort-wideband.f32', rows(5));
    const asNorm = { method: 'as-norm', topK: 3, cohortSha256: sha };
    writeManifest({ scoreNormalisation: block(sha), calibration: { method: 'logistic', wideband: { a: 1, b: 0, data: data(asNorm) }, telephone: { a: 1, b: 0, data: data(asNorm) } } });
    expect((await loadManifest(dir, 'vp-test-tiny')).calibration?.telephone?.a).toBe(1);
    writeManifest({ scoreNormalisation: block(sha, { topK: 4 }), calibration: { method: 'logistic', wideband: { a: 1, b: 0, data: data(asNorm) } } });
    expect(await refusal()).toMatch(/the wideband calibration was fitted on AS-norm scores \(top-3, .*but the manifest now compares AS-norm scores \(top-4/);
    // A telephone cohort arrives: the telephone calibration was fitted against the wideband one.
    const tsha = writeCohort('tel.f32', rows(5, 3));
    const both = { ...block(sha), cohorts: { ...block(sha).cohorts, telephone: { file: 'tel.f32', sha256: tsha, speakers: 5 } } };
    writeManifest({ scoreNormalisation: both, calibration: { method: 'logistic', wideband: { a: 1, b: 0, data: data(asNorm) }, telephone: { a: 1, b: 0, data: data(asNorm) } } });
    expect(await refusal()).toMatch(/the telephone calibration was fitted on AS-norm scores .*remove calibration\.telephone and recalibrate/);
    expect(scoreScaleOf(manifestSchema.parse({ ...tiny, scoreNormalisation: both }), 'telephone')).toEqual({ method: 'as-norm', topK: 3, cohortSha256: tsha });
    expect(scoreScaleOf(manifestSchema.parse({ ...tiny, scoreNormalisation: both }), 'telephone', false)).toEqual({ method: 'none' });
  });
});

describe('calibrationGaps: what stops the service deciding calls with a manifest', () => {
  const shipped = manifestSchema.parse(JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', 'vp-resnet-v9.json'), 'utf8')));

  it('nothing for the shipped default model (each channel calibrated on its own scale), nor for one without calibration', () => {
    expect(calibrationGaps(shipped)).toEqual([]);
    expect(calibrationGaps({ ...shipped, calibration: undefined })).toEqual([]);
  });

  it('nothing for a wideband calibration of cosines on a model that compares cosines on both channels', () => {
    const { telephone: _t, ...widebandOnly } = shipped.calibration!;
    const { data: _d, ...cosineFit } = widebandOnly.wideband;
    expect(calibrationGaps({ ...shipped, calibration: { ...widebandOnly, wideband: cosineFit }, scoreNormalisation: undefined })).toEqual([]);
  });

  it('a telephone channel with its own AS-norm cohort but only a wideband calibration: the wideband thresholds would decide it on another scale', () => {
    const { telephone: _t, ...widebandOnly } = shipped.calibration!;
    const gaps = calibrationGaps({ ...shipped, calibration: widebandOnly });
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatch(/^model "vp-resnet-v9" compares telephone calls on AS-norm scores \(top-\d+, cohort sha256 [0-9a-f]{64}\), but has only a wideband calibration, fitted on AS-norm scores .*: calibrate the telephone channel/);
  });
});
