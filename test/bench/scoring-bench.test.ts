/** The bench's scoring section measures the scorer the service would build for each model. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { measureScoring } from '../../scripts/bench/scoring-bench.js';
import { loadConfig } from '../../src/config.js';
import { cohortRows, loadManifest } from '../../src/model/manifest.js';

const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models');

describe('measureScoring', () => {
  it('times AS-norm comparisons for a model whose manifest enables it, with its top-K and cohort size', async () => {
    const { modelId } = loadConfig({});
    const r = await measureScoring(modelsDir, modelId, { warmupRuns: 2, runs: 7 });
    // The default model's manifest says what the bench must report (its cohort changes with the model).
    const norm = (await loadManifest(modelsDir, modelId)).scoreNormalisation!;
    expect(norm.enabled).toBe(true);
    expect(r).toMatchObject({ model: modelId, scale: 'as-norm', topK: norm.topK, cohortSpeakers: norm.cohorts.wideband.speakers, cohortRows: cohortRows(norm.cohorts.wideband), runs: 7 });
    expect(r.time.n).toBe(7);
    expect(r.time.minMs).toBeGreaterThan(0);
  });

  it('times plain cosines for a model without score normalisation', async () => {
    const r = await measureScoring(modelsDir, 'vp-test-tiny', { warmupRuns: 1, runs: 3 });
    expect(r).toMatchObject({ model: 'vp-test-tiny', scale: 'cosine', topK: null, cohortSpeakers: null, cohortRows: null, runs: 3 });
    expect(r.time.n).toBe(3);
  });
});
