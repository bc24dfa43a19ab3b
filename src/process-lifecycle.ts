/**
 * What the process does on signals and faults (server.ts uses it with the real `process`; tests
 * with an emitter):
 * - SIGTERM or SIGINT stops the service gracefully, also one that arrives while it is starting
 *   (it stops once started): the orchestrator's stop is never lost, even as PID 1 in a container,
 *   where a signal with no handler is ignored.
 * - A repeated signal is logged, not obeyed: the stop under way already ends within its bound, and
 *   a second Ctrl-C (or a supervisor that sends SIGTERM twice) must not cut it short.
 * - The stop is bounded: the service drains for VP_SHUTDOWN_DELAY_MS + VP_SHUTDOWN_GRACE_MS, and if
 *   closing the model and the store then takes over `closeMarginMs` more, the process exits 1, logged.
 * - An uncaught exception or unhandled rejection is logged as fatal and ends the process (code 1):
 *   the state it leaves is unknown, so nothing more is served (the store is SQLite in WAL mode,
 *   consistent at every commit). Without this, Node prints the stack to stderr, outside the log.
 */
import type { Logger } from './observability/logger.js';

/** The part of `process` this module uses. */
export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  on(event: 'uncaughtException', listener: (err: unknown, origin: string) => void): unknown;
}

export interface Stoppable {
  close(): Promise<void>;
}

export interface SupervisorOptions {
  source: SignalSource;
  logger: Logger;
  /** VP_SHUTDOWN_DELAY_MS + VP_SHUTDOWN_GRACE_MS: how long the service may take to stop serving. */
  drainMs: number;
  /** Beyond drainMs, how long closing the model and the store may take before the process gives up. */
  closeMarginMs?: number;
  exit: (code: number) => void;
}

export interface Supervisor {
  /** The service is up: stop it now if a signal came while it started. */
  started(service: Stoppable): void;
}

/** Time to close the worker threads and the database once the connections are drained. */
export const defaultCloseMarginMs = 5000;

export function superviseProcess(opts: SupervisorOptions): Supervisor {
  const { logger, exit } = opts;
  const boundMs = opts.drainMs + (opts.closeMarginMs ?? defaultCloseMarginMs);
  let service: Stoppable | undefined;
  let stopSignal: NodeJS.Signals | undefined;

  const stop = (s: Stoppable, signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    s.close().then(
      () => {
        logger.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        exit(1);
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) {
      logger.warn({ signal, stoppingSince: stopSignal }, `already stopping; the process ends within ${boundMs} ms`);
      return;
    }
    stopSignal = signal;
    // Counted from the signal, start-up included: a start that hangs is not waited on for ever.
    // Not unref'd: a close stuck on a promise that never settles still ends in exit 1, not a silent 0.
    setTimeout(() => {
      logger.error({ signal, boundMs }, 'graceful shutdown timed out; exiting');
      exit(1);
    }, boundMs);
    if (service === undefined) {
      logger.info({ signal }, 'signal while starting: stopping once started');
      return;
    }
    stop(service, signal);
  };
  opts.source.on('SIGTERM', onSignal);
  opts.source.on('SIGINT', onSignal);
  opts.source.on('uncaughtException', (err, origin) => {
    logger.fatal({ err, origin }, 'uncaught exception; exiting');
    exit(1);
  });

  return {
    started(s) {
      service = s;
      if (stopSignal !== undefined) stop(s, stopSignal);
    },
  };
}
