/**
 * The embedding engine: a pool of worker threads (src/model/worker.ts), each with its own
 * onnxruntime session, in front of a bounded queue. The HTTP event loop only posts messages and
 * awaits answers; decoding, VAD and inference never run on it.
 *
 * Capacity rules (issue 3, "behaviour under stress"): when every worker is busy and `maxQueue`
 * requests already wait, the next one is refused at once with `overloaded` (→ 503 + Retry-After)
 * rather than queued without bound, which would only turn overload into timeouts for everyone.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VoicePassportError, type ErrorShape } from '../errors.js';
import type { AnalyseOptions, AudioAnalysis } from './analyse.js';
import { isSpeechThreshold } from '../speech/regions.js';
import { SPEECH_CONTEXT_MS_RULE, loadManifest, speechContextMsSchema, type LoadedManifest } from './manifest.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker.js';

export type { AnalyseOptions, AudioAnalysis } from './analyse.js';

export interface EngineOptions {
  modelsDir: string;
  modelId: string;
  /** Worker threads (default: os.availableParallelism()). */
  workers?: number;
  /** onnxruntime intra-op threads per session (default 1: parallelism comes from workers). */
  intraOpNumThreads?: number;
  /** Requests that may wait for a worker before `overloaded` (default 32). */
  maxQueue?: number;
  /** Longest audio accepted, in seconds (default 120). */
  maxAudioSeconds?: number;
  /** A task running longer than this is failed and its worker replaced (default 60 000 ms). */
  taskTimeoutMs?: number;
  /** Receives worker crashes and replacements (e.g. a pino logger's warn). */
  onWorkerEvent?: (event: WorkerEvent) => void;
  /** Lets tests crash a worker on purpose (crashWorkerForTest). Never set by the service. */
  testHooks?: boolean;
}

export type WorkerEvent =
  | { type: 'crashed'; exitCode: number; hadTask: boolean }
  | { type: 'timed-out'; timeoutMs: number }
  | { type: 'replaced' }
  | { type: 'replacement-failed'; error: ErrorShape; retryInMs: number };

/** The options (see AnalyseOptions) are for `voice-passport eval` only; the service never sets them. */
export interface AnalyseInput extends AnalyseOptions {
  bytes: Uint8Array;
  contentType: string;
}

export interface EngineStats {
  /** Live workers. */
  workers: number;
  /** Workers analysing a request now. */
  busy: number;
  /** Requests waiting for a worker. */
  queued: number;
  /** Requests answered with an analysis. */
  completed: number;
  /** Requests answered with an error (bad audio included). */
  failed: number;
  /** Workers that died or hung and were replaced. */
  crashed: number;
  /** Smoothed time one analysis takes in a worker, in ms (null before the first). */
  meanTaskMs: number | null;
}

interface Task {
  id: number;
  input: AnalyseInput;
  /** True when `input.bytes` is the engine's own copy (made as the task was queued): transferred, not cloned. */
  ownsBytes: boolean;
  resolve: (a: AudioAnalysis) => void;
  reject: (e: VoicePassportError) => void;
  startedAt: number;
}

interface Slot {
  worker: Worker;
  task: Task | null;
  timer: NodeJS.Timeout | null;
  /** Set once we decided this worker is finished (closing, crashed or timed out). */
  retired: boolean;
  /** Set when the thread has ended. */
  exited: boolean;
}

/** Weight of the newest task in the running mean: recent load matters more than old. */
const TASK_TIME_SMOOTHING = 0.2;
/** Used for Retry-After before any task has finished. */
const ASSUMED_TASK_MS = 1000;
const CLOSE_GRACE_MS = 2000;
/** A replacement worker that failed to start is tried again after 1 s, 2 s, 4 s … at most this long apart. */
const MAX_RESPAWN_DELAY_MS = 30_000;

export class EmbeddingEngine {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextTaskId = 1;
  private completed = 0;
  private failed = 0;
  private crashed = 0;
  private meanTaskMs: number | null = null;
  /** Replacement workers still loading: the pool is not empty while one is on its way. */
  private replacing = 0;
  /**
   * Of those, the ones retrying after a failed start. They do not make the engine ready: with no
   * worker left, /readyz would otherwise flip to ready for each attempt (1 s, 2 s … 30 s apart)
   * and draw traffic that the attempt's failure then rejects.
   */
  private retrying = 0;
  /** Settles when the replacements under way have joined the pool or failed (close() waits). */
  private readonly replacements = new Set<Promise<void>>();
  private closing: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    readonly manifest: LoadedManifest,
    private readonly init: WorkerInit,
    private readonly limits: { maxQueue: number; maxAudioSeconds: number; taskTimeoutMs: number },
    private readonly onWorkerEvent: (event: WorkerEvent) => void,
  ) {}

  /**
   * Loads and checks the manifest (sha256 included) in this thread, so a wrong model stops the
   * start before any thread exists, then starts the workers and waits until each has its model.
   */
  static async start(opts: EngineOptions): Promise<EmbeddingEngine> {
    const workers = opts.workers ?? os.availableParallelism();
    const intraOpNumThreads = opts.intraOpNumThreads ?? 1;
    const maxQueue = opts.maxQueue ?? 32;
    const maxAudioSeconds = opts.maxAudioSeconds ?? 120;
    const taskTimeoutMs = opts.taskTimeoutMs ?? 60_000;
    const problems: string[] = [];
    if (!Number.isInteger(workers) || workers < 1) problems.push(`workers must be an integer ≥ 1, got ${workers}`);
    if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 1) {
      problems.push(`intraOpNumThreads must be an integer ≥ 1, got ${intraOpNumThreads}`);
    }
    if (!Number.isInteger(maxQueue) || maxQueue < 0) problems.push(`maxQueue must be an integer ≥ 0, got ${maxQueue}`);
    if (!(maxAudioSeconds > 0)) problems.push(`maxAudioSeconds must be > 0, got ${maxAudioSeconds}`);
    if (!(taskTimeoutMs > 0)) problems.push(`taskTimeoutMs must be > 0, got ${taskTimeoutMs}`);
    if (problems.length > 0) {
      throw new VoicePassportError('config-invalid', `invalid embedding engine options: ${problems.join('; ')}`);
    }

    const manifest = await loadManifest(opts.modelsDir, opts.modelId);
    // Workers embed; scoring (and so the AS-norm cohorts) stays in this thread.
    const { cohorts: _cohorts, ...workerManifest } = manifest;
    const engine = new EmbeddingEngine(
      manifest,
      { manifest: workerManifest, modelBytes: await readVerifiedModel(manifest), intraOpNumThreads, testHooks: opts.testHooks ?? false },
      { maxQueue, maxAudioSeconds, taskTimeoutMs },
      opts.onWorkerEvent ?? (() => {}),
    );
    const started = await Promise.allSettled(Array.from({ length: workers }, () => engine.spawnWorker()));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure !== undefined) {
      // Closing, so that the replacement of a worker that died while the others loaded stops
      // itself instead of joining an engine nobody holds (its thread would keep the process alive).
      engine.closing = Promise.resolve();
      // Retired first, so their exits are not taken for crashes to be replaced.
      await Promise.all(
        started.flatMap((s) => {
          if (s.status !== 'fulfilled') return [];
          s.value.retired = true;
          return [s.value.worker.terminate()];
        }),
      );
      await Promise.allSettled([...engine.replacements]);
      throw failure.reason;
    }
    // A worker that died between its `ready` and now is already being replaced (retire): not pooled.
    for (const s of started) if (s.status === 'fulfilled' && !s.value.retired) engine.slots.push(s.value);
    return engine;
  }

  get modelId(): string {
    return this.manifest.id;
  }

  /** True while the engine accepts work (for /readyz). */
  get ready(): boolean {
    return this.closing === null && this.slots.length + this.replacing - this.retrying > 0;
  }

  /**
   * Decodes, checks and embeds one request's audio in a worker. Rejects with the decoder's
   * audio-* errors, `insufficient-speech`, `overloaded` (queue full, with retryAfterSeconds),
   * `not-ready` (closing) or `internal`.
   */
  analyse(input: AnalyseInput): Promise<AudioAnalysis> {
    if (!this.ready) {
      return Promise.reject(new VoicePassportError('not-ready', 'the embedding engine is not running'));
    }
    const { maxSpeechSeconds, vadFallback, embed, speechContextMs, vadThreshold } = input;
    if (maxSpeechSeconds !== undefined && !(maxSpeechSeconds > 0 && Number.isFinite(maxSpeechSeconds))) {
      return Promise.reject(new VoicePassportError('validation-failed', `maxSpeechSeconds must be a positive number of seconds, got ${maxSpeechSeconds}`));
    }
    if (vadFallback !== undefined && vadFallback !== 'reject' && vadFallback !== 'whole') {
      return Promise.reject(new VoicePassportError('validation-failed', `vadFallback must be "reject" or "whole", got ${String(vadFallback)}`));
    }
    if (embed !== undefined && embed !== 'speech' && embed !== 'whole') {
      return Promise.reject(new VoicePassportError('validation-failed', `embed must be "speech" or "whole", got ${String(embed)}`));
    }
    if (speechContextMs !== undefined && !speechContextMsSchema.safeParse(speechContextMs).success) {
      return Promise.reject(new VoicePassportError('validation-failed', `speechContextMs must be ${SPEECH_CONTEXT_MS_RULE}, got ${speechContextMs}`));
    }
    if (vadThreshold !== undefined && !isSpeechThreshold(vadThreshold)) {
      return Promise.reject(new VoicePassportError('validation-failed', `vadThreshold must be a probability in (0, 1], got ${vadThreshold}`));
    }
    const idle = this.slots.find((s) => s.task === null && !s.retired);
    if (idle === undefined && this.queue.length >= this.limits.maxQueue) {
      return Promise.reject(
        new VoicePassportError(
          'overloaded',
          `all ${this.slots.length} embedding workers are busy and ${this.queue.length} requests are waiting; retry later`,
          { queued: this.queue.length, workers: this.slots.length },
          this.retryAfterSeconds(),
        ),
      );
    }
    const promise = new Promise<AudioAnalysis>((resolve, reject) => {
      const task: Task = { id: this.nextTaskId++, input, ownsBytes: false, resolve, reject, startedAt: 0 };
      if (idle !== undefined) this.dispatch(idle, task);
      else {
        // The audio as it is now: a caller may reuse or wipe its buffer while the task waits (a
        // stream grows and zeroes its buffer), and the worker must analyse what was asked for.
        task.input = { ...input, bytes: copyOf(input.bytes) };
        task.ownsBytes = true;
        this.queue.push(task);
      }
    });
    // Tracked so close() can wait for in-flight work; the caller still gets the rejection.
    const settled = promise.then(
      () => this.completed++,
      () => this.failed++,
    );
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
    return promise;
  }

  stats(): EngineStats {
    return {
      workers: this.slots.length,
      busy: this.slots.filter((s) => s.task !== null).length,
      queued: this.queue.length,
      completed: this.completed,
      failed: this.failed,
      crashed: this.crashed,
      meanTaskMs: this.meanTaskMs,
    };
  }

  /**
   * Graceful stop: refuse new work, fail what still waits in the queue with `not-ready`, let the
   * tasks already in a worker finish, then release every session and end the threads.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutDown();
    return this.closing;
  }

  /** Test hook: makes one worker (a busy one if any) exit abruptly, as a native crash would. */
  crashWorkerForTest(): void {
    if (!this.init.testHooks) throw new Error('crashWorkerForTest needs EngineOptions.testHooks');
    const slot = this.slots.find((s) => s.task !== null) ?? this.slots[0];
    slot?.worker.postMessage({ type: 'crash' } satisfies ToWorker);
  }

  /** Seconds until a worker is likely free: the work ahead of a new request, over the workers. */
  private retryAfterSeconds(): number {
    const perTask = this.meanTaskMs ?? ASSUMED_TASK_MS;
    const ahead = this.queue.length + this.slots.filter((s) => s.task !== null).length;
    return Math.max(1, Math.ceil((ahead * perTask) / Math.max(1, this.slots.length) / 1000));
  }

  private async shutDown(): Promise<void> {
    for (const task of this.queue.splice(0)) {
      task.reject(new VoicePassportError('not-ready', 'the embedding engine is shutting down'));
    }
    await Promise.allSettled([...this.inFlight]);
    await Promise.all(this.slots.splice(0).map((slot) => this.stopWorker(slot)));
    // A replacement that was still loading stops itself when it sees `closing`.
    await Promise.allSettled([...this.replacements]);
  }

  private async stopWorker(slot: Slot): Promise<void> {
    slot.retired = true;
    if (slot.exited) return;
    const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    slot.worker.postMessage({ type: 'close' } satisfies ToWorker);
    const grace = new Promise<'late'>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS, 'late').unref());
    if ((await Promise.race([exited, grace])) === 'late') await slot.worker.terminate();
  }

  private dispatch(slot: Slot, task: Task): void {
    slot.task = task;
    task.startedAt = performance.now();
    slot.timer = setTimeout(() => this.onTimeout(slot), this.limits.taskTimeoutMs);
    // Structured clone copies a view's whole ArrayBuffer, which for a slice of Node's Buffer
    // pool or of a larger body is more than the audio. So a partial view is cut out first and
    // that private copy transferred (as is the copy made when the task was queued); a whole buffer
    // of the caller's is cloned, never transferred, because it is still the caller's.
    const { bytes } = task.input;
    const whole = !task.ownsBytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const own = whole || task.ownsBytes ? bytes : copyOf(bytes);
    const msg: ToWorker = {
      type: 'analyse',
      id: task.id,
      bytes: own,
      contentType: task.input.contentType,
      maxSeconds: this.limits.maxAudioSeconds,
      options: {
        vadFallback: task.input.vadFallback,
        maxSpeechSeconds: task.input.maxSpeechSeconds,
        embed: task.input.embed,
        speechContextMs: task.input.speechContextMs,
        vadThreshold: task.input.vadThreshold,
      },
    };
    slot.worker.postMessage(msg, whole ? [] : [own.buffer as ArrayBuffer]);
  }

  private finish(slot: Slot): Task | null {
    const task = slot.task;
    slot.task = null;
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    return task;
  }

  private next(slot: Slot): void {
    if (slot.retired) return;
    const task = this.queue.shift();
    if (task !== undefined) this.dispatch(slot, task);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (msg.type !== 'result' && msg.type !== 'error') return;
    if (slot.task === null || slot.task.id !== msg.id) return; // a late answer to a timed-out task
    const task = this.finish(slot) as Task;
    const ms = performance.now() - task.startedAt;
    this.meanTaskMs = this.meanTaskMs === null ? ms : this.meanTaskMs + TASK_TIME_SMOOTHING * (ms - this.meanTaskMs);
    if (msg.type === 'result') task.resolve(msg.analysis);
    else task.reject(VoicePassportError.fromShape(msg.error));
    this.next(slot);
  }

  private onTimeout(slot: Slot): void {
    const task = this.finish(slot);
    this.onWorkerEvent({ type: 'timed-out', timeoutMs: this.limits.taskTimeoutMs });
    task?.reject(
      new VoicePassportError('internal', `the audio analysis did not finish within ${this.limits.taskTimeoutMs} ms`),
    );
    // A worker stuck in native code cannot be interrupted; replace it.
    this.retire(slot);
    void slot.worker.terminate();
  }

  private onExit(slot: Slot, exitCode: number): void {
    if (slot.retired) return; // closing, or already replaced after a timeout
    const task = this.finish(slot);
    this.onWorkerEvent({ type: 'crashed', exitCode, hadTask: task !== null });
    task?.reject(new VoicePassportError('internal', 'the audio analysis worker stopped unexpectedly; please retry'));
    this.retire(slot);
  }

  /** Takes a dead or stuck worker out of the pool and starts a replacement. */
  private retire(slot: Slot): void {
    slot.retired = true;
    this.crashed++;
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    this.replace(0);
  }

  /**
   * Starts a replacement worker; one that fails to start is tried again after a growing delay
   * (`failures` so far), so a passing cause (memory) does not shrink the pool for good. The model
   * bytes were checked once, at start: a replacement runs exactly the model the engine started with.
   */
  private replace(failures: number): void {
    if (this.closing !== null) return;
    const retry = failures > 0;
    this.replacing++;
    if (retry) this.retrying++;
    const replacement = this.spawnWorker().then(
      async (fresh) => {
        this.replacing--;
        if (retry) this.retrying--;
        if (this.closing !== null) {
          await this.stopWorker(fresh);
          return;
        }
        this.slots.push(fresh);
        this.onWorkerEvent({ type: 'replaced' });
        this.next(fresh);
      },
      (e: unknown) => {
        this.replacing--;
        if (retry) this.retrying--;
        const error = e instanceof VoicePassportError ? e : new VoicePassportError('internal', 'worker failed to start');
        const retryInMs = Math.min(MAX_RESPAWN_DELAY_MS, 1000 * 2 ** failures);
        this.onWorkerEvent({ type: 'replacement-failed', error: error.toShape(), retryInMs });
        if (this.slots.length + this.replacing === 0) {
          // Nothing left to run the queue: fail it now rather than let callers wait forever.
          for (const task of this.queue.splice(0)) {
            task.reject(new VoicePassportError('not-ready', 'no embedding worker is running'));
          }
        }
        setTimeout(() => this.replace(failures + 1), retryInMs).unref();
      },
    );
    this.replacements.add(replacement);
    void replacement.finally(() => this.replacements.delete(replacement));
  }

  /** Starts one worker and resolves once its model and VAD are loaded. */
  private spawnWorker(): Promise<Slot> {
    const worker = import.meta.url.endsWith('.ts')
      ? new Worker(tsxWorkerBootstrap(new URL('./worker.ts', import.meta.url)), { eval: true, workerData: this.init })
      : new Worker(new URL('./worker.js', import.meta.url), { workerData: this.init });
    const slot: Slot = { worker, task: null, timer: null, retired: false, exited: false };
    return new Promise<Slot>((resolve, reject) => {
      let started = false;
      worker.on('message', (msg: FromWorker) => {
        if (!started) {
          if (msg.type === 'ready') {
            started = true;
            resolve(slot);
          } else if (msg.type === 'init-failed') {
            started = true;
            slot.retired = true;
            reject(VoicePassportError.fromShape(msg.error));
          }
          return;
        }
        this.onMessage(slot, msg);
      });
      // 'error' (an uncaught exception in the worker) is always followed by 'exit'. Before the
      // worker is ready it is a start-up failure the operator must see; afterwards the task
      // error stays generic (the text could quote request data).
      let startupError = '';
      worker.on('error', (e) => {
        if (!started) startupError = `: ${e.message}`;
      });
      worker.on('exit', (code) => {
        slot.exited = true;
        if (!started) {
          started = true;
          slot.retired = true;
          reject(new VoicePassportError('model-invalid', `the embedding worker exited with code ${code} while loading the model${startupError}`));
          return;
        }
        this.onExit(slot, code);
      });
    });
  }
}

/**
 * A private copy of the bytes in an ArrayBuffer of their own. Not `bytes.slice()`: on a Node Buffer
 * (what express.raw gives) slice() is a view of the same memory, so the "copy" would change with the
 * caller's buffer, and transferring its ArrayBuffer would detach the caller's (or Node's pool).
 */
function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/**
 * The model file's bytes, read once and checked against the manifest's sha256 (loadManifest checked
 * the file, but a worker started later would read it again: a file replaced while the service runs
 * must not be loaded under the old id). Every worker, replacements included, loads these bytes.
 */
async function readVerifiedModel(manifest: LoadedManifest): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(manifest.modelPath);
  } catch {
    throw new VoicePassportError('model-invalid', `model file ${manifest.modelPath} for "${manifest.id}" cannot be read`);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== manifest.sha256) {
    throw new VoicePassportError('model-invalid', `model file ${manifest.modelPath} has sha256 ${actual}, but manifest "${manifest.id}" expects ${manifest.sha256}; refusing to start`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Running from TypeScript sources (tsx, vitest), the worker is TypeScript too. On Node 20 a
 * worker ignores `--import tsx` in its execArgv (module hooks are not set up per worker), so a
 * tiny eval'd bootstrap registers tsx's ESM hooks through its API, then imports the worker.
 * tsx is a devDependency: compiled builds (dist/) start ./worker.js directly and never get here.
 */
function tsxWorkerBootstrap(workerUrl: URL): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = require(pkgPath) as { exports: Record<string, { import?: { default?: string } }> };
  const entry = pkg.exports['./esm/api']?.import?.default;
  if (entry === undefined) throw new Error(`tsx at ${pkgPath} has no ESM API entry (./esm/api)`);
  const api = pathToFileURL(path.join(path.dirname(pkgPath), entry)).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); });`;
}
