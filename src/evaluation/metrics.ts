/**
 * Verification error rates from scored trials: the operating points of a detector (every
 * threshold between two distinct scores), the equal error rate, the minimum detection cost, and
 * FMR/FNMR at a given threshold. Pure functions of the scores; nothing here knows about audio.
 *
 * Decision rule everywhere (as in src/scoring/policy.ts): ACCEPT when score ≥ threshold.
 *   FMR(t)  = share of non-target trials with score ≥ t   (false match rate, ISO/IEC 19795-1)
 *   FNMR(t) = share of target trials with score < t       (false non-match rate)
 *
 * Trials may carry weights (the speaker bootstrap in confidence.ts counts a resampled speaker's
 * trials several times); without weights every trial counts once.
 */

export interface TrialScores {
  /** Scores of same-speaker (target, genuine) trials. */
  target: ArrayLike<number>;
  /** Scores of different-speaker (non-target, impostor) trials. */
  nonTarget: ArrayLike<number>;
}

/**
 * Trials sorted once by descending score, so that every sweep over thresholds (and every
 * bootstrap replicate, which only changes weights) is linear.
 */
export interface SortedTrials {
  /** Descending. */
  scores: Float64Array;
  /** 1 = target, 0 = non-target, in the order of `scores`. */
  isTarget: Uint8Array;
  /** Position of each trial of the input arrays in `scores`: targets first, then non-targets. */
  order: Uint32Array;
}

export function sortTrials(trials: TrialScores): SortedTrials {
  const nT = trials.target.length;
  const n = nT + trials.nonTarget.length;
  const all = new Float64Array(n);
  for (let i = 0; i < nT; i++) all[i] = trials.target[i] as number;
  for (let i = nT; i < n; i++) all[i] = trials.nonTarget[i - nT] as number;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(all[i] as number)) throw new RangeError(`trial score ${i} is not a finite number: ${all[i]}`);
  }
  const index = Array.from({ length: n }, (_, i) => i).sort((a, b) => (all[b] as number) - (all[a] as number) || a - b);
  const scores = new Float64Array(n);
  const isTarget = new Uint8Array(n);
  const order = new Uint32Array(n);
  index.forEach((from, to) => {
    scores[to] = all[from] as number;
    isTarget[to] = from < nT ? 1 : 0;
    order[from] = to;
  });
  return { scores, isTarget, order };
}

/**
 * The detector's operating points, from "accept nothing" (FMR 0, FNMR 1) to "accept everything"
 * (FMR 1, FNMR 0). Point k (k ≥ 1) is the threshold `thresholds[k]`: the k-th highest distinct
 * score, every trial scoring at or above it accepted. Tied scores are one point (a threshold
 * cannot split them). `thresholds[0]` is +Infinity.
 */
export interface OperatingPoints {
  thresholds: Float64Array;
  fmr: Float64Array;
  fnmr: Float64Array;
}

/** `weights` (optional, in the order of `sorted.scores`) must be ≥ 0 with some target and non-target weight. */
export function operatingPoints(sorted: SortedTrials, weights?: ArrayLike<number>): OperatingPoints {
  const { scores, isTarget } = sorted;
  const n = scores.length;
  let totalT = 0;
  let totalN = 0;
  for (let i = 0; i < n; i++) {
    const w = weights === undefined ? 1 : (weights[i] as number);
    if (isTarget[i] === 1) totalT += w;
    else totalN += w;
  }
  if (!(totalT > 0) || !(totalN > 0)) {
    throw new RangeError(`error rates need both target and non-target trials (got ${totalT} target, ${totalN} non-target)`);
  }
  const thresholds = [Infinity];
  const fmr = [0];
  const fnmr = [1];
  let acceptedT = 0;
  let acceptedN = 0;
  for (let i = 0; i < n; ) {
    const s = scores[i] as number;
    for (; i < n && scores[i] === s; i++) {
      const w = weights === undefined ? 1 : (weights[i] as number);
      if (isTarget[i] === 1) acceptedT += w;
      else acceptedN += w;
    }
    thresholds.push(s);
    fmr.push(acceptedN / totalN);
    fnmr.push(1 - acceptedT / totalT);
  }
  // Exact ends despite floating-point sums of weights.
  fmr[fmr.length - 1] = 1;
  fnmr[fnmr.length - 1] = 0;
  return { thresholds: Float64Array.from(thresholds), fmr: Float64Array.from(fmr), fnmr: Float64Array.from(fnmr) };
}

export interface EqualErrorRate {
  /** The rate at which FMR = FNMR, in [0, 1]. */
  eer: number;
  /**
   * A threshold at the crossing: the score of the operating point just before it (the last
   * threshold where FNMR ≤ FMR is not yet true), interpolated towards the next one.
   */
  threshold: number;
}

/**
 * EER: FMR and FNMR are step functions of the threshold; between two adjacent operating points
 * the DET "curve" is taken as the straight segment joining them, and the EER is where that
 * segment meets the diagonal FMR = FNMR (linear interpolation at the crossing, as in the usual
 * DET/ROC EER). Depends only on the ranks of the scores, so any strictly increasing transform
 * of all scores leaves it unchanged; perfectly separated scores give exactly 0.
 */
export function equalErrorRate(points: OperatingPoints): EqualErrorRate {
  const { fmr, fnmr, thresholds } = points;
  // fnmr - fmr goes from +1 (accept nothing) to -1 (accept all), never increasing.
  for (let k = 1; k < fmr.length; k++) {
    const d1 = (fnmr[k - 1] as number) - (fmr[k - 1] as number);
    const d2 = (fnmr[k] as number) - (fmr[k] as number);
    if (d2 > 0) continue;
    const x1 = fmr[k - 1] as number;
    const x2 = fmr[k] as number;
    const s = d1 === d2 ? 0 : d1 / (d1 - d2);
    const t1 = thresholds[k - 1] as number;
    const t2 = thresholds[k] as number;
    return { eer: x1 + s * (x2 - x1), threshold: Number.isFinite(t1) ? t1 + s * (t2 - t1) : t2 };
  }
  /* c8 ignore next: the last point always has fnmr - fmr = -1 */
  throw new Error('unreachable: the DET curve always crosses the diagonal');
}

/** End index (exclusive) of each run of tied scores in `sorted.scores`. */
export function tieGroups(sorted: SortedTrials): Uint32Array {
  const ends: number[] = [];
  const { scores } = sorted;
  for (let i = 1; i <= scores.length; i++) if (i === scores.length || scores[i] !== scores[i - 1]) ends.push(i);
  return Uint32Array.from(ends);
}

/**
 * The same EER as `equalErrorRate(operatingPoints(sorted, weights))`, without building the
 * curve: one pass that stops at the crossing. The speaker bootstrap calls it a thousand times on
 * up to ~200 000 trials, where allocating the curve each time dominated the run time.
 */
export function weightedEer(sorted: SortedTrials, groups: Uint32Array, weights: ArrayLike<number>, totalTarget: number, totalNonTarget: number): number {
  const { isTarget } = sorted;
  let acceptedT = 0;
  let acceptedN = 0;
  let x1 = 0; // FMR of the previous point
  let d1 = 1; // FNMR − FMR of the previous point
  let start = 0;
  for (let g = 0; g < groups.length; g++) {
    const end = groups[g] as number;
    for (let i = start; i < end; i++) {
      if (isTarget[i] === 1) acceptedT += weights[i] as number;
      else acceptedN += weights[i] as number;
    }
    start = end;
    const last = g === groups.length - 1;
    const x2 = last ? 1 : acceptedN / totalNonTarget;
    const d2 = last ? -1 : 1 - acceptedT / totalTarget - x2;
    if (d2 <= 0) return x1 + (d1 / (d1 - d2)) * (x2 - x1);
    x1 = x2;
    d1 = d2;
  }
  /* c8 ignore next: the last group always crosses */
  throw new Error('unreachable: the DET curve always crosses the diagonal');
}

export interface CostModel {
  /** Prior probability of a target trial. */
  pTarget: number;
  cMiss: number;
  cFalseAlarm: number;
}

/** The NIST SRE operating point used for speaker verification since SRE 2008 (minDCF at P_target 0.01). */
export const sreCostModel: CostModel = { pTarget: 0.01, cMiss: 1, cFalseAlarm: 1 };

export interface DetectionCost {
  /** min over thresholds of the normalised DCF, in [0, 1]. */
  minDcf: number;
  threshold: number;
  fmr: number;
  fnmr: number;
}

/**
 * Minimum normalised detection cost (NIST SRE evaluation plans):
 *   DCF(t) = C_miss·P_target·FNMR(t) + C_fa·(1 − P_target)·FMR(t),
 * normalised by the cost of the better trivial system, min(C_miss·P_target, C_fa·(1 − P_target))
 * (always accept or always reject); so 1 means "no better than no system at all".
 */
export function minDetectionCost(points: OperatingPoints, cost: CostModel = sreCostModel): DetectionCost {
  const { pTarget, cMiss, cFalseAlarm } = cost;
  if (!(pTarget > 0 && pTarget < 1) || !(cMiss > 0) || !(cFalseAlarm > 0)) {
    throw new RangeError(`invalid cost model: P_target ${pTarget} must be in (0, 1), costs must be > 0`);
  }
  const norm = Math.min(cMiss * pTarget, cFalseAlarm * (1 - pTarget));
  let best = Infinity;
  let at = 0;
  for (let k = 0; k < points.fmr.length; k++) {
    const dcf = (cMiss * pTarget * (points.fnmr[k] as number) + cFalseAlarm * (1 - pTarget) * (points.fmr[k] as number)) / norm;
    if (dcf < best) {
      best = dcf;
      at = k;
    }
  }
  return { minDcf: best, threshold: points.thresholds[at] as number, fmr: points.fmr[at] as number, fnmr: points.fnmr[at] as number };
}

export interface ErrorCounts {
  /** Non-target trials accepted (score ≥ threshold). */
  falseMatches: number;
  nonTargetTrials: number;
  /** Target trials rejected (score < threshold). */
  falseNonMatches: number;
  targetTrials: number;
  fmr: number;
  fnmr: number;
}

/** FMR and FNMR at one threshold, with the counts behind them. */
export function errorCountsAt(trials: TrialScores, threshold: number): ErrorCounts {
  let falseMatches = 0;
  for (let i = 0; i < trials.nonTarget.length; i++) if ((trials.nonTarget[i] as number) >= threshold) falseMatches++;
  let falseNonMatches = 0;
  for (let i = 0; i < trials.target.length; i++) if ((trials.target[i] as number) < threshold) falseNonMatches++;
  const nonTargetTrials = trials.nonTarget.length;
  const targetTrials = trials.target.length;
  return {
    falseMatches,
    nonTargetTrials,
    falseNonMatches,
    targetTrials,
    fmr: nonTargetTrials === 0 ? NaN : falseMatches / nonTargetTrials,
    fnmr: targetTrials === 0 ? NaN : falseNonMatches / targetTrials,
  };
}

/**
 * An error rate as it may be quoted. ISO/IEC 19795-1 (§ "rule of three"): with N independent
 * trials and no observed error, the 95 % upper confidence bound is ≈ 3/N, so a rate below 3/N
 * cannot be claimed from N trials. Such rates (0, 1 or 2 errors) are printed as "< 3/N" and given
 * as an upper bound, not as a number. Under 3 trials no rate is quoted at all: 3/N would exceed 100 %.
 */
export interface QuotedRate {
  /** The measured rate, or null when it is below 3/N (or there are fewer than 3 trials). */
  value: number | null;
  /**
   * When `value` is null: a one-sided 95 % upper confidence bound on the rate. 3/N for no error
   * (the rule of three itself); for 1 or 2 errors the exact binomial (Clopper–Pearson) bound,
   * ≈ 4.74/N and 6.30/N, since 3/N would bound the measured rate but not the true one.
   */
  upperBound: number | null;
  /** e.g. "1.23 %" or "< 3/30000 (0.0100 %)". */
  text: string;
}

export function quoteRate(errors: number, trials: number): QuotedRate {
  if (!(trials > 0)) return { value: null, upperBound: null, text: 'no trials' };
  if (trials < 3) return { value: null, upperBound: null, text: `${errors}/${trials} (too few trials to quote a rate)` };
  if (errors < 3) {
    const bound = 3 / trials;
    return { value: null, upperBound: errors === 0 ? bound : binomialUpperBound(errors, trials), text: `< 3/${trials} (${percent(bound, 4)})` };
  }
  const rate = errors / trials;
  return { value: rate, upperBound: null, text: percent(rate, rate < 0.01 ? 3 : 2) };
}

/**
 * The one-sided 95 % Clopper–Pearson upper bound on a rate after `errors` of `trials` (errors < trials):
 * the p at which P(X ≤ errors | trials, p) = 0.05, found by bisection (the CDF falls with p).
 */
export function binomialUpperBound(errors: number, trials: number, alpha = 0.05): number {
  if (errors >= trials) return 1;
  const cdf = (p: number) => {
    // Σ_{i ≤ errors} C(n, i) p^i (1−p)^(n−i), in logs so that large n neither overflows nor underflows early.
    let sum = 0;
    let logChoose = 0;
    for (let i = 0; i <= errors; i++) {
      if (i > 0) logChoose += Math.log(trials - i + 1) - Math.log(i);
      sum += Math.exp(logChoose + i * Math.log(p) + (trials - i) * Math.log1p(-p));
    }
    return sum;
  };
  let lo = errors / trials;
  let hi = 1;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > alpha) lo = mid;
    else hi = mid;
  }
  return hi;
}

export function percent(rate: number, digits = 2): string {
  return `${(rate * 100).toFixed(digits)} %`;
}
