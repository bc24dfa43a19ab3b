/**
 * Section 1: the Kaldi fbank (src/features/fbank.ts) on 3 s of 16 kHz audio with WeSpeaker's
 * options (80 bins, 25/10 ms, hamming, snip_edges, int16 sample scale). Warm-up runs first so
 * the JIT has compiled the hot loops and the FFT/mel tables are cached; then every run is timed.
 */
import { computeFbank } from '../../src/features/fbank.js';
import { torchaudioFbankDefaults, type FbankOptions } from '../../src/features/options.js';
import { processCpuMs, round, summarise, type Summary } from './stats.js';

/** WeSpeaker's compute_fbank (models/conventions/wespeaker.json). */
export const wespeakerFbank: FbankOptions = {
  ...torchaudioFbankDefaults,
  numMelBins: 80,
  frameLength: 25,
  frameShift: 10,
  dither: 0,
  windowType: 'hamming',
  snipEdges: true,
};

export interface FbankResult {
  options: string;
  frames: number;
  bins: number;
  warmupRuns: number;
  time: Summary;
  /** Process CPU time per run (single-threaded here, so close to the unloaded wall time). */
  cpuMsPerRun: number;
}

export function measureFbank(samples: Float32Array, sampleRate: number, opts: { warmupRuns: number; runs: number }): FbankResult {
  let frames = 0;
  let bins = 0;
  for (let i = 0; i < opts.warmupRuns; i++) computeFbank(samples, sampleRate, wespeakerFbank, 'int16');
  const times: number[] = [];
  const cpu0 = processCpuMs();
  for (let i = 0; i < opts.runs; i++) {
    const t0 = performance.now();
    const m = computeFbank(samples, sampleRate, wespeakerFbank, 'int16');
    times.push(performance.now() - t0);
    frames = m.frames;
    bins = m.bins;
  }
  const cpuMsPerRun = round((processCpuMs() - cpu0) / opts.runs);
  return {
    options: 'WeSpeaker: 80 bins, 25/10 ms, hamming, snip_edges, dither 0, int16 scale',
    frames,
    bins,
    warmupRuns: opts.warmupRuns,
    time: summarise(times),
    cpuMsPerRun,
  };
}
