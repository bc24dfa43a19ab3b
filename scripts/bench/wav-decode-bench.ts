/**
 * How long the WAV decoder takes for bodies at the size limit (VP_MAX_AUDIO_SECONDS, 120 s by
 * default): the time a worker spends on a body before any speech is looked at.
 *
 *   node --import tsx scripts/bench/wav-decode-bench.ts [--seconds 120] [--runs 5]
 *
 * Prints one JSON line per layout: its size and the median decode time over the runs (after one
 * warm-up). The samples are synthetic: decoding time depends on the layout, not the content.
 */
import { parseArgs } from 'node:util';
import { decodeAudio } from '../../src/audio/decode.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '120' }, runs: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
const runs = Number(values.runs);

/** A canonical 44-byte-header PCM WAV with `frames` frames of a deterministic pattern. */
function wav(sampleRate: number, channels: number, bits: 8 | 16 | 24, frames: number): Uint8Array {
  const bytes = bits / 8;
  const dataBytes = frames * channels * bytes;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const put = (o: number, s: string) => [...s].forEach((c, i) => (out[o + i] = c.charCodeAt(0)));
  put(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * bytes, true);
  view.setUint16(32, channels * bytes, true);
  view.setUint16(34, bits, true);
  put(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 44; i < out.length; i++) out[i] = (i * 7919) & 0xff;
  return out;
}

const layouts = [
  { sampleRate: 8000, channels: 1, bits: 16 },
  { sampleRate: 16000, channels: 1, bits: 16 },
  { sampleRate: 48000, channels: 2, bits: 16 },
  { sampleRate: 48000, channels: 2, bits: 24 },
  { sampleRate: 48000, channels: 8, bits: 8 },
] as const;

for (const l of layouts) {
  const body = wav(l.sampleRate, l.channels, l.bits, l.sampleRate * seconds);
  decodeAudio(body, 'audio/wav', { maxSeconds: seconds });
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    decodeAudio(body, 'audio/wav', { maxSeconds: seconds });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ ...l, seconds, megabytes: Math.round(body.length / 1e5) / 10, medianMs: Math.round(times[Math.floor(times.length / 2)]!) }));
}
