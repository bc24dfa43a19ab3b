/**
 * Prometheus metrics (prom-client), one registry per app so tests and several apps in one process
 * never share counters. Labels are route patterns (`/v1/subjects/:id`), never paths: a customer id
 * must not reach the metrics (GDPR Art. 5(1)(c)), and patterns keep the label set small.
 *
 * Served at GET /metrics to operator keys only: the figures (decision rates per policy, traffic) are
 * operational information worth protecting, and a scraper can send a bearer token
 * (Prometheus `authorization: { credentials_file: … }`).
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isVoicePassportError } from '../errors.js';
import type { Embedder } from '../passport/embedder.js';

/**
 * Emitted on a response once its socket was handed to another protocol (the 101 of a WebSocket, written
 * by the WebSocket library): such a response never emits 'finish', and is counted on this instead.
 */
export const switchedProtocolsEvent = 'voice-passport:switched-protocols';

export interface EngineGaugeSource {
  stats(): { workers: number; busy: number; queued: number };
}

export interface Metrics {
  registry: Registry;
  /** Records method, route pattern, status and duration of every response. */
  httpMiddleware(routeLabel: (method: string, path: string) => string): RequestHandler;
  decisions: Counter<'policy' | 'decision' | 'channel'>;
  /** Verification streams open now (WebSocket sessions between upgrade and close). */
  openStreams: Gauge;
  enrolmentSamples: Counter<'outcome'>;
  /** Outcomes reported about verifications, by policy and what they made of the decision (`false-match`: alert on it). */
  reportedOutcomes: Counter<'policy' | 'assessment'>;
  modelLatency: Histogram<'outcome'>;
  /** Retention sweeps run, by outcome (`ok`, `failed`, `stopped`). */
  retentionSweeps: Counter<'outcome'>;
  /** What retention sweeps removed: `voiceprint` (subjects erased), `re_enrolment` (the samples of an enrolled subject's abandoned re-enrolment), `verification` (records), `consent_record` (subjects whose consent records went), `idempotent_answer` (answers kept for retried requests), `audit_entry`. */
  retentionRemoved: Counter<'kind'>;
  /** When the last retention sweep succeeded (Unix time). */
  retentionLastSuccess: Gauge;
}

/** API keys that will expire and are still in force: for an alert before a platform is locked out. */
export type KeyExpirySource = () => Array<{ id: string; role: string; expiresAt: string }>;

export interface MetricsOptions {
  engine?: EngineGaugeSource;
  keyExpiries?: KeyExpirySource;
  /** Node process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'voice_passport_' });

  const requests = new Counter({
    name: 'voice_passport_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'voice_passport_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'voice_passport_verification_decisions_total',
    // channel: the scoring channel (each has its own calibration and thresholds), "none" when no
    // audio was analysed (not-enrolled, no-consent, locked).
    help: 'Verification decisions by policy, decision and scoring channel (none: no audio analysed)',
    labelNames: ['policy', 'decision', 'channel'] as const,
    registers: [registry],
  });
  const openStreams = new Gauge({
    name: 'voice_passport_verification_streams_open',
    help: 'Verification streams (WebSocket) open now',
    registers: [registry],
  });
  const enrolmentSamples = new Counter({
    name: 'voice_passport_enrolment_samples_total',
    help: 'Enrolment samples by outcome (accepted, enrolled, rejected, not-same-speaker)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const reportedOutcomes = new Counter({
    name: 'voice_passport_reported_outcomes_total',
    help: 'Outcomes reported about verifications (PUT /v1/verifications/{id}/outcome), by policy and assessment (correct, false-match, false-non-match, undecided): counted when a report changes the assessment of a call to it (a retried report is not counted again)',
    labelNames: ['policy', 'assessment'] as const,
    registers: [registry],
  });
  const modelLatency = new Histogram({
    name: 'voice_passport_model_analysis_seconds',
    help: 'Time from handing audio to the embedding engine to its answer (queue wait included)',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
    registers: [registry],
  });
  const engine = options.engine;
  if (engine) {
    new Gauge({
      name: 'voice_passport_engine_queue_depth',
      help: 'Analyses waiting for a worker',
      registers: [registry],
      collect() {
        this.set(engine.stats().queued);
      },
    });
    new Gauge({
      name: 'voice_passport_engine_busy_workers',
      help: 'Workers analysing audio now',
      registers: [registry],
      collect() {
        this.set(engine.stats().busy);
      },
    });
    new Gauge({
      name: 'voice_passport_engine_workers',
      help: 'Live embedding workers',
      registers: [registry],
      collect() {
        this.set(engine.stats().workers);
      },
    });
  }

  const keyExpiries = options.keyExpiries;
  if (keyExpiries) {
    new Gauge({
      name: 'voice_passport_api_key_expiry_timestamp_seconds',
      help: 'When each active API key with a lifetime stops working (Unix time); alert on time() approaching it',
      labelNames: ['key_id', 'role'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const k of keyExpiries()) this.set({ key_id: k.id, role: k.role }, Date.parse(k.expiresAt) / 1000);
      },
    });
  }

  // Storage limitation (GDPR Art. 5(1)(e)) is only as good as the sweep that enforces it: a failing
  // one shows in the logs, and here for an alert such as time() - last_success > 3 * 3600.
  const retentionSweeps = new Counter({
    name: 'voice_passport_retention_sweeps_total',
    help: 'Retention sweeps (voiceprints, verification history, consent records, audit log) by outcome: ok, failed, stopped (the service closed mid-sweep)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const retentionRemoved = new Counter({
    name: 'voice_passport_retention_removed_total',
    help: 'What retention sweeps removed: voiceprint (subjects erased), re_enrolment (the samples of an enrolled subject\'s abandoned re-enrolment), verification (records), consent_record (subjects whose consent records went), idempotent_answer (answers kept for retried requests), audit_entry',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const retentionLastSuccess = new Gauge({
    name: 'voice_passport_retention_last_success_timestamp_seconds',
    help: 'When the last retention sweep succeeded (Unix time); 0 before the first',
    registers: [registry],
  });

  return {
    registry,
    decisions,
    openStreams,
    enrolmentSamples,
    reportedOutcomes,
    modelLatency,
    retentionSweeps,
    retentionRemoved,
    retentionLastSuccess,
    httpMiddleware: (routeLabel) => (req, res, next) => {
      const start = process.hrtime.bigint();
      let counted = false;
      const count = () => {
        if (counted) return;
        counted = true;
        const labels = { method: req.method, route: routeLabel(req.method, req.path), status: String(res.statusCode) };
        requests.inc(labels);
        duration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
      };
      res.once('finish', count);
      // A response whose socket was handed to another protocol (a WebSocket's 101) never finishes.
      res.once(switchedProtocolsEvent, count);
      next();
    },
  };
}

/** Wraps an embedder so every analysis is timed (outcome "ok" or the error code). */
export function timedEmbedder(embedder: Embedder, metrics: Pick<Metrics, 'modelLatency'>): Embedder {
  return {
    get modelId() {
      return embedder.modelId;
    },
    async analyse(req) {
      const end = metrics.modelLatency.startTimer();
      try {
        const r = await embedder.analyse(req);
        end({ outcome: 'ok' });
        return r;
      } catch (e) {
        end({ outcome: isVoicePassportError(e) ? e.code : 'internal' });
        throw e;
      }
    },
  };
}
