/**
 * `npm run bench` (issue 2, section 6): speed figures for the feature front end, the embedding
 * engine and the HTTP event loop under load, for the default model and, when it has been built,
 * a production-sized WeSpeaker ResNet34 (scripts/bench/make-resnet34.py).
 *
 *   npm run bench                 # full run, a few minutes
 *   npm run bench -- --quick      # smoke run, well under a minute
 *   npm run bench -- --out f.json # report file (default data/bench/bench-<time>.json)
 *
 * stdout: the JSON report; stderr: progress and a short table. The engine uses the service's own
 * configuration (src/config.ts), so VP_WORKERS, VP_INTRA_OP_THREADS, VP_QUEUE_MAX and VP_MODEL
 * change what is measured exactly as they would change the service.
 *
 * The figures depend on what else the machine runs: the report carries os.loadavg() at the start
 * and end of every section so numbers from a busy machine can be recognised as such.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../../src/config.js';
import { computeFbank } from '../../src/features/fbank.js';
import { normaliseFeatures } from '../../src/features/normalise.js';
import { EmbeddingEngine } from '../../src/model/engine.js';
import { loadManifest } from '../../src/model/manifest.js';
import { loadBenchAudio, BENCH_SECONDS } from './audio.js';
import { measureBareOnnx, type BareOnnxResult } from './bare-onnx.js';
import { measureLatency, measureThroughput, warmUp, type LatencyResult, type ThroughputResult, type Upload } from './engine-bench.js';
import { measureFbank } from './fbank-bench.js';
import { measureScoring, type ScoringResult } from './scoring-bench.js';
import { measureHealthz, type HealthzResult } from './healthz-bench.js';
import { measureStages, type StagesResult } from './stages.js';
import { round } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BENCH_DIR = path.join(ROOT, 'data', 'bench');
const RESNET_DIR = path.join(BENCH_DIR, 'models');
const RESNET_ID = 'bench-resnet34';
const RESNET_HOWTO = '/usr/bin/python3 scripts/bench/make-resnet34.py';

/** Goals from issue 2, section 6 (the model goals are for the production-sized network). */
const GOALS = { fbankP50Ms: 5, healthzP99Ms: 10, resnetP50Ms: 80, resnetPerSecond: 14 };

interface Plan {
  fbankWarmup: number;
  fbankRuns: number;
  latencyRuns: number;
  throughputMs: number;
  healthzIdleMs: number;
  healthzSaturatedMs: number;
  bareMs: number;
  stageRuns: number;
}

const FULL: Plan = { fbankWarmup: 100, fbankRuns: 1000, latencyRuns: 200, throughputMs: 20_000, healthzIdleMs: 5000, healthzSaturatedMs: 20_000, bareMs: 15_000, stageRuns: 100 };
const QUICK: Plan = { fbankWarmup: 20, fbankRuns: 100, latencyRuns: 20, throughputMs: 3000, healthzIdleMs: 500, healthzSaturatedMs: 3000, bareMs: 3000, stageRuns: 10 };
/**
 * Pause between /healthz probes: about 40 checks/s, far more often than any orchestrator asks,
 * yet sparse enough that the probe (client and server share this thread) adds little load itself.
 */
const PROBE_GAP_MS = 20;

interface ModelReport {
  id: string;
  workers: number;
  intraOpNumThreads: number;
  latency: LatencyResult;
  throughput: ThroughputResult;
  healthz: HealthzResult;
  bareOnnx: BareOnnxResult;
  stages: StagesResult;
  loadAverage: { start: number[]; end: number[] };
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const load = () => os.loadavg().map((x) => round(x, 2));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      'skip-resnet34': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stderr.write('usage: npm run bench -- [--quick] [--out report.json] [--skip-resnet34]\n');
    return;
  }
  const plan = values.quick ? QUICK : FULL;
  const config = loadConfig(process.env);
  const startedAt = new Date();
  const cpus = os.cpus();
  const report: Record<string, unknown> = {
    benchmark: 'voice-passport npm run bench',
    startedAt: startedAt.toISOString(),
    quick: values.quick,
    machine: {
      cpuModel: cpus[0]?.model ?? 'unknown',
      availableParallelism: os.availableParallelism(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadAverageAtStart: load(),
    },
  };

  const audio = await loadBenchAudio(path.resolve(ROOT, '..', 'shared'));
  log(`audio: ${audio.note}`);
  report.audio = { source: audio.source, file: audio.file, seconds: BENCH_SECONDS, sampleRate: audio.sampleRate, wavBytes: audio.wav.length, note: audio.note };
  const upload: Upload = { bytes: audio.wav, contentType: 'audio/wav' };

  log(`fbank: ${plan.fbankWarmup} warm-up + ${plan.fbankRuns} timed runs on ${BENCH_SECONDS} s at ${audio.sampleRate} Hz`);
  const fbankLoad = load();
  report.fbank = { ...measureFbank(audio.samples, audio.sampleRate, { warmupRuns: plan.fbankWarmup, runs: plan.fbankRuns }), loadAverage: { start: fbankLoad, end: load() } };

  log(`scoring: ${plan.fbankRuns} comparisons with ${config.modelId}'s scorer`);
  report.scoring = await measureScoring(config.modelsDir, config.modelId, { warmupRuns: plan.fbankWarmup, runs: plan.fbankRuns });

  const models: ModelReport[] = [];
  models.push(await benchModel(config, config.modelsDir, config.modelId, upload, audio.samples, plan));
  let resnetNote: string | null = null;
  if (values['skip-resnet34']) resnetNote = 'skipped (--skip-resnet34)';
  else if (!existsSync(path.join(RESNET_DIR, `${RESNET_ID}.json`))) {
    resnetNote = `not built: run \`${RESNET_HOWTO}\` (about a minute) to measure the production-sized ResNet34 too`;
    log(resnetNote);
  } else models.push(await benchModel(config, RESNET_DIR, RESNET_ID, upload, audio.samples, plan));
  report.models = models;
  if (resnetNote !== null) report.resnet34 = resnetNote;

  report.goals = evaluateGoals(report.fbank as ReturnType<typeof measureFbank>, models, config.modelId);
  (report.machine as Record<string, unknown>).loadAverageAtEnd = load();
  report.durationSeconds = round((Date.now() - startedAt.getTime()) / 1000, 1);

  const out = values.out ?? path.join(BENCH_DIR, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  const json = JSON.stringify(report, null, 2);
  await writeFile(out, json + '\n');
  process.stdout.write(json + '\n');
  process.stderr.write('\n' + table(report, models) + `\nreport written to ${path.relative(process.cwd(), path.resolve(out))}\n`);
}

async function benchModel(config: Readonly<Config>, modelsDir: string, modelId: string, upload: Upload, samples: Float32Array, plan: Plan): Promise<ModelReport> {
  const start = load();
  log(`${modelId}: starting the engine (${config.workers} workers, ${config.intraOpNumThreads} intra-op thread(s) each)`);
  const engine = await EmbeddingEngine.start({
    modelsDir,
    modelId,
    workers: config.workers,
    intraOpNumThreads: config.intraOpNumThreads,
    maxQueue: config.queueMax,
    maxAudioSeconds: config.maxAudioSeconds,
    taskTimeoutMs: config.inferenceTimeoutMs,
  });
  // Twice the workers: every worker always has the next request waiting, none idles.
  const concurrency = Math.min(config.workers * 2, config.workers + config.queueMax);
  let latency: LatencyResult;
  let throughput: ThroughputResult;
  let healthz: HealthzResult;
  try {
    await warmUp(engine, upload, 3);
    log(`${modelId}: latency, ${plan.latencyRuns} requests one at a time`);
    latency = await measureLatency(engine, upload, plan.latencyRuns);
    log(`${modelId}: throughput, ${concurrency} concurrent callers for ${plan.throughputMs / 1000} s`);
    throughput = await measureThroughput(engine, upload, { concurrency, durationMs: plan.throughputMs });
    log(`${modelId}: /healthz idle ${plan.healthzIdleMs / 1000} s, then saturated ${plan.healthzSaturatedMs / 1000} s`);
    healthz = await measureHealthz(engine, upload, { idleMs: plan.healthzIdleMs, saturatedMs: plan.healthzSaturatedMs, concurrency, probeGapMs: PROBE_GAP_MS });
  } finally {
    await engine.close();
  }

  // The bare loop feeds the network the features of the whole 3 s (no VAD cut), prepared as the
  // embedder prepares them.
  const manifest = await loadManifest(modelsDir, modelId);
  const feats = normaliseFeatures(computeFbank(samples, manifest.sampleRate, manifest.fbank, manifest.sampleScale), manifest.normalisation);
  log(`${modelId}: bare onnxruntime loop, ${config.workers} worker thread(s) for ${plan.bareMs / 1000} s`);
  const bareOnnx = await measureBareOnnx(manifest, feats, { workers: config.workers, intraOpNumThreads: config.intraOpNumThreads, durationMs: plan.bareMs, warmupRuns: 3 });
  log(`${modelId}: stage breakdown, ${plan.stageRuns} requests in one worker`);
  const stages = await measureStages(manifest, upload, { intraOpNumThreads: config.intraOpNumThreads, maxSeconds: config.maxAudioSeconds, warmupRuns: 3, runs: plan.stageRuns });
  return { id: modelId, workers: config.workers, intraOpNumThreads: config.intraOpNumThreads, latency, throughput, healthz, bareOnnx, stages, loadAverage: { start, end: load() } };
}

interface Goal {
  name: string;
  goal: string;
  measured: number;
  met: boolean;
}

function evaluateGoals(fbank: ReturnType<typeof measureFbank>, models: ModelReport[], defaultId: string): Goal[] {
  const goals: Goal[] = [
    { name: 'fbank 3 s p50 (ms)', goal: `≤ ${GOALS.fbankP50Ms}`, measured: fbank.time.p50Ms, met: fbank.time.p50Ms <= GOALS.fbankP50Ms },
  ];
  const def = models.find((m) => m.id === defaultId);
  if (def) {
    const p99 = def.healthz.saturated.p99Ms;
    goals.push({ name: `/healthz p99 saturated, ${defaultId} (ms)`, goal: `≤ ${GOALS.healthzP99Ms}`, measured: p99, met: p99 <= GOALS.healthzP99Ms });
  }
  const resnet = models.find((m) => m.id === RESNET_ID);
  if (resnet) {
    const p50 = resnet.latency.time.p50Ms;
    const perSecond = resnet.throughput.perSecond;
    const p99 = resnet.healthz.saturated.p99Ms;
    goals.push({ name: `${RESNET_ID} latency p50 (ms)`, goal: `≤ ${GOALS.resnetP50Ms}`, measured: p50, met: p50 <= GOALS.resnetP50Ms });
    goals.push({ name: `${RESNET_ID} throughput (/s)`, goal: `≥ ${GOALS.resnetPerSecond}`, measured: perSecond, met: perSecond >= GOALS.resnetPerSecond });
    goals.push({ name: `/healthz p99 saturated, ${RESNET_ID} (ms)`, goal: `≤ ${GOALS.healthzP99Ms}`, measured: p99, met: p99 <= GOALS.healthzP99Ms });
  }
  return goals;
}

function table(report: Record<string, unknown>, models: ModelReport[]): string {
  const fbank = report.fbank as ReturnType<typeof measureFbank>;
  const rows: string[][] = [['measure', 'p50', 'p99', 'CPU/op', 'rate', 'notes']];
  rows.push([`fbank ${BENCH_SECONDS} s @16 kHz → ${fbank.frames}×${fbank.bins}`, ms(fbank.time.p50Ms), ms(fbank.time.p99Ms), ms(fbank.cpuMsPerRun), '', '']);
  const scoring = report.scoring as ScoringResult;
  rows.push([
    `${scoring.model}: compare (event loop)`,
    ms(scoring.time.p50Ms),
    ms(scoring.time.p99Ms),
    ms(scoring.cpuMsPerRun),
    '',
    scoring.scale === 'as-norm' ? `AS-norm top-${scoring.topK} of ${scoring.cohortRows} rows (${scoring.cohortSpeakers} speakers)` : 'cosine',
  ]);
  for (const m of models) {
    const t = m.throughput;
    const b = m.bareOnnx;
    const h = m.healthz;
    rows.push([`${m.id}: embed ${BENCH_SECONDS} s, one at a time`, ms(m.latency.time.p50Ms), ms(m.latency.time.p99Ms), ms(m.latency.cpuMsPerRequest), '', `net speech ${m.latency.netSpeechSeconds} s`]);
    const s = m.stages;
    rows.push([
      `${m.id}: stages (p50)`,
      '',
      '',
      '',
      '',
      `decode ${ms(s.decode.p50Ms)}, VAD ${ms(s.vad.p50Ms)}, quality ${ms(s.quality.p50Ms)}, fbank ${ms(s.fbank.p50Ms)}, network ${ms(s.network.p50Ms)}`,
    ]);
    rows.push([`${m.id}: embed, ${t.workers} workers, ${t.concurrency} callers`, ms(t.time.p50Ms), ms(t.time.p99Ms), ms(t.cpuMsPerAnalysis), `${t.perSecond} /s`, `CPU-bound ${t.cpuBoundPerSecond} /s`]);
    rows.push([`${m.id}: bare onnxruntime, ${b.workers} threads`, ms(b.runLatency.p50Ms), ms(b.runLatency.p99Ms), ms(b.cpuMsPerRun), `${b.perSecond} /s`, `CPU-bound ${b.cpuBoundPerSecond} /s, input ${b.inputDims.join('×')}`]);
    rows.push([`${m.id}: /healthz, idle`, ms(h.idle.p50Ms), ms(h.idle.p99Ms), '', '', `n=${h.idle.n}`]);
    rows.push([
      `${m.id}: /healthz, cores saturated`,
      ms(h.saturated.p50Ms),
      ms(h.saturated.p99Ms),
      '',
      '',
      `n=${h.saturated.n}, workers busy ${Math.round(h.saturatedBusyShare * 100)} %, loop delay p99 ${ms(h.eventLoopDelayP99Ms)}, loop use ${Math.round(h.eventLoopUtilisation * 100)} %`,
    ]);
  }
  const left = new Set([0, 5]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const lines = rows.map((r) => r.map((cell, c) => (left.has(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  lines.push('');
  for (const g of report.goals as Goal[]) lines.push(`${g.met ? 'met    ' : 'NOT MET'}  ${g.name}: ${g.measured} (goal ${g.goal})`);
  if (typeof report.resnet34 === 'string') lines.push(`${RESNET_ID}: ${report.resnet34}`);
  const machine = report.machine as { loadAverageAtStart: number[]; loadAverageAtEnd: number[]; availableParallelism: number };
  lines.push(
    `load average ${machine.loadAverageAtStart.join(' ')} → ${machine.loadAverageAtEnd.join(' ')} on ${machine.availableParallelism} cores` +
      (Math.max(...machine.loadAverageAtStart, ...machine.loadAverageAtEnd) > machine.availableParallelism
        ? ': the machine was busy with other work, so wall-clock figures are pessimistic (CPU/op is less affected)'
        : ''),
  );
  return lines.join('\n');
}

const ms = (x: number) => `${x.toFixed(2)} ms`;

main().catch((e: unknown) => {
  process.stderr.write(`[bench] failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
