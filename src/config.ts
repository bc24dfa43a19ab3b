/**
 * Configuration: read once from the environment at start, validated with zod, frozen.
 * Every key is documented in README.md ("Configuration") with its default. Secrets
 * (master key) come only from the environment or a file, never from the database or the repo.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { VoicePassportError } from './errors.js';
import { MODEL_ID_RULE, modelIdPattern } from './model/manifest.js';
import { defaultRetention } from './passport/retention.js';

const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  PORT: intFromEnv(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  VP_DATA_DIR: z.string().min(1).default('./data'),
  VP_MODELS_DIR: z.string().min(1).default('./models'),
  VP_MODEL: z
    .string()
    .regex(modelIdPattern, `must be a model id: ${MODEL_ID_RULE}`)
    .default('vp-resnet-v9'),
  // zod does not check a default against the range: the cores, within it.
  VP_WORKERS: intFromEnv(1, 64).default(Math.min(64, Math.max(1, os.availableParallelism()))),
  VP_INTRA_OP_THREADS: intFromEnv(1, 64).default(1),
  VP_QUEUE_MAX: intFromEnv(0, 10_000).default(32),
  VP_MAX_AUDIO_SECONDS: z.coerce.number().positive().max(3600).default(120),
  VP_INFERENCE_TIMEOUT_MS: intFromEnv(100, 600_000).default(30_000),
  // At least 1 s: under it every stop would cut requests just begun, and streams get 1 s to close.
  VP_SHUTDOWN_GRACE_MS: intFromEnv(1000, 120_000).default(10_000),
  // Behind a load balancer that polls /readyz (Kubernetes endpoints): time to notice the 503 and send
  // no more requests before the server stops taking them.
  VP_SHUTDOWN_DELAY_MS: intFromEnv(0, 60_000).default(0),
  VP_ENROL_MIN_SECONDS: z.coerce.number().min(1).max(600).default(20),
  VP_ENROL_MIN_SAMPLES: intFromEnv(1, 20).default(2),
  // The quality gate: audio whose estimated SNR is under this is not decided on (verification
  // answers inconclusive/low-snr, enrolment refuses the sample as too-noisy). README, *Accuracy in noise*.
  VP_MIN_SNR_DB: z.coerce.number().min(-30).max(60).default(5),
  // Storage limits (GDPR Art. 5(1)(e)); why these defaults: src/passport/retention.ts, defaultRetention.
  // The audit log's is unset by default (kept whole); pruning keeps its hash chain checkable
  // (src/store/audit-log.ts, pruneBefore).
  VP_RETENTION_DAYS: intFromEnv(1, 36_500).default(defaultRetention.retentionDays),
  VP_HISTORY_RETENTION_DAYS: intFromEnv(1, 36_500).default(defaultRetention.historyRetentionDays),
  VP_CONSENT_RECORD_RETENTION_DAYS: intFromEnv(1, 36_500).default(defaultRetention.consentRecordRetentionDays),
  VP_AUDIT_RETENTION_DAYS: intFromEnv(1, 36_500).optional(),
  // The bank's own consent notice texts and their notices.json (src/passport/consent-notices.ts);
  // unset: the package's consent-notices/.
  VP_CONSENT_NOTICES_DIR: z.string().min(1).optional(),
  VP_RATE_LIMIT_PER_MINUTE: intFromEnv(1, 1_000_000).default(600),
  // Streaming verification (src/http/verification-stream.ts): streams open at once, and the silence
  // after which a stream is decided on the audio it holds.
  VP_STREAM_MAX_OPEN: intFromEnv(1, 10_000).default(64),
  VP_STREAM_IDLE_SECONDS: z.coerce.number().min(1).max(300).default(10),
  // The operator console's static page at /console/ (src/http/console.ts): no data, no key of its own.
  VP_CONSOLE: z.stringbool().default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The variables loadConfig reads (README's configuration table documents each, with the master key's). */
export const configVariables = Object.keys(envSchema.shape);

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  modelsDir: string;
  modelId: string;
  workers: number;
  intraOpNumThreads: number;
  queueMax: number;
  maxAudioSeconds: number;
  inferenceTimeoutMs: number;
  /** On a stop signal, time requests in flight have to finish before their connections are cut. */
  shutdownGraceMs: number;
  /** On a stop signal, time /readyz answers 503 while requests are still taken. */
  shutdownDelayMs: number;
  /** Net speech (seconds, summed over samples) an enrolment needs before the voiceprint is made. */
  enrolMinSeconds: number;
  /** Samples an enrolment needs, however long each is. */
  enrolMinSamples: number;
  /** The quality gate: audio whose estimated SNR (dB) is under it is not decided on. */
  minSnrDb: number;
  /** A voiceprint unused for this many days is erased (GDPR Art. 5(1)(e) storage limitation). */
  retentionDays: number;
  historyRetentionDays: number;
  /** The record of a consent that ended is erased this many days later, once nothing else of its subject is held. */
  consentRecordRetentionDays: number;
  /** Null: the audit log is kept whole. */
  auditRetentionDays: number | null;
  /** Null: the package's consent-notices/. */
  consentNoticesDir: string | null;
  /** Requests per minute per API key (token bucket; burst of the same size). */
  rateLimitPerMinute: number;
  /** Verification streams open at once; the next handshake gets 503 overloaded. */
  streamMaxOpen: number;
  /** A verification stream that sends nothing for this many seconds is decided on what it holds. */
  streamIdleSeconds: number;
  /** Serve the operator console at /console/. */
  console: boolean;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
}

/** Empty strings count as unset, so `PORT= npm start` means "default", not "invalid". */
function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new VoicePassportError('config-invalid', `invalid configuration: ${problems}`, {
      variables: parsed.error.issues.map((i) => i.path.join('.')),
    });
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.VP_DATA_DIR),
    modelsDir: path.resolve(e.VP_MODELS_DIR),
    modelId: e.VP_MODEL,
    workers: e.VP_WORKERS,
    intraOpNumThreads: e.VP_INTRA_OP_THREADS,
    queueMax: e.VP_QUEUE_MAX,
    maxAudioSeconds: e.VP_MAX_AUDIO_SECONDS,
    inferenceTimeoutMs: e.VP_INFERENCE_TIMEOUT_MS,
    shutdownGraceMs: e.VP_SHUTDOWN_GRACE_MS,
    shutdownDelayMs: e.VP_SHUTDOWN_DELAY_MS,
    enrolMinSeconds: e.VP_ENROL_MIN_SECONDS,
    enrolMinSamples: e.VP_ENROL_MIN_SAMPLES,
    minSnrDb: e.VP_MIN_SNR_DB,
    retentionDays: e.VP_RETENTION_DAYS,
    historyRetentionDays: e.VP_HISTORY_RETENTION_DAYS,
    consentRecordRetentionDays: e.VP_CONSENT_RECORD_RETENTION_DAYS,
    auditRetentionDays: e.VP_AUDIT_RETENTION_DAYS ?? null,
    consentNoticesDir: e.VP_CONSENT_NOTICES_DIR === undefined ? null : path.resolve(e.VP_CONSENT_NOTICES_DIR),
    rateLimitPerMinute: e.VP_RATE_LIMIT_PER_MINUTE,
    streamMaxOpen: e.VP_STREAM_MAX_OPEN,
    streamIdleSeconds: e.VP_STREAM_IDLE_SECONDS,
    console: e.VP_CONSOLE,
    logLevel: e.LOG_LEVEL,
  });
}
