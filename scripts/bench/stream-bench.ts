/**
 * How soon a streamed call is decided, against posting the recording when the caller has finished.
 * The real service (startService: the configured model, worker threads, a store in a temporary
 * folder) enrols so762 speakers (../shared/data/dev), then each call plays two other utterances of
 * an enrolled speaker through the simulated phone line (G.711 µ-law, 8 kHz) to
 * GET …/verifications/stream in real time, in 20 ms frames; `--concurrency` calls at once.
 *
 * Per call: the seconds into the call at which the result arrived, `analysedSeconds` (the audio the
 * decision was made on), the lag between the two (the analyses' cost and cadence), and, for the same
 * audio posted whole to POST …/verifications once the call is over, its duration plus the time the
 * service takes to answer it.
 *
 * `--speech-seconds S` asks each stream to wait for S seconds of net speech instead of the policy's
 * minimum (the stream's `speechSeconds`). The decisions are counted, but 25 calls of the few
 * speakers whose first eight utterances hold VP_ENROL_MIN_SECONDS of speech measure no error rate:
 * the model card's duration tables do.
 *
 *   node --import tsx scripts/bench/stream-bench.ts [--calls 25] [--concurrency 1] [--speech-seconds S]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { decodeFlacFile } from '../../src/audio/flac.js';
import type { MonoAudio } from '../../src/audio/types.js';
import { loadConfig } from '../../src/config.js';
import { concatenate, floatWav, telephoneInput } from '../../src/evaluation/channel.js';
import { createLogger } from '../../src/observability/logger.js';
import { initialKeysFileName } from '../../src/passport/api-keys.js';
import { startService } from '../../src/service.js';
import { round, summarise } from './stats.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '25' }, concurrency: { type: 'string', default: '1' }, 'speech-seconds': { type: 'string' } } });
const calls = Number(values.calls);
const concurrency = Number(values.concurrency);
if (!(Number.isInteger(calls) && calls > 0 && Number.isInteger(concurrency) && concurrency > 0)) throw new Error('--calls and --concurrency must be positive whole numbers');

const devDir = fileURLToPath(new URL('../../../shared/data/dev/so762', import.meta.url));
if (!fs.existsSync(devDir)) {
  console.error(`stream-bench: ${devDir} is absent (the dev sets live in ../shared); nothing to measure`);
  process.exit(0);
}

async function utterances(speaker: string, from: number, count: number): Promise<MonoAudio> {
  const files = fs.readdirSync(path.join(devDir, speaker)).sort().slice(from, from + count);
  const parts: MonoAudio[] = [];
  for (const f of files) parts.push(await decodeFlacFile(new Uint8Array(fs.readFileSync(path.join(devDir, speaker, f))), { maxSeconds: 60 }));
  return concatenate(parts);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-stream-bench-'));
const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', VP_DATA_DIR: dataDir, VP_STREAM_MAX_OPEN: String(Math.max(64, concurrency)), LOG_LEVEL: 'silent' });
const service = await startService(config, createLogger('silent'));
const base = `127.0.0.1:${service.port}`;
const keys = Object.fromEntries((JSON.parse(fs.readFileSync(path.join(dataDir, initialKeysFileName), 'utf8')) as { keys: Array<{ role: string; key: string }> }).keys.map((k) => [k.role, k.key]));
const auth = (role: string) => ({ Authorization: `Bearer ${keys[role]}` });

interface Call {
  id: string;
  /** The call's audio as the phone line carries it (µ-law bytes, 8 kHz). */
  mulaw: Buffer;
}

interface CallResult {
  decision: string;
  /** Seconds from the first frame to the result. */
  decidedAt: number;
  /** Null when the checks decided without audio (e.g. a subject locked by earlier rejects). */
  analysedSeconds: number | null;
  callSeconds: number;
  /** Seconds POST …/verifications took to answer the whole call's audio, sent when it was over. */
  postSeconds: number;
}

try {
  // Enrol each speaker with up to its first eight utterances (samples of three, three and two) until
  // VP_ENROL_MIN_SECONDS of speech, as an app would; the call is its last two.
  const speakers = fs.readdirSync(devDir).sort();
  const enrolled: Call[] = [];
  for (const speaker of speakers) {
    const id = `bench-${speaker}`;
    await fetch(`http://${base}/v1/subjects/${id}/consent`, { method: 'PUT', headers: { ...auth('enrolment'), 'Content-Type': 'application/json' }, body: JSON.stringify({ noticeVersion: 'v2', channel: 'app' }) });
    let status = 'enrolling';
    for (let from = 0; from < 8 && status !== 'enrolled'; from += 3) {
      const res = await fetch(`http://${base}/v1/subjects/${id}/enrolments`, { method: 'POST', headers: { ...auth('enrolment'), 'Content-Type': 'audio/wav' }, body: floatWav(await utterances(speaker, from, Math.min(3, 8 - from))) });
      status = ((await res.json()) as { status?: string }).status ?? 'refused';
    }
    if (status === 'enrolled') enrolled.push({ id, mulaw: Buffer.from(telephoneInput(await utterances(speaker, 8, 2), 'mulaw').bytes) });
  }
  if (enrolled.length === 0) throw new Error('no speaker could be enrolled');
  console.error(`stream-bench: ${enrolled.length} speakers enrolled; ${calls} calls, ${concurrency} at a time, in real time`);

  const one = async (call: Call): Promise<CallResult> => {
    const wait = values['speech-seconds'] === undefined ? '' : `&speechSeconds=${values['speech-seconds']}`;
    const ws = new WebSocket(`ws://${base}/v1/subjects/${call.id}/verifications/stream?codec=PCMU${wait}`, { headers: auth('telephony') });
    const result = new Promise<{ at: number; message: { analysedSeconds: number | null; verification: { decision: string } } }>((resolve, reject) => {
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string };
        if (m.type === 'result') resolve({ at: performance.now(), message: m as never });
        if (m.type === 'error') reject(new Error(String(data)));
      });
      ws.on('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // Real time: frame k goes out 20·k ms after the first, whatever the timer's drift.
    const start = performance.now();
    let decided = false;
    void result.then(() => (decided = true), () => (decided = true));
    for (let k = 0; k * 160 < call.mulaw.length && !decided; k++) {
      const due = start + 20 * k - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      if (ws.readyState === ws.OPEN) ws.send(call.mulaw.subarray(k * 160, (k + 1) * 160));
    }
    if (ws.readyState === ws.OPEN && !decided) ws.send('{"type":"end"}');
    const r = await result;
    ws.close();
    const callSeconds = call.mulaw.length / 8000;
    // The same call, posted whole once it is over.
    const t0 = performance.now();
    const posted = await fetch(`http://${base}/v1/subjects/${call.id}/verifications`, { method: 'POST', headers: { ...auth('telephony'), 'Content-Type': 'audio/PCMU' }, body: new Uint8Array(call.mulaw) });
    await posted.json();
    const postSeconds = (performance.now() - t0) / 1000;
    return { decision: r.message.verification.decision, decidedAt: (r.at - start) / 1000, analysedSeconds: r.message.analysedSeconds, callSeconds, postSeconds };
  };

  const results: CallResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        const call = enrolled[next++ % enrolled.length]!;
        results.push(await one(call));
      }
    }),
  );

  const ms = (xs: number[]) => summarise(xs.map((x) => x * 1000));
  const analysed = results.filter((r): r is CallResult & { analysedSeconds: number } => r.analysedSeconds !== null);
  const report = {
    model: config.modelId,
    workers: config.workers,
    calls: results.length,
    concurrency,
    speechSeconds: values['speech-seconds'] === undefined ? "the policy's minimum" : Number(values['speech-seconds']),
    decisions: Object.fromEntries([...new Set(results.map((r) => r.decision))].map((d) => [d, results.filter((r) => r.decision === d).length])),
    streamed: {
      decidedAtMs: ms(results.map((r) => r.decidedAt)),
      analysedMs: ms(analysed.map((r) => r.analysedSeconds)),
      lagMs: ms(analysed.map((r) => r.decidedAt - r.analysedSeconds)),
    },
    postedWhenOver: {
      callMs: ms(results.map((r) => r.callSeconds)),
      answerMs: ms(results.map((r) => r.postSeconds)),
      decidedAtMs: ms(results.map((r) => r.callSeconds + r.postSeconds)),
    },
    loadavg: os.loadavg().map((x) => round(x, 2)),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await service.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
