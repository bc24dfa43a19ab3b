/**
 * Section 2: one verification's comparison as the service runs it on the event loop after the
 * worker returns the embedding (src/scoring/scorer.ts): the cosine, plus, for a model whose
 * manifest enables AS-norm, both sides' top-K statistics against the cohort (src/scoring/as-norm.ts).
 * Random unit embeddings: the cost does not depend on the values.
 */
import { loadManifest } from '../../src/model/manifest.js';
import { Scorer } from '../../src/scoring/scorer.js';
import { processCpuMs, round, summarise, type Summary } from './stats.js';

export interface ScoringResult {
  model: string;
  scale: 'cosine' | 'as-norm';
  topK: number | null;
  cohortSpeakers: number | null;
  /** Rows of the cohort file: what the comparison's cost grows with. */
  cohortRows: number | null;
  runs: number;
  time: Summary;
  cpuMsPerRun: number;
}

export async function measureScoring(modelsDir: string, modelId: string, opts: { warmupRuns: number; runs: number }): Promise<ScoringResult> {
  const manifest = await loadManifest(modelsDir, modelId);
  const scorer = Scorer.fromManifest(manifest);
  const random = () => Float32Array.from({ length: manifest.embeddingDim }, () => Math.random() - 0.5);
  const enrolment = random();
  const test = random();
  for (let i = 0; i < opts.warmupRuns; i++) scorer.compare(enrolment, test, 'wideband');
  const times: number[] = [];
  const cpu0 = processCpuMs();
  for (let i = 0; i < opts.runs; i++) {
    const t0 = performance.now();
    scorer.compare(enrolment, test, 'wideband');
    times.push(performance.now() - t0);
  }
  const described = scorer.describe('wideband');
  return {
    model: modelId,
    scale: scorer.scale,
    topK: described.scoreNormalisation === 'as-norm' ? described.topK : null,
    cohortSpeakers: described.scoreNormalisation === 'as-norm' ? described.cohort.speakers : null,
    cohortRows: described.scoreNormalisation === 'as-norm' ? described.cohort.rows : null,
    runs: opts.runs,
    time: summarise(times),
    cpuMsPerRun: round((processCpuMs() - cpu0) / opts.runs),
  };
}
