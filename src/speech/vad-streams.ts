/**
 * How one utterance is cut into B parallel streams for Silero VAD, so that the model runs once
 * per step on a [B, context + window] batch instead of once per window.
 *
 * Why: a call to the model costs a fixed ~0.2–0.3 ms (onnxruntime's graph with its nested `If`
 * nodes, plus the JS ↔ native hop) on top of ~0.05–0.08 ms per window, so one window per call is
 * mostly overhead. The LSTM state makes the windows of one stream strictly sequential, so the
 * only way to batch one utterance is to run several stretches of it side by side.
 *
 * Layout (all in windows): stream b runs `steps` windows starting at b·stride, stride =
 * steps − warmUp. Stream 0 starts at the beginning with a zero state, exactly like the
 * sequential method, and keeps all its outputs. Stream b ≥ 1 starts `warmUp` windows before the
 * stretch it is responsible for, also from a zero state, and discards those first outputs:
 *
 *   stream 0: [0 ............... steps)
 *   stream 1:          [warm-up | kept ............)
 *   stream 2:                            [warm-up | kept ......)
 *
 * The kept stretches tile [0, windows) exactly once. Windows past the end (last stream only) are
 * fed zeros and their outputs ignored.
 *
 * The warm-up does not make the probabilities equal to the sequential ones. Silero v5's LSTM has
 * cells that integrate without bound (|c| past 200 after 20 s of speech) and its h state still
 * differs by ~0.15 after 13 s, so a stream started later never reaches the sequential state, and
 * no generic starting state fixes that (a mean speech state halves the differences, no more).
 * Measured on 44 concatenations of ~20 s of so762 read speech (1 s warm-up, ≥ 2 s streams):
 * windows after stream 0 differ from the sequential probabilities by 0.01–0.13 on average, up to
 * 0.9 in single windows; the regions differ in count in 15 of 44 (16 kHz) and 17 of 44 (8 kHz),
 * net speech by 1.7% and 2.7%. For scale, the sequential method itself on the same audio delayed
 * by 100 samples (6 ms): 13 and 9 of 44, 1.1% and 1.6%. Hence opt-in (SileroVad `batching`).
 */
import { VoicePassportError } from '../errors.js';

export interface VadStreamOptions {
  /** Windows each stream b ≥ 1 runs before its kept stretch (outputs discarded). */
  warmUpWindows: number;
  /** Fewest windows a stream must keep; audio shorter than 2× this stays sequential. */
  minStreamWindows: number;
  /** At most this many streams (rows of the batch). */
  maxStreams: number;
}

export interface VadStreamPlan {
  /** B: rows of the batch. 1 means the sequential method. */
  streams: number;
  /** Calls to the model. */
  steps: number;
  /** Windows discarded at the start of streams 1..B−1 (0 when sequential). */
  warmUp: number;
  /** Window where stream b starts (its warm-up included): b·stride. */
  stride: number;
}

export function sequentialPlan(windows: number): VadStreamPlan {
  return { streams: 1, steps: windows, warmUp: 0, stride: windows };
}

/**
 * The plan with as many streams as the options allow: floor(windows / minStreamWindows), at
 * most maxStreams, so each stream keeps about minStreamWindows or more.
 */
export function planVadStreams(windows: number, options: VadStreamOptions): VadStreamPlan {
  const { warmUpWindows, minStreamWindows, maxStreams } = options;
  const counts = { windows, warmUpWindows, minStreamWindows, maxStreams };
  const bad = Object.entries(counts).filter(([key, v]) => !(Number.isInteger(v) && v >= (key === 'windows' || key === 'warmUpWindows' ? 0 : 1)));
  if (bad.length > 0) {
    // A caller bug: SileroVad validates its options in seconds before they get here.
    throw new VoicePassportError('internal', `Invalid VAD stream plan input: ${bad.map(([k, v]) => `${k} = ${v}`).join(', ')}`);
  }
  const most = Math.max(1, Math.min(maxStreams, Math.floor(windows / minStreamWindows)));
  if (warmUpWindows >= windows) return sequentialPlan(windows);
  for (let streams = most; streams > 1; streams--) {
    // steps·B − (B−1)·warmUp ≥ windows: the kept stretches must reach the last window.
    const steps = Math.ceil((windows + (streams - 1) * warmUpWindows) / streams);
    const stride = steps - warmUpWindows;
    // With the rounding above, the last stream might keep nothing; use one stream fewer then.
    if ((streams - 1) * stride + warmUpWindows < windows) return { streams, steps, warmUp: warmUpWindows, stride };
  }
  return sequentialPlan(windows);
}

/** Whether stream b's output at step t is kept, and for which window (−1 when not). */
export function keptWindow(plan: VadStreamPlan, windows: number, stream: number, step: number): number {
  const window = stream * plan.stride + step;
  if (window >= windows) return -1;
  if (stream > 0 && step < plan.warmUp) return -1;
  return window;
}
