/**
 * Adaptive symmetric score normalisation (AS-norm): Cumani et al., "Comparison of speaker
 * recognition approaches for real applications", Interspeech 2011; Matějka et al., "Analysis of
 * score normalization in multilingual speaker recognition", Interspeech 2017.
 *
 * A cosine says how alike two embeddings are, but not how alike they are compared with how alike
 * each of them is to other people's voices. AS-norm measures the latter against an impostor cohort
 * C (L2-normalised embeddings of other people's utterances, or one per cohort speaker): for each
 * side x of a trial, the mean μₓ and standard deviation σₓ of its K highest cosines against C
 * ("adaptive": only the cohort rows most like x), and then
 *
 *   s' = ((s − μₑ)/σₑ + (s − μₜ)/σₜ) / 2,   s = cos(e, t)
 *
 * which is symmetric in the enrolment e and the test t, and strictly increasing in s for fixed
 * statistics (σ > 0). Pure functions: no I/O, nothing cached.
 */
import { dot } from './cosine.js';

/**
 * The least standard deviation used: the top-K cosines of a cohort with duplicate rows, or K = 1,
 * have σ = 0, which would divide by zero. Real cohorts have σ of a few hundredths, so the floor
 * never changes a score there. (scripts/train/cohort.py adds 1e-6 instead; the difference is below
 * 1e-4 of a score.)
 */
export const AS_NORM_SD_FLOOR = 1e-6;

/** Statistics of one embedding's K highest cosines against the cohort. */
export interface CohortStats {
  mean: number;
  /** Population standard deviation (divided by K, not K − 1), at least AS_NORM_SD_FLOOR. */
  sd: number;
  /** How many cosines were used: min(K, cohort size). */
  used: number;
}

/** An impostor cohort: `size` rows of `dim` floats, row-major, each row L2-normalised. */
export interface CohortMatrix {
  rows: Float32Array;
  size: number;
  dim: number;
}

/**
 * Mean and population standard deviation of the `k` largest values (all of them when k ≥ their
 * number). Computed in float64; the standard deviation is floored at AS_NORM_SD_FLOOR.
 */
export function topKStats(values: ArrayLike<number>, k: number): CohortStats {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`top-K needs an integer K ≥ 1, got ${k}`);
  const n = values.length;
  if (n === 0) throw new RangeError('top-K statistics need at least one cohort score');
  const used = Math.min(k, n);
  const sorted = Float64Array.from(values).sort(); // ascending; the top-K are the last `used`
  let sum = 0;
  for (let i = n - used; i < n; i++) sum += sorted[i] as number;
  const mean = sum / used;
  let squares = 0;
  for (let i = n - used; i < n; i++) squares += ((sorted[i] as number) - mean) ** 2;
  const sd = Math.sqrt(squares / used);
  if (!Number.isFinite(mean) || !Number.isFinite(sd)) throw new RangeError('top-K statistics of non-finite cohort scores');
  return { mean, sd: Math.max(sd, AS_NORM_SD_FLOOR), used };
}

/** The cosines of a unit-length embedding against every cohort row. */
export function cohortCosines(unit: Float32Array, cohort: CohortMatrix): Float64Array {
  if (unit.length !== cohort.dim) throw new RangeError(`embedding has ${unit.length} dimensions, the cohort ${cohort.dim}`);
  if (cohort.rows.length !== cohort.size * cohort.dim) throw new RangeError(`cohort holds ${cohort.rows.length} floats, not ${cohort.size} × ${cohort.dim}`);
  const out = new Float64Array(cohort.size);
  for (let r = 0; r < cohort.size; r++) out[r] = dot(unit, cohort.rows.subarray(r * cohort.dim, (r + 1) * cohort.dim));
  return out;
}

/** Top-K statistics of one unit-length embedding against the cohort. */
export function cohortStats(unit: Float32Array, cohort: CohortMatrix, topK: number): CohortStats {
  return topKStats(cohortCosines(unit, cohort), topK);
}

/** The AS-norm score of a trial with cosine `s` and the two sides' cohort statistics. */
export function asNormScore(s: number, enrolment: Pick<CohortStats, 'mean' | 'sd'>, test: Pick<CohortStats, 'mean' | 'sd'>): number {
  return ((s - enrolment.mean) / enrolment.sd + (s - test.mean) / test.sd) / 2;
}
