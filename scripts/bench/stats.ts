/**
 * Summaries of timing samples. Percentiles use the nearest-rank definition (the smallest sample
 * with at least p % of the samples at or below it): no interpolation, so a reported p99 is a
 * latency that was actually observed, never a blend that flatters a long tail.
 */

export interface Summary {
  n: number;
  meanMs: number;
  minMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending array; p in (0, 100]. */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) throw new Error('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile ${p} is outside (0, 100]`);
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  return sortedAscending[Math.min(sortedAscending.length, rank) - 1] as number;
}

export function summarise(samplesMs: readonly number[]): Summary {
  const s = [...samplesMs].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    n: s.length,
    meanMs: round(sum / s.length),
    minMs: round(s[0] as number),
    p50Ms: round(percentile(s, 50)),
    p90Ms: round(percentile(s, 90)),
    p99Ms: round(percentile(s, 99)),
    maxMs: round(s[s.length - 1] as number),
  };
}

/**
 * CPU time this process has used so far, all threads together, in ms. Divided by the work done in
 * a window it gives a cost per operation that hardly depends on what else the machine runs (unlike
 * wall-clock time on a shared, overloaded machine), so it is reported next to every wall figure.
 */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Three decimals: microseconds are below the timer noise of a shared machine anyway. */
export function round(x: number, decimals = 3): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}
