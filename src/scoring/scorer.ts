/**
 * The one comparison the whole service uses: verification (src/passport/verification.ts), the
 * enrolment's same-speaker check, the evaluation trials (src/cli/eval.ts) and so the calibration
 * fitted on them (src/cli/calibrate.ts).
 *
 *   compare(enrolment, test, channel) → { cosine, score }
 *
 * `cosine` is the cosine of the two embeddings (the API's rawScore). `score` is the *comparison
 * score*: the cosine itself, or, when the model manifest enables `scoreNormalisation`, the AS-norm
 * score of that cosine against the impostor cohort of the channel (src/scoring/as-norm.ts;
 * telephone audio uses the telephone cohort when there is one, else the wideband one). The
 * calibration (llr = a·score + b), its operating table and every policy threshold are on the
 * comparison score's scale (src/scoring/policy.ts).
 *
 * Cohort statistics depend on one embedding only, so `prepare` computes them once per embedding and
 * `score` combines two prepared embeddings: eval scores all pairs of N utterances with N top-K
 * computations, not N².
 */
import { cohortFileFor, scoreScaleOf, type LoadedManifest, type ScoreNormalisation, type ScoreScaleRecord } from '../model/manifest.js';
import { asNormScore, cohortStats, type CohortMatrix, type CohortStats } from './as-norm.js';
import { dot, l2Normalise } from './cosine.js';
import type { ScoreChannel } from './policy.js';

/** `manifest`: as the manifest says; `none`: cosines; `as-norm`: the manifest's cohorts even when not enabled (measuring before enabling). */
export const scoreNormalisationModes = ['manifest', 'none', 'as-norm'] as const;
export type ScoreNormalisationMode = (typeof scoreNormalisationModes)[number];

/** The comparison score's scale. */
export type ComparisonScale = 'cosine' | 'as-norm';

export interface Comparison {
  /** Cosine of the two embeddings, −1 to 1. */
  cosine: number;
  /** The comparison score: the cosine, or its AS-norm score. */
  score: number;
}

/** An embedding made ready for scoring: unit length, and its cohort statistics under AS-norm. */
export interface PreparedEmbedding {
  unit: Float32Array;
  stats: CohortStats | null;
}

type Cohort = CohortMatrix & { sha256: string; file?: string };

interface AsNorm {
  topK: number;
  cohorts: { wideband: Cohort; telephone?: Cohort };
  /** The manifest block, for scale records (cohort sha256 per channel). */
  setting: ScoreNormalisation;
}

export class Scorer {
  private constructor(
    private readonly asNorm: AsNorm | null,
    /** The manifest's `scoreNormalisation` (enabled or not); null when it has none. */
    readonly declared: ScoreNormalisation | null,
  ) {}

  /** Plain cosines: a model without `scoreNormalisation`. */
  static readonly cosine: Scorer = new Scorer(null, null);

  /**
   * The scorer of a loaded manifest (its cohorts checked by loadManifest). `mode` overrides the
   * manifest's `enabled` for evaluation; `as-norm` on a manifest without cohorts is refused.
   */
  static fromManifest(manifest: Pick<LoadedManifest, 'id' | 'scoreNormalisation' | 'cohorts'>, mode: ScoreNormalisationMode = 'manifest'): Scorer {
    const setting = manifest.scoreNormalisation ?? null;
    const on = mode === 'as-norm' || (mode === 'manifest' && setting?.enabled === true);
    if (!on) return setting === null ? Scorer.cosine : new Scorer(null, setting);
    if (setting === null || manifest.cohorts === undefined) {
      throw new RangeError(`model "${manifest.id}" has no scoreNormalisation cohorts in its manifest (voice-passport cohort --write makes them)`);
    }
    return new Scorer({ topK: setting.topK, cohorts: manifest.cohorts, setting }, setting);
  }

  /** A scorer with AS-norm on, from cohorts in memory (tests, tools). */
  static asNorm(topK: number, cohorts: { wideband: Cohort; telephone?: Cohort }): Scorer {
    const file = (c: Cohort, channel: string) => ({ file: c.file ?? `cohort-${channel}.f32`, sha256: c.sha256, speakers: c.size });
    const setting: ScoreNormalisation = {
      method: 'as-norm',
      enabled: true,
      topK,
      cohorts: cohorts.telephone === undefined ? { wideband: file(cohorts.wideband, 'wideband') } : { wideband: file(cohorts.wideband, 'wideband'), telephone: file(cohorts.telephone, 'telephone') },
    };
    return new Scorer({ topK, cohorts, setting }, setting);
  }

  get scale(): ComparisonScale {
    return this.asNorm === null ? 'cosine' : 'as-norm';
  }

  /** The cohort a channel uses (telephone falls back to wideband); null without AS-norm. */
  cohortFor(channel: ScoreChannel): { channel: ScoreChannel; cohort: Cohort } | null {
    if (this.asNorm === null) return null;
    const { telephone, wideband } = this.asNorm.cohorts;
    return channel === 'telephone' && telephone !== undefined ? { channel: 'telephone', cohort: telephone } : { channel: 'wideband', cohort: wideband };
  }

  prepare(embedding: Float32Array, channel: ScoreChannel): PreparedEmbedding {
    const unit = l2Normalise(embedding);
    const chosen = this.cohortFor(channel);
    return { unit, stats: chosen === null ? null : cohortStats(unit, chosen.cohort, this.asNorm!.topK) };
  }

  /** Two embeddings prepared for the same channel. */
  score(enrolment: PreparedEmbedding, test: PreparedEmbedding): Comparison {
    // Exactly scoring/cosine.ts cosine(): the dot product of the unit vectors, clamped against rounding.
    const cosine = Math.max(-1, Math.min(1, dot(enrolment.unit, test.unit)));
    if (enrolment.stats === null || test.stats === null) {
      if (this.asNorm !== null) throw new RangeError('AS-norm needs both embeddings prepared by this scorer');
      return { cosine, score: cosine };
    }
    return { cosine, score: asNormScore(cosine, enrolment.stats, test.stats) };
  }

  compare(enrolment: Float32Array, test: Float32Array, channel: ScoreChannel): Comparison {
    return this.score(this.prepare(enrolment, channel), this.prepare(test, channel));
  }

  /** What a calibration fitted on this scorer's scores records (manifest `data.scoreNormalisation`). */
  scaleRecord(channel: ScoreChannel): ScoreScaleRecord {
    return this.asNorm === null ? { method: 'none' } : scoreScaleOf({ scoreNormalisation: this.asNorm.setting }, channel, true);
  }

  /** For reports: the normalisation used on a channel, with top-K and the cohort behind it. */
  describe(channel: ScoreChannel): { scoreNormalisation: 'none' } | { scoreNormalisation: 'as-norm'; topK: number; cohort: { channel: ScoreChannel; speakers: number; rows: number; file: string; sha256: string } } {
    const chosen = this.cohortFor(channel);
    if (chosen === null || this.asNorm === null) return { scoreNormalisation: 'none' };
    const entry = cohortFileFor(this.asNorm.setting, channel).cohort;
    return {
      scoreNormalisation: 'as-norm',
      topK: this.asNorm.topK,
      cohort: { channel: chosen.channel, speakers: entry.speakers, rows: chosen.cohort.size, file: entry.file, sha256: chosen.cohort.sha256 },
    };
  }

  /** The pair scorer of src/evaluation/trials.ts for one channel. */
  trialScorer(channel: ScoreChannel): { prepare: (embedding: Float32Array) => PreparedEmbedding; score: (a: PreparedEmbedding, b: PreparedEmbedding) => number } {
    return { prepare: (e) => this.prepare(e, channel), score: (a, b) => this.score(a, b).score };
  }
}
