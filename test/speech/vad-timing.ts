/**
 * CPU cost of Silero VAD per second of audio, sequential method against streams, for 3 s and
 * 20 s at 16 kHz and 8 kHz. Not a test (vitest only runs *.test.ts): a measurement to run by
 * hand, on a quiet machine if there is one:
 *
 *   npx tsx test/speech/vad-timing.ts [rounds]
 *
 * CPU time (process.cpuUsage: user + system, all threads, onnxruntime's included) rather than
 * wall time, because this machine is shared and loaded; the two methods alternate within each
 * round so that both see the same load, and the median round is reported. The signal is
 * test/model/speech-like.ts: the model's cost does not depend on what is said.
 */
import { SileroVad } from '../../src/speech/vad.js';
import { speechLike } from '../model/speech-like.js';

const rounds = Number(process.argv[2] ?? 5);
const methods = [
  ['sequential', await SileroVad.create({ batching: { mode: 'sequential' } })],
  ['streams', await SileroVad.create({ batching: { mode: 'streams' } })],
] as const;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
try {
  for (const sampleRate of [16000, 8000]) {
    for (const seconds of [3, 20]) {
      const audio = { sampleRate, samples: speechLike({ sampleRate, seconds }) };
      const callsPerRound = seconds < 10 ? 8 : 2;
      const perSecond = methods.map(() => [] as number[]);
      for (let round = 0; round < rounds; round++) {
        for (const [m, [, vad]] of methods.entries()) {
          await vad.speechProbabilities(audio); // first-call allocations out of the figure
          const before = process.cpuUsage();
          for (let c = 0; c < callsPerRound; c++) await vad.speechProbabilities(audio);
          const used = process.cpuUsage(before);
          perSecond[m]?.push((used.user + used.system) / 1000 / callsPerRound / seconds);
        }
      }
      const figures = methods.map(([name], m) => `${name} ${median(perSecond[m] ?? []).toFixed(2)}`);
      console.log(`${sampleRate} Hz ${String(seconds).padStart(2)} s: ms CPU per s of audio: ${figures.join(', ')}`);
    }
  }
} finally {
  await Promise.all(methods.map(([, vad]) => vad.release()));
}
