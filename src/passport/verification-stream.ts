/**
 * The caller's speech as it arrives: a telephony platform streams the call's audio, and the
 * verification is decided as soon as the audio holds the net speech the policy asks for, instead
 * of after the caller has finished speaking and the platform has uploaded a recording.
 *
 * One stream is one attempt: the same checks, decision, history row and audit entry as a request
 * body (verifyCaller in verification.ts); only the source of the analysis differs.
 *
 * - **Nothing before the checks** (GDPR Art. 9(2)(a)): bytes that arrive before `analysis()` is
 *   called are held, undecoded, and never analysed when the checks decide without audio.
 * - **Raw audio in memory only** (Art. 5(1)(c)), at most VP_MAX_AUDIO_SECONDS of it, overwritten
 *   when the stream is done (`wipe`).
 * - **One look at the score.** While the stream grows it is analysed about once a second of new
 *   audio (once a tenth more, beyond 10 s), but only to measure its net speech; the first analysis that holds enough speech (or the
 *   last one, when the audio ends first) is the one the caller is scored on, once. Scoring every
 *   analysis and accepting on the first score over the threshold would give an impostor several
 *   tries per attempt and raise the false-match rate above the one the policy was calibrated for.
 */
import { VoicePassportError } from '../errors.js';
import { analyseOrNoSpeech, type AnalysisOrNoSpeech, type Embedder } from './embedder.js';

/** A stream's raw audio: headerless, as telephony carries it (RFC 3551 names). */
export interface StreamAudioFormat {
  /** The content type the engine decodes the bytes as, e.g. `audio/PCMU`. */
  contentType: string;
  /** Bytes per second of audio. */
  bytesPerSecond: number;
  /** Bytes per sample: the analysed audio is cut to a whole number of samples. */
  bytesPerSample: number;
}

export type StreamCodec = 'PCMU' | 'PCMA' | 'L16';

/** G.711 µ-law and A-law are 8 kHz, a byte a sample; L16 is 16-bit big-endian PCM at `rate`. */
export function streamAudioFormat(codec: StreamCodec, rate = 8000): StreamAudioFormat {
  if (codec === 'L16') return { contentType: `audio/L16;rate=${rate}`, bytesPerSecond: 2 * rate, bytesPerSample: 2 };
  return { contentType: `audio/${codec}`, bytesPerSecond: 8000, bytesPerSample: 1 };
}

export interface StreamProgress {
  /** Seconds of audio received so far (capped at the stream's maximum). */
  receivedSeconds: number;
  /** Net speech in the audio the last analysis covered. */
  netSpeechSeconds: number;
  /** Net speech the decision waits for. */
  requiredSpeechSeconds: number;
}

export interface SpeechStreamOptions {
  embedder: Embedder;
  format: StreamAudioFormat;
  /** VP_MAX_AUDIO_SECONDS: audio beyond it is not kept; reaching it ends the stream. */
  maxAudioSeconds: number;
  /** Analyse again after this many seconds of new audio (default 1). */
  probeEverySeconds?: number;
  /** Told after each analysis that did not yet hold enough speech. */
  onProgress?: (p: StreamProgress) => void;
}

const roundTenth = (s: number) => Math.round(s * 10) / 10;

export class SpeechStream {
  private buffer = new Uint8Array(0);
  private length = 0;
  /** Bytes taken over the stream's life (the buffer's length, but kept after `wipe`). */
  private taken = 0;
  private readonly maxBytes: number;
  private readonly probeBytes: number;
  /** Set once the audio can grow no more: the sender said so, or the maximum was reached. */
  private ended = false;
  private required: number | null = null;
  /** Asked before each analysis; once it says no, nothing more is analysed (`analysis` answers null). */
  private mayAnalyse: () => boolean = () => true;
  private probing = false;
  private probes = 0;
  /** The latest analysis and how many bytes it covered. */
  private last: { bytes: number; analysis: AnalysisOrNoSpeech } | null = null;
  /** How many bytes the latest analysis the engine turned away (overloaded) would have covered. */
  private skippedAt = 0;
  private settle: { resolve: (a: AnalysisOrNoSpeech | null) => void; reject: (e: unknown) => void } | null = null;
  private settled = false;

  constructor(private readonly opts: SpeechStreamOptions) {
    const { format } = opts;
    const whole = (bytes: number) => Math.max(format.bytesPerSample, bytes - (bytes % format.bytesPerSample));
    this.maxBytes = whole(Math.floor(opts.maxAudioSeconds * format.bytesPerSecond));
    this.probeBytes = whole(Math.round((opts.probeEverySeconds ?? 1) * format.bytesPerSecond));
  }

  /** Analyses of the audio begun so far (each a pass of the caller's voice through the model). */
  get analyses(): number {
    return this.probes;
  }

  /** Seconds of audio taken (still counted once wiped). */
  get receivedSeconds(): number {
    return this.taken / this.opts.format.bytesPerSecond;
  }

  /** Appends audio; what goes beyond the maximum is dropped and ends the stream. */
  push(chunk: Uint8Array): void {
    if (this.ended || chunk.byteLength === 0) return;
    const take = Math.min(chunk.byteLength, this.maxBytes - this.length);
    this.reserve(this.length + take);
    this.buffer.set(chunk.subarray(0, take), this.length);
    this.length += take;
    this.taken += take;
    if (this.length >= this.maxBytes) this.ended = true;
    this.step();
  }

  /** The sender has no more audio: decide on what there is. */
  end(): void {
    this.ended = true;
    this.step();
  }

  /**
   * The analysis to score: the first that holds `requiredSpeechSeconds` of net speech, or the one of
   * all the audio once the stream ends with less. Rejects with the engine's errors (overloaded,
   * audio-*) and with audio-empty when the stream ends without a byte. `mayAnalyse` is asked before
   * each analysis (the consent still holds): once it says no, the audio is wiped and the answer is
   * null. Call once.
   */
  analysis(requiredSpeechSeconds: number): Promise<AnalysisOrNoSpeech>;
  analysis(requiredSpeechSeconds: number, mayAnalyse: () => boolean): Promise<AnalysisOrNoSpeech | null>;
  analysis(requiredSpeechSeconds: number, mayAnalyse: () => boolean = () => true): Promise<AnalysisOrNoSpeech | null> {
    if (this.required !== null) throw new Error('SpeechStream.analysis may be called once');
    this.required = requiredSpeechSeconds;
    this.mayAnalyse = mayAnalyse;
    const p = new Promise<AnalysisOrNoSpeech | null>((resolve, reject) => (this.settle = { resolve, reject }));
    this.step();
    return p;
  }

  /**
   * The sender went away before the decision: the audio is wiped and a pending `analysis()` rejects,
   * so the attempt is neither scored nor recorded.
   */
  abandon(): void {
    this.wipe();
    this.fail(new VoicePassportError('validation-failed', 'The stream was closed before a decision.'));
  }

  /** Overwrites the audio held and takes no more (the stream is over, or abandoned). */
  wipe(): void {
    this.buffer.fill(0);
    this.buffer = new Uint8Array(0);
    this.length = 0;
    this.ended = true;
  }

  private reserve(bytes: number): void {
    if (bytes <= this.buffer.byteLength) return;
    const grown = new Uint8Array(Math.min(this.maxBytes, Math.max(bytes, 2 * this.buffer.byteLength, 4096)));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer.fill(0); // the old copy of the audio goes as well
    this.buffer = grown;
  }

  /** The bytes held, cut to whole samples (a message may end mid-sample; the next completes it). */
  private get wholeSamples(): number {
    return this.length - (this.length % this.opts.format.bytesPerSample);
  }

  /** Starts the next analysis when one is due; settles when the stream holds its answer. */
  private step(): void {
    if (this.required === null || this.settled || this.probing) return;
    const required = this.required;
    const last = this.last;
    const bytes = this.wholeSamples;
    if (last !== null && last.analysis.embedding !== null && last.analysis.netSpeechSeconds >= required) return this.finish(last.analysis);
    if (this.ended) {
      if (last !== null && last.bytes === bytes) return this.finish(last.analysis);
      if (bytes === 0) return this.fail(new VoicePassportError('audio-empty', 'The stream ended without audio; send the caller audio as binary messages.'));
      this.probe(bytes);
      return;
    }
    // Not worth analysing before the audio could hold the speech asked for. After that, again once
    // probeBytes (a second) of new audio came in, or a tenth more audio once that is longer: each
    // analysis covers the whole stream, so a long stream with little speech would otherwise cost
    // analyses quadratic in its length (33 instead of 119 for 120 s of audio without enough speech).
    const sinceLast = bytes - Math.max(last?.bytes ?? 0, this.skippedAt);
    if (bytes >= required * this.opts.format.bytesPerSecond && sinceLast >= Math.max(this.probeBytes, 0.1 * bytes)) this.probe(bytes);
  }

  private probe(bytes: number): void {
    // Asked before each analysis, not at each message (50 a second): an analysis that already holds
    // enough is checked again by the caller, as it decides.
    if (!this.mayAnalyse()) {
      this.wipe();
      this.finish(null);
      return;
    }
    this.probing = true;
    this.probes++;
    // The engine copies a partial view before handing it to a worker, so the buffer may keep growing.
    analyseOrNoSpeech(this.opts.embedder, { bytes: this.buffer.subarray(0, bytes), contentType: this.opts.format.contentType }).then(
      (analysis) => {
        this.probing = false;
        if (this.settled) return;
        this.last = { bytes, analysis };
        const enough = analysis.embedding !== null && analysis.netSpeechSeconds >= (this.required ?? Infinity);
        if (!enough && !(this.ended && bytes === this.wholeSamples)) {
          this.opts.onProgress?.({
            receivedSeconds: roundTenth(bytes / this.opts.format.bytesPerSecond),
            netSpeechSeconds: roundTenth(analysis.netSpeechSeconds),
            requiredSpeechSeconds: this.required ?? 0,
          });
        }
        this.step();
      },
      (e: unknown) => {
        this.probing = false;
        // A full queue turning away an analysis while the caller still speaks costs only that
        // progress report: the next is tried after another second of audio, as usual, rather than
        // ending the call (the analysis of the ended stream still fails: nothing more will come).
        if (e instanceof VoicePassportError && e.code === 'overloaded' && !this.ended) {
          this.skippedAt = bytes;
          this.step();
          return;
        }
        this.fail(e);
      },
    );
  }

  private finish(a: AnalysisOrNoSpeech | null): void {
    this.settled = true;
    this.settle?.resolve(a);
  }

  private fail(e: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settle?.reject(e);
  }
}
