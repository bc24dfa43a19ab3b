/**
 * A 95 % confidence interval for the EER by bootstrapping SPEAKERS, not trials.
 *
 * Trials are not independent: every trial of a speaker shares that speaker's voice, and all-pairs
 * trials reuse each utterance many times, so resampling trials would give intervals that are far
 * too narrow. The "subsets bootstrap" (Bolle, Ratha & Pankanti, "Error analysis of pattern
 * recognition systems — the subsets bootstrap", CVIU 93, 2004; also Poh & Bengio 2007) resamples
 * the independent units — here speakers — with replacement and rebuilds the trial set from them:
 *   - a target trial of speaker s counts c_s times (c_s: how often s was drawn);
 *   - a non-target trial between speakers a and b counts c_a · c_b times.
 * The interval is the 2.5th and 97.5th percentile of the replicate EERs (percentile bootstrap).
 * Replicates are seeded, so a report is reproducible. With few speakers (e.g. 6 in fsdd) the
 * interval is honestly wide.
 */
import { tieGroups, weightedEer, type SortedTrials } from './metrics.js';

export interface SpeakerTrials {
  sorted: SortedTrials;
  /** Speaker index of each side of each trial, in the order of `sorted.scores`. */
  speakerA: Uint32Array;
  speakerB: Uint32Array;
  speakers: number;
}

export interface BootstrapInterval {
  low: number;
  high: number;
  /** Replicates that had both target and non-target trials (the others cannot give an EER). */
  replicates: number;
  requested: number;
  seed: number;
  method: string;
}

export const BOOTSTRAP_METHOD =
  'percentile bootstrap over speakers (subsets bootstrap, Bolle et al. 2004): speakers resampled with replacement, target trials weighted by the draw count of their speaker, non-target trials by the product of their two speakers\' counts';

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; enough for resampling, and seedable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The q-quantile (0..1) of sorted values, linear between order statistics (R type 7). */
export function quantile(sortedValues: ArrayLike<number>, q: number): number {
  const n = sortedValues.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return (sortedValues[lo] as number) + (h - lo) * ((sortedValues[hi] as number) - (sortedValues[lo] as number));
}

/**
 * Draws `requested` seeded replicates of the speakers and calls `visit` with each usable one's trial
 * weights (in the order of `sorted.scores`) and their target and non-target totals: a target trial
 * of speaker s weighs c_s, a non-target trial between a and b c_a · c_b. The weights buffer is reused
 * between calls. Replicates without target or non-target weight are skipped (no rate exists).
 */
function forEachReplicate(
  trials: SpeakerTrials,
  opts: { replicates?: number; seed?: number },
  visit: (weights: Float64Array, totalTarget: number, totalNonTarget: number) => void,
): { replicates: number; requested: number; seed: number } {
  const requested = opts.replicates ?? 1000;
  const seed = opts.seed ?? 1;
  const random = seededRandom(seed);
  const { sorted, speakerA, speakerB, speakers } = trials;
  const n = sorted.scores.length;
  const counts = new Float64Array(speakers);
  const weights = new Float64Array(n);
  let replicates = 0;
  for (let r = 0; r < requested; r++) {
    counts.fill(0);
    for (let i = 0; i < speakers; i++) counts[Math.floor(random() * speakers)]! += 1;
    let wT = 0;
    let wN = 0;
    for (let i = 0; i < n; i++) {
      const a = counts[speakerA[i] as number] as number;
      const w = sorted.isTarget[i] === 1 ? a : a * (counts[speakerB[i] as number] as number);
      weights[i] = w;
      if (sorted.isTarget[i] === 1) wT += w;
      else wN += w;
    }
    if (wT === 0 || wN === 0) continue;
    replicates++;
    visit(weights, wT, wN);
  }
  return { replicates, requested, seed };
}

export function speakerBootstrapEer(trials: SpeakerTrials, opts: { replicates?: number; seed?: number } = {}): BootstrapInterval {
  const groups = tieGroups(trials.sorted);
  const eers: number[] = [];
  const run = forEachReplicate(trials, opts, (weights, wT, wN) => eers.push(weightedEer(trials.sorted, groups, weights, wT, wN)));
  eers.sort((x, y) => x - y);
  return { low: quantile(eers, 0.025), high: quantile(eers, 0.975), ...run, method: BOOTSTRAP_METHOD };
}

export interface RateInterval {
  low: number;
  high: number;
}

/** FMR and FNMR 95 % intervals at one threshold. */
export interface RateIntervals {
  fmr: RateInterval;
  fnmr: RateInterval;
}

/**
 * 95 % intervals of the FMR and the FNMR at fixed thresholds (accept when score ≥ threshold), by
 * the same subsets bootstrap over speakers as speakerBootstrapEer: what callers like these, but
 * other ones, would meet at these thresholds. ISO/IEC 19795-1 asks for error rates with confidence
 * intervals that respect the correlation of trials sharing a person; the rule of three bounds only
 * the zero-error case. One pass over the sorted trials per replicate.
 */
export function speakerBootstrapRates(
  trials: SpeakerTrials,
  thresholds: readonly number[],
  opts: { replicates?: number; seed?: number } = {},
): { intervals: RateIntervals[]; replicates: number; requested: number; seed: number; method: string } {
  const { sorted } = trials;
  const n = sorted.scores.length;
  // How many trials score ≥ each threshold (scores descending), visited in ascending order.
  const accepted = thresholds.map((t) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sorted.scores[mid] as number) >= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
  const visit = accepted.map((_, k) => k).sort((x, y) => (accepted[x] as number) - (accepted[y] as number));
  const fmrs = thresholds.map(() => [] as number[]);
  const fnmrs = thresholds.map(() => [] as number[]);
  const run = forEachReplicate(trials, opts, (weights, wT, wN) => {
    // Accepted target and non-target weight up to each threshold's count, in one pass.
    let acceptedT = 0;
    let acceptedN = 0;
    let i = 0;
    for (const k of visit) {
      for (; i < (accepted[k] as number); i++) {
        if (sorted.isTarget[i] === 1) acceptedT += weights[i] as number;
        else acceptedN += weights[i] as number;
      }
      fmrs[k]!.push(acceptedN / wN);
      fnmrs[k]!.push(1 - acceptedT / wT);
    }
  });
  const interval = (values: number[]): RateInterval => {
    values.sort((x, y) => x - y);
    return { low: quantile(values, 0.025), high: quantile(values, 0.975) };
  };
  return { intervals: thresholds.map((_, k) => ({ fmr: interval(fmrs[k]!), fnmr: interval(fnmrs[k]!) })), ...run, method: BOOTSTRAP_METHOD };
}

/**
 * For each threshold, how many distinct pairs of speakers (unordered: a voiceprint of A against B
 * and of B against A are one pair) have at least one non-target trial scoring ≥ it: the people
 * the false match rate at that threshold was actually observed on. False matches are not spread
 * evenly over impostors but gather in a few pairs of similar voices (Doddington et al., "Sheep,
 * goats, lambs and wolves", ICSLP 1998), so a low FMR is often made by one or two pairs; new
 * speakers bring their own look-alikes, at other scores (src/scoring/calibration.ts,
 * MIN_FALSE_MATCH_PAIRS). One pass over the sorted trials.
 */
export function falseMatchPairs(trials: SpeakerTrials, thresholds: readonly number[]): number[] {
  const { sorted, speakerA, speakerB, speakers } = trials;
  const descending = thresholds.map((_, k) => k).sort((x, y) => (thresholds[y] as number) - (thresholds[x] as number));
  const pairs = new Set<number>();
  const out = new Array<number>(thresholds.length).fill(0);
  let i = 0;
  for (const k of descending) {
    for (; i < sorted.scores.length && (sorted.scores[i] as number) >= (thresholds[k] as number); i++) {
      if (sorted.isTarget[i] === 1) continue;
      const a = speakerA[i] as number;
      const b = speakerB[i] as number;
      pairs.add(Math.min(a, b) * speakers + Math.max(a, b));
    }
    out[k] = pairs.size;
  }
  return out;
}

/**
 * The Wilson score interval of a proportion, `errors` out of `n` independent trials (Wilson, JASA
 * 1927; recommended over the normal approximation for small n and rates near 0 by Brown, Cai &
 * DasGupta, Statistical Science 2001). At 0 errors its upper end is near the rule of three (3/n).
 * `z` 1.96: 95 %. Calls of one customer are not independent, so read it as a lower bound on the
 * uncertainty.
 */
export function wilsonInterval(errors: number, n: number, z = 1.96): RateInterval {
  if (!Number.isInteger(errors) || !Number.isInteger(n) || n < 1 || errors < 0 || errors > n) throw new RangeError('wilsonInterval needs 0 <= errors <= n, n >= 1, integers');
  const p = errors / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
