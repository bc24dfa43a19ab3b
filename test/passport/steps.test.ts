/** Work in steps (src/passport/steps.ts): run straight through, or in slices that let the event loop turn. */
import { describe, expect, it } from 'vitest';
import { runInSlices, runThrough, StepsStopped, type Steps } from '../../src/passport/steps.js';

/** Counts its steps into `done`, returns how many it took. */
function* counting(n: number, done: number[]): Steps<number> {
  for (let i = 0; i < n; i++) {
    done.push(i);
    yield;
  }
  return n;
}

describe('steps', () => {
  it('runs straight through to the result', () => {
    const done: number[] = [];
    expect(runThrough(counting(5, done))).toBe(5);
    expect(done).toEqual([0, 1, 2, 3, 4]);
  });

  it('in slices of no time, lets the event loop turn after every step', async () => {
    const done: number[] = [];
    const seen: number[] = [];
    let finished = false;
    const watch = () => {
      seen.push(done.length);
      if (!finished) setImmediate(watch);
    };
    setImmediate(watch);
    const result = runInSlices(counting(4, done), { sliceMs: 0 });
    // The first step runs at once, before anything else.
    expect(done).toEqual([0]);
    expect(await result).toBe(4);
    finished = true;
    // Something else ran between the steps: it saw them partly done.
    expect(seen.some((n) => n > 0 && n < 4)).toBe(true);
  });

  it('in a long slice, runs every step before the event loop turns', async () => {
    const done: number[] = [];
    let turned = false;
    setImmediate(() => (turned = true));
    expect(await runInSlices(counting(100, done), { sliceMs: 60_000 })).toBe(100);
    expect(turned).toBe(false);
  });

  it('stops between two steps when aborted, and starts nothing when aborted already', async () => {
    const done: number[] = [];
    const stop = new AbortController();
    const result = runInSlices(counting(10, done), { sliceMs: 0, signal: stop.signal });
    stop.abort();
    await expect(result).rejects.toBeInstanceOf(StepsStopped);
    expect(done).toEqual([0]);

    const none: number[] = [];
    await expect(runInSlices(counting(3, none), { sliceMs: 0, signal: stop.signal })).rejects.toBeInstanceOf(StepsStopped);
    expect(none).toEqual([]);
  });
});
