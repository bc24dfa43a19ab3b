/**
 * Score calibration: from the cosine of two embeddings to a natural-log likelihood ratio
 * (LLR: ln p(score | same speaker) / p(score | different speakers); > 0 favours the same
 * speaker), and the empirical non-target table that turns a target false match rate into a
 * threshold. Pure functions of trial scores; `voice-passport calibrate` fits them on dev trials
 * and stores them in the model manifest, the API applies them.
 *
 * Model: llr = a·cosine + b, a > 0 (linear logistic calibration, Brümmer & du Preez, "Application-
 * independent evaluation of speaker detection", Computer Speech and Language 20, 2006; the FoCal /
 * BOSARIS `train_linear_calibration` recipe). a and b minimise the prior-weighted cross-entropy
 *
 *   C(a, b) = π/N_T · Σ_targets log(1 + e^−(a·s + b + logit π))
 *           + (1−π)/N_N · Σ_non-targets log(1 + e^(a·s + b + logit π))
 *
 * at the effective prior π (0.5 by default: then C/ln 2 is Brümmer's Cllr, and the target and
 * non-target trials weigh the same however many there are of each). The objective is convex in
 * (a, b), so Newton's method (IRLS for two parameters) with a backtracking line search finds the
 * minimum from a = b = 0.
 *
 * The decision never depends on a and b: the LLR is a strictly increasing function of the cosine,
 * so "llr ≥ a·t + b" and "cosine ≥ t" accept the same trials. The service compares cosines
 * (src/scoring/decision.ts) and reports the LLR.
 */
import type { RateInterval } from '../evaluation/confidence.js';
import type { TrialScores } from '../evaluation/metrics.js';

export interface LinearCalibration {
  /** Slope on the cosine, > 0. */
  a: number;
  /** Offset, in nats. */
  b: number;
}

/** Brümmer's Cllr is defined at this prior; also the fit's default. */
export const defaultEffectivePrior = 0.5;

export interface FitOptions {
  /** Effective target prior π in (0, 1) of the weighted cross-entropy. */
  prior?: number;
  maxIterations?: number;
}

export interface FitResult extends LinearCalibration {
  iterations: number;
  /** The prior-weighted cross-entropy at the optimum, in nats (Cllr · ln 2 at π = 0.5). */
  crossEntropy: number;
}

export function applyCalibration(c: LinearCalibration, cosine: number): number {
  return c.a * cosine + c.b;
}

/** The cosine at which the LLR equals `llr` (the inverse of applyCalibration). */
export function cosineForLlr(c: LinearCalibration, llr: number): number {
  return (llr - c.b) / c.a;
}

/** log(1 + e^x) without overflow for large x or loss of precision for very negative x. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

function checkScores(scores: TrialScores, what: string): void {
  if (scores.target.length === 0 || scores.nonTarget.length === 0) {
    throw new RangeError(`${what} needs target and non-target trials (got ${scores.target.length} target, ${scores.nonTarget.length} non-target)`);
  }
  for (const list of [scores.target, scores.nonTarget]) {
    for (let i = 0; i < list.length; i++) {
      if (!Number.isFinite(list[i] as number)) throw new RangeError(`${what}: score ${list[i]} is not a finite number`);
    }
  }
}

/** Prior-weighted cross-entropy (nats) of LLRs `a·s + b` over the trials. */
function crossEntropy(scores: TrialScores, a: number, b: number, prior: number): number {
  const offset = logit(prior);
  let t = 0;
  for (let i = 0; i < scores.target.length; i++) t += softplus(-(a * (scores.target[i] as number) + b + offset));
  let n = 0;
  for (let i = 0; i < scores.nonTarget.length; i++) n += softplus(a * (scores.nonTarget[i] as number) + b + offset);
  return (prior * t) / scores.target.length + ((1 - prior) * n) / scores.nonTarget.length;
}

/**
 * Cllr in bits (Brümmer & du Preez 2006): the cross-entropy of `llrs` read as natural-log
 * likelihood ratios, at prior 0.5, divided by ln 2. 0 is perfect, 1 is a system that always says
 * LLR 0; above 1 the scores mislead (a badly calibrated system can be worse than no system).
 */
export function cllr(llrs: TrialScores): number {
  checkScores(llrs, 'Cllr');
  return crossEntropy(llrs, 1, 0, 0.5) / Math.LN2;
}

/**
 * Fits llr = a·s + b by minimising the prior-weighted cross-entropy (see the module comment).
 * Throws RangeError when it cannot: no trials of one kind, non-finite scores, target and
 * non-target scores that do not overlap (the maximum-likelihood slope is then infinite: more or
 * harder dev trials are needed), or a slope ≤ 0 (scores that do not rank same-speaker trials higher).
 */
export function fitLogisticCalibration(scores: TrialScores, options: FitOptions = {}): FitResult {
  const prior = options.prior ?? defaultEffectivePrior;
  const maxIterations = options.maxIterations ?? 100;
  if (!(prior > 0 && prior < 1)) throw new RangeError(`the effective prior must be in (0, 1), got ${prior}`);
  checkScores(scores, 'calibration');
  let [minNon, maxNon] = [Infinity, -Infinity];
  for (let i = 0; i < scores.nonTarget.length; i++) {
    minNon = Math.min(minNon, scores.nonTarget[i] as number);
    maxNon = Math.max(maxNon, scores.nonTarget[i] as number);
  }
  let [minTarget, maxTarget] = [Infinity, -Infinity];
  for (let i = 0; i < scores.target.length; i++) {
    minTarget = Math.min(minTarget, scores.target[i] as number);
    maxTarget = Math.max(maxTarget, scores.target[i] as number);
  }
  // Separated, or touching only at one score (quasi-complete separation; all scores equal is another
  // failure, below): the likelihood keeps growing with the slope, so there is no finite optimum.
  const allEqual = minNon === maxNon && maxNon === minTarget && minTarget === maxTarget;
  if (maxNon < minTarget || (maxNon === minTarget && !allEqual)) {
    throw new RangeError(
      `every target score (min ${minTarget}) is at or above every non-target score (max ${maxNon}): the logistic fit has no finite optimum; calibrate on more or harder trials`,
    );
  }

  const offset = logit(prior);
  const wT = prior / scores.target.length;
  const wN = (1 - prior) / scores.nonTarget.length;
  let a = 0;
  let b = 0;
  let loss = crossEntropy(scores, a, b, prior);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    // Gradient g and Hessian H of the loss in (a, b): Σ w·(p − y)·(s, 1) and Σ w·p(1−p)·(s, 1)(s, 1)ᵀ.
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    const add = (s: number, y: 0 | 1, w: number) => {
      const p = sigmoid(a * s + b + offset);
      const r = w * (p - y);
      const h = w * p * (1 - p);
      ga += r * s;
      gb += r;
      haa += h * s * s;
      hab += h * s;
      hbb += h;
    };
    for (let i = 0; i < scores.target.length; i++) add(scores.target[i] as number, 1, wT);
    for (let i = 0; i < scores.nonTarget.length; i++) add(scores.nonTarget[i] as number, 0, wN);

    const det = haa * hbb - hab * hab;
    if (!(det > 0)) {
      throw new RangeError('the calibration trials have (almost) a single score value; their Hessian is singular');
    }
    // Newton step −H⁻¹g, halved until the loss goes down enough (Armijo backtracking).
    const da = -(hbb * ga - hab * gb) / det;
    const db = -(haa * gb - hab * ga) / det;
    // gᵀH⁻¹g is the Newton decrement squared: half of it estimates how far the loss is above its
    // minimum (Boyd & Vandenberghe, Convex Optimization, §9.5.1); stop when that is negligible.
    const decrement = -(ga * da + gb * db);
    if (decrement / 2 <= 1e-14) return finish(a, b, iteration - 1, loss);
    let step = 1;
    let next = crossEntropy(scores, a + da, b + db, prior);
    while (next > loss - 1e-4 * step * decrement && step > 1e-10) {
      step /= 2;
      next = crossEntropy(scores, a + step * da, b + step * db, prior);
    }
    if (next > loss) return finish(a, b, iteration - 1, loss); // rounding floor: no step helps any more
    a += step * da;
    b += step * db;
    loss = next;
  }
  throw new RangeError(`the calibration fit did not converge in ${maxIterations} Newton iterations`);
}

function finish(a: number, b: number, iterations: number, loss: number): FitResult {
  if (!(a > 0)) {
    throw new RangeError(`the fitted slope is ${a}: these scores do not rank same-speaker trials above different-speaker trials, so they cannot be calibrated`);
  }
  return { a, b, iterations, crossEntropy: loss };
}

// ---------------------------------------------------------------------------------------------
// Thresholds from a target false match rate
// ---------------------------------------------------------------------------------------------

/**
 * One operating point of the raw (cosine) score on the calibration trials. Accept when
 * cosine ≥ threshold; fmr and fnmr are the measured rates at exactly that threshold.
 */
export interface OperatingRow {
  threshold: number;
  fmr: number;
  fnmr: number;
  /** 95 % intervals over resampled speakers (calibrate adds them; src/evaluation/confidence.ts). */
  fmrInterval?: RateInterval;
  fnmrInterval?: RateInterval;
  /**
   * Distinct pairs of calibration speakers with a non-target score ≥ threshold: whose false matches
   * the fmr was observed on (calibrate adds them; src/evaluation/confidence.ts, falseMatchPairs).
   */
  falseMatchPairs?: number;
}

/**
 * The smallest double above x. Used to turn "strictly above this impostor's score" into a threshold
 * for the service's "accept when score ≥ threshold" rule without an arbitrary margin.
 */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/**
 * The target FMRs the table keeps: the R10 preferred numbers (10 per decade: 1, 1.25, 1.6, 2, 2.5,
 * 3.15, 4, 5, 6.3, 8), from 0.5 down to the first value below 1/N_non-target. The standard
 * policy targets (1 %, 0.1 %, 0.01 %) are on it, so they are read off exactly.
 */
export function fmrGrid(nonTargetTrials: number): number[] {
  const mantissas = [8, 6.3, 5, 4, 3.15, 2.5, 2, 1.6, 1.25, 1];
  const grid: number[] = [0.5];
  for (let exponent = -1; exponent >= -12; exponent--) {
    for (const m of mantissas) {
      const f = Number((m * 10 ** exponent).toPrecision(3));
      if (f < 0.5) grid.push(f);
      if (f * nonTargetTrials < 1) return grid;
    }
  }
  return grid;
}

/**
 * For each grid FMR f, the lowest threshold at which the measured FMR is ≤ f: with the non-target
 * scores sorted from the highest, n₁ ≥ n₂ ≥ …, and k = ⌊f·N⌋, that is "accept only scores strictly
 * above n₍ₖ₊₁₎", i.e. threshold = nextUp(n₍ₖ₊₁₎) (fewer than k accepted impostors when scores tie).
 * Plus the row above every non-target score (FMR 0). Rows are sorted by ascending threshold (so
 * descending FMR), duplicates removed. FNMR counts target scores below each threshold.
 */
export function operatingTable(scores: TrialScores, grid: readonly number[] = fmrGrid(scores.nonTarget.length)): OperatingRow[] {
  checkScores(scores, 'the operating table');
  const non = Float64Array.from(scores.nonTarget).sort().reverse();
  const targets = Float64Array.from(scores.target).sort();
  const N = non.length;
  /** Non-targets strictly above x (non is descending). */
  const nonAbove = (x: number) => {
    let lo = 0;
    let hi = N;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((non[mid] as number) > x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  /** Targets ≤ x (targets is ascending). */
  const targetsAtMost = (x: number) => {
    let lo = 0;
    let hi = targets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((targets[mid] as number) <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const ks = new Set<number>([0]);
  for (const f of grid) {
    if (!(f >= 0 && f < 1)) throw new RangeError(`grid FMR ${f} is outside [0, 1)`);
    // The tiny relative margin keeps f·N = 300 from becoming 299.99999999999994.
    ks.add(Math.min(N - 1, Math.floor(f * N * (1 + 1e-12))));
  }
  const rows = new Map<number, OperatingRow>();
  for (const k of ks) {
    const boundary = non[k] as number; // n₍ₖ₊₁₎, 0-based index k
    const threshold = nextUp(boundary);
    if (rows.has(threshold)) continue;
    rows.set(threshold, { threshold, fmr: nonAbove(boundary) / N, fnmr: targetsAtMost(boundary) / targets.length });
  }
  return [...rows.values()].sort((x, y) => x.threshold - y.threshold);
}

/** ISO/IEC 19795-1 rule of three: with N trials, no error rate below 3/N can be claimed. */
export function lowestSupportedRate(trials: number): number {
  return trials > 0 ? 3 / trials : Infinity;
}

/**
 * The fewest pairs of calibration speakers whose false matches a threshold may rest on. False
 * matches gather in a few pairs of similar voices (src/evaluation/confidence.ts, falseMatchPairs),
 * so where one or two pairs make the measured FMR, the threshold sits just above those two people's
 * scores, and new speakers' look-alikes fall elsewhere. Three, as the rule of three asks for at
 * least three trials' worth of evidence, but counted in the units that are independent. Measured
 * (scripts/eval/calibration-holdout.ts: so762's speakers halved 20 times, each half calibrating for
 * the other; 20 s voiceprints; targets 0.02 % to 5 % under the upper-95 bound): where the half's
 * threshold rested on 3 or more pairs, the other half's impostors got through at 0.46 × the target
 * on average (wideband; telephone 0.47 ×), at or under it 86-88 % of the time; on fewer, at 2.8 ×
 * (2.4 ×).
 */
export const MIN_FALSE_MATCH_PAIRS = 3;

/**
 * The lowest target FMR the calibration trials can support under `bound`, and what limits it:
 * the rule of three on the non-target trials, or, where the table counts them, the false-match
 * pairs (the lowest target whose threshold still rests on MIN_FALSE_MATCH_PAIRS pairs: rows ascend
 * by threshold, so the pair counts descend, and the rows with enough pairs come first).
 */
export function lowestSupportedTarget(table: readonly OperatingRow[], nonTargetTrials: number, bound: TargetFmrBound): { fmr: number; limitedBy: 'trials' | 'speaker-pairs' } {
  const byTrials = lowestSupportedRate(nonTargetTrials);
  if (!table.every((r) => r.falseMatchPairs !== undefined) || (bound === 'upper-95' && !tableHasIntervals(table))) return { fmr: byTrials, limitedBy: 'trials' };
  const last = table.filter((r) => r.falseMatchPairs! >= MIN_FALSE_MATCH_PAIRS).at(-1);
  // No row with enough pairs: nothing below FMR 1 can be supported.
  const byPairs = last === undefined ? 1 : bound === 'upper-95' ? last.fmrInterval!.high : last.fmr;
  return byPairs > byTrials ? { fmr: byPairs, limitedBy: 'speaker-pairs' } : { fmr: byTrials, limitedBy: 'trials' };
}

/**
 * What a target FMR bounds. `estimate`: the FMR measured on the calibration trials. `upper-95`: the
 * upper end of that FMR's 95 % interval over resampled calibration speakers (the row's fmrInterval),
 * for an operator who wants the target to hold for callers other than the calibration speakers too,
 * at the price of more false non-matches. Certification practice states error-rate requirements at
 * the upper bound of a confidence interval rather than at the point estimate (FIDO Alliance
 * Biometric Component Certification), because the test crew is a sample of the people who will use it.
 */
export const targetFmrBounds = ['estimate', 'upper-95'] as const;
export type TargetFmrBound = (typeof targetFmrBounds)[number];

export interface FmrThreshold extends OperatingRow {
  /** The target the operator asked for. */
  targetFmr: number;
  /** What the target bounds. */
  bound: TargetFmrBound;
  /**
   * False when targetFmr < lowestSupportedFmr: the data cannot show that the target is met (too few
   * non-target trials, or a threshold resting on too few pairs of speakers: lowestSupportedTarget).
   */
  supported: boolean;
  lowestSupportedFmr: number;
  /** What sets lowestSupportedFmr. */
  limitedBy: 'trials' | 'speaker-pairs';
}

/** True when every row of the table carries an FMR interval (calibrate writes them since they exist). */
export function tableHasIntervals(table: readonly OperatingRow[]): boolean {
  return table.length > 0 && table.every((r) => r.fmrInterval !== undefined);
}

/**
 * The threshold for a target FMR: the table's lowest threshold whose measured FMR (`estimate`), or
 * the upper end of whose FMR interval (`upper-95`), is ≤ the target (conservative: between grid
 * values the next stricter row is used, never an interpolation that could exceed the target).
 * `table` must come from operatingTable (it holds an FMR-0 row, whose interval is [0, 0]); for
 * `upper-95` every row needs its interval (tableHasIntervals).
 */
export function thresholdForFmr(table: readonly OperatingRow[], targetFmr: number, nonTargetTrials: number, bound: TargetFmrBound = 'estimate'): FmrThreshold {
  if (!(targetFmr > 0 && targetFmr < 1)) throw new RangeError(`the target FMR must be in (0, 1), got ${targetFmr}`);
  if (bound === 'upper-95' && !tableHasIntervals(table)) throw new RangeError('the operating table has no FMR intervals: recalibrate (voice-passport calibrate --write) to bound the target by them');
  // Rows ascend by threshold, so FMR and its interval's upper end descend: the first fit is the lowest.
  const row = table.find((r) => (bound === 'upper-95' ? r.fmrInterval!.high : r.fmr) <= targetFmr);
  if (row === undefined) throw new RangeError('the operating table has no row with an FMR at or below the target (it needs the FMR-0 row)');
  const lowest = lowestSupportedTarget(table, nonTargetTrials, bound);
  return { ...row, targetFmr, bound, supported: targetFmr >= lowest.fmr, lowestSupportedFmr: lowest.fmr, limitedBy: lowest.limitedBy };
}

// ---------------------------------------------------------------------------------------------
// Minimum net speech from the EER-by-duration table
// ---------------------------------------------------------------------------------------------

export interface DurationRow {
  /** Net speech of the test segments, seconds. */
  seconds: number;
  eer: number;
}

/**
 * The net speech at which the measured EER-by-duration curve reaches `maxEer` (the policy's need):
 * where the first tested duration meeting it is not the shortest, the crossing of the chord
 * between it and the tested duration before it, rounded up to 0.1 s; the shortest tested duration
 * when that already meets the need; the longest tested (the best the data can vouch for) when
 * none does; null when there is no table.
 *
 * Why the chord and not the next tested duration: with rows at 2, 3, 5 and 10 s, an EER a few
 * hundredths of a point over the need at 5 s would double a policy's minimum to 10 s. EER falls
 * with test duration ever more slowly (a convex curve; vp-resnet-v9's wideband table: 4.55, 3.12,
 * 1.80 and 0 % at 2, 3, 5 and 10 s), and a chord of a convex curve lies on or above it, so the chord's crossing is
 * never earlier than the curve's: it does not ask for less speech than the curve would.
 */
export function minSpeechForEer(durations: readonly DurationRow[] | undefined, maxEer: number): number | null {
  if (durations === undefined || durations.length === 0) return null;
  const sorted = [...durations].sort((x, y) => x.seconds - y.seconds);
  const i = sorted.findIndex((d) => d.eer <= maxEer);
  if (i === -1) return sorted[sorted.length - 1]!.seconds;
  const meets = sorted[i]!;
  const before = sorted[i - 1];
  if (before === undefined) return meets.seconds;
  // before.eer > maxEer ≥ meets.eer, so the crossing lies in (before.seconds, meets.seconds].
  const crossing = before.seconds + ((meets.seconds - before.seconds) * (before.eer - maxEer)) / (before.eer - meets.eer);
  // The 1e-9 keeps a crossing that lands on a tenth (up to rounding) on that tenth.
  return Math.min(meets.seconds, Math.ceil(crossing * 10 - 1e-9) / 10);
}
