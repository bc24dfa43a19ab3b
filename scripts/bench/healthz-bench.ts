/**
 * Section 3: is the HTTP event loop free while inference saturates every core? The real Express
 * app (src/app.ts buildApp: pino-http, helmet, health routes) listens on a random local port in
 * this process, next to an EmbeddingEngine started with the service's configuration. Callers keep
 * more analyses in flight than there are workers (the verify-like load, through engine.analyse,
 * which is what the HTTP handlers call), while a probe sends GET /healthz one at a time over a
 * keep-alive connection, some milliseconds apart, like a (very) frequent orchestrator health check.
 *
 * The same probe on the idle service gives the baseline. The event loop's own delay
 * (perf_hooks.monitorEventLoopDelay) is reported alongside, since it is what /healthz would suffer from.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import { buildApp } from '../../src/app.js';
import type { EmbeddingEngine } from '../../src/model/engine.js';
import { createLogger } from '../../src/observability/logger.js';
import { startLoad, type Upload } from './engine-bench.js';
import { round, summarise, type Summary } from './stats.js';

export interface HealthzResult {
  probeGapMs: number;
  idle: Summary;
  saturated: Summary;
  /** Mean share of workers busy, sampled at each probe (1 = every core inferring). */
  saturatedBusyShare: number;
  /** Analyses finished during the saturated probe, per second. */
  saturatedAnalysesPerSecond: number;
  eventLoopDelayP99Ms: number;
  /**
   * Share of the saturated window the main thread spent running JavaScript/callbacks. Low
   * utilisation with a high loop delay means the thread was waiting for a CPU (the OS scheduler),
   * not blocked by our own work.
   */
  eventLoopUtilisation: number;
  /** The same while only the probe runs: the probe's own share (client and server are both in this thread). */
  idleEventLoopUtilisation: number;
  non200: number;
}

export async function measureHealthz(
  engine: EmbeddingEngine,
  upload: Upload,
  opts: { idleMs: number; saturatedMs: number; concurrency: number; probeGapMs: number },
): Promise<HealthzResult> {
  // Level 'info' as in production (health checks log at debug, so they write nothing); the
  // destination swallows lines so the benchmark's stdout stays JSON.
  const logger = createLogger('info', { write: () => {} });
  const app = buildApp({ logger, readiness: [{ name: 'model', ready: () => engine.ready }] });
  const server = await new Promise<http.Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let non200 = 0;
    const probe = async (durationMs: number, onEach?: () => void): Promise<number[]> => {
      const times: number[] = [];
      const end = performance.now() + durationMs;
      while (performance.now() < end) {
        const t0 = performance.now();
        const status = await getHealthz(agent, port);
        times.push(performance.now() - t0);
        if (status !== 200) non200++;
        onEach?.();
        await new Promise((r) => setTimeout(r, opts.probeGapMs));
      }
      return times;
    };

    await probe(200); // connection set up, routes compiled
    const eluIdle0 = perf.eventLoopUtilization();
    const idle = await probe(opts.idleMs);
    const eluIdle = perf.eventLoopUtilization(eluIdle0);

    const load = startLoad(engine, upload, opts.concurrency);
    await new Promise((r) => setTimeout(r, 500)); // every worker busy before probing
    const before = engine.stats().completed;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const elu0 = perf.eventLoopUtilization();
    let busySum = 0;
    let busySamples = 0;
    const t0 = performance.now();
    const saturated = await probe(opts.saturatedMs, () => {
      const s = engine.stats();
      busySum += s.busy / Math.max(1, s.workers);
      busySamples++;
    });
    const elapsedS = (performance.now() - t0) / 1000;
    loop.disable();
    const elu = perf.eventLoopUtilization(elu0);
    const analyses = engine.stats().completed - before;
    await load.stop();

    return {
      probeGapMs: opts.probeGapMs,
      idle: summarise(idle),
      saturated: summarise(saturated),
      saturatedBusyShare: round(busySum / Math.max(1, busySamples), 3),
      saturatedAnalysesPerSecond: round(analyses / elapsedS, 2),
      eventLoopDelayP99Ms: round(loop.percentile(99) / 1e6),
      eventLoopUtilisation: round(elu.utilization, 3),
      idleEventLoopUtilisation: round(eluIdle.utilization, 3),
      non200,
    };
  } finally {
    agent.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

function getHealthz(agent: http.Agent, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
      res.resume(); // read the body: the time counts until the whole answer has arrived
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('/healthz did not answer within 10 s')));
    req.on('error', reject);
  });
}
