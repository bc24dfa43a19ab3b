/**
 * Long work as a sequence of short synchronous steps, each one transaction, that a generator yields
 * between. better-sqlite3 is synchronous, so a purge run whole holds the event loop for its whole
 * length (14 s for a mass expiry in a store of 100 000 subjects, scripts/bench/retention-sweep-bench.ts):
 * every verification waiting on the service stalls that long. The service runs such work in slices
 * (`runInSlices`), letting requests through between them; the CLI, with nothing else to serve, runs
 * it straight through (`runThrough`).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Yields after each step; returns the work's result. */
export type Steps<T> = Generator<void, T, undefined>;

export function runThrough<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The work was stopped between two steps (`signal` aborted): each step done stays done. */
export class StepsStopped extends Error {
  constructor() {
    super('stopped between two steps');
    this.name = 'StepsStopped';
  }
}

/**
 * Runs steps until `sliceMs` has passed, then gives the event loop a turn (its poll phase: pending
 * requests' I/O), and so on. One step longer than the slice is not cut short: the steps' own size
 * bounds the longest pause.
 */
export async function runInSlices<T>(steps: Steps<T>, options: { sliceMs: number; signal?: AbortSignal }): Promise<T> {
  if (options.signal?.aborted) throw new StepsStopped();
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - sliceStart < options.sliceMs) continue;
    await nextTurn();
    if (options.signal?.aborted) {
      steps.return(undefined as never);
      throw new StepsStopped();
    }
    sliceStart = performance.now();
  }
}
