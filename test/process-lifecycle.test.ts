/** The process's signals and faults (src/process-lifecycle.ts), with an emitter for `process`. */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { superviseProcess, type Stoppable } from '../src/process-lifecycle.js';

let source: EventEmitter;
let lines: Array<{ level: number; msg: string; [k: string]: unknown }>;
let exits: number[];

beforeEach(() => {
  vi.useFakeTimers();
  source = new EventEmitter();
  lines = [];
  exits = [];
});
afterEach(() => {
  vi.useRealTimers();
});

function supervise(drainMs = 1000) {
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return superviseProcess({ source, logger, drainMs, closeMarginMs: 500, exit: (code) => void exits.push(code) });
}

/** A service whose close() the test settles. */
function service(): Stoppable & { closes: number; settle: (err?: Error) => void } {
  let settle: (err?: Error) => void = () => undefined;
  const s = {
    closes: 0,
    close: () => {
      s.closes++;
      return new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
    },
    settle: (err?: Error) => settle(err),
  };
  return s;
}

const messages = () => lines.map((l) => [l.level, l.msg]);

describe('a stop signal', () => {
  it('stops the running service and exits 0 once it is closed', async () => {
    const s = service();
    supervise().started(s);
    source.emit('SIGTERM', 'SIGTERM');
    expect(s.closes).toBe(1);
    expect(exits).toEqual([]);
    s.settle();
    await vi.advanceTimersByTimeAsync(0);
    expect(exits).toEqual([0]);
    expect(messages()).toEqual([
      [30, 'shutting down'],
      [30, 'stopped'],
    ]);
    expect(lines[0]).toMatchObject({ signal: 'SIGTERM' });
  });

  it('that arrives while the service starts is kept: the service is stopped as soon as it is up', async () => {
    const supervisor = supervise();
    source.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([]);
    const s = service();
    supervisor.started(s);
    expect(s.closes).toBe(1);
    s.settle();
    await vi.advanceTimersByTimeAsync(0);
    expect(exits).toEqual([0]);
    expect(messages()).toEqual([
      [30, 'signal while starting: stopping once started'],
      [30, 'shutting down'],
      [30, 'stopped'],
    ]);
  });

  it('repeated is logged, not obeyed: the stop under way goes on', async () => {
    const s = service();
    supervise().started(s);
    source.emit('SIGINT', 'SIGINT');
    source.emit('SIGINT', 'SIGINT');
    source.emit('SIGTERM', 'SIGTERM');
    expect(s.closes).toBe(1);
    expect(lines.filter((l) => l.level === 40)).toEqual([
      expect.objectContaining({ signal: 'SIGINT', stoppingSince: 'SIGINT', msg: 'already stopping; the process ends within 1500 ms' }),
      expect.objectContaining({ signal: 'SIGTERM', stoppingSince: 'SIGINT', msg: 'already stopping; the process ends within 1500 ms' }),
    ]);
    s.settle();
    await vi.advanceTimersByTimeAsync(0);
    expect(exits).toEqual([0]);
  });

  it('ends the process with 1 when the stop outlasts the drain and the close margin', async () => {
    const s = service();
    supervise(1000).started(s);
    source.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(1499);
    expect(exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(exits).toEqual([1]);
    expect(lines.at(-1)).toMatchObject({ level: 50, msg: 'graceful shutdown timed out; exiting', boundMs: 1500 });
  });

  it('counts the bound from the signal, also while the service is still starting', async () => {
    const supervisor = supervise(1000);
    source.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(1500);
    expect(exits).toEqual([1]);
    // A start that finishes after all is stopped too, although the process is already ending.
    const s = service();
    supervisor.started(s);
    expect(s.closes).toBe(1);
  });

  it('exits 1 when closing the service fails, with the error logged', async () => {
    const s = service();
    supervise().started(s);
    source.emit('SIGTERM', 'SIGTERM');
    s.settle(new Error('the store would not close'));
    await vi.advanceTimersByTimeAsync(0);
    expect(exits).toEqual([1]);
    expect(lines.at(-1)).toMatchObject({ level: 50, msg: 'error during shutdown', err: expect.objectContaining({ message: 'the store would not close' }) });
  });
});

describe('an uncaught fault', () => {
  it('is logged as fatal with its origin and ends the process with 1', () => {
    supervise().started(service());
    source.emit('uncaughtException', new Error('boom'), 'unhandledRejection');
    expect(exits).toEqual([1]);
    expect(lines).toEqual([expect.objectContaining({ level: 60, msg: 'uncaught exception; exiting', origin: 'unhandledRejection', err: expect.objectContaining({ type: 'Error', message: 'boom' }) })]);
  });
});
