/**
 * Babble noise for `voice-passport eval --noise-file`: several talkers at once, the background of a
 * busy office or contact centre, made from training speakers (never dev speakers, whose voices in
 * the noise would meet their own voiceprints in the trials).
 *
 *   node --import tsx scripts/eval/make-babble.ts [--talkers 6] [--seconds 30] [--out data/noise/babble-6.wav]
 *
 * Talkers: the first `--talkers` LibriSpeech speakers of ../shared/data/train in name order (adults
 * reading aloud). Each talker's utterances are joined in file order, with their leading
 * and trailing silence kept, and looped to `--seconds`; each starts a different fraction of the way
 * in, so no two talk in step; each is set to the same ITU-T P.56 active speech level before they are
 * summed, and the sum is scaled to a 0.5 peak. Written as 16 kHz 32-bit float WAV (eval resamples it
 * to each recording's rate). The same inputs always give the same file.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resample } from '../../src/audio/resample.js';
import type { MonoAudio } from '../../src/audio/types.js';
import { decodeAudioFile } from '../../src/cli/audio-file.js';
import { listSpeakers } from '../../src/cli/eval.js';
import { concatenate, floatWav } from '../../src/evaluation/channel.js';
import { activeSpeechLevel } from '../../src/evaluation/noise.js';

const RATE = 16_000;
// ../shared beside the checkout, wherever the script is run from.
const TRAIN = fileURLToPath(new URL('../../../shared/data/train', import.meta.url));

const { values } = parseArgs({
  options: { talkers: { type: 'string', default: '6' }, seconds: { type: 'string', default: '30' }, out: { type: 'string', default: 'data/noise/babble-6.wav' } },
});
const talkers = Number(values.talkers);
const seconds = Number(values.seconds);
if (!(Number.isInteger(talkers) && talkers >= 2 && talkers <= 50)) throw new Error(`--talkers must be a whole number from 2 to 50, got ${values.talkers}`);
if (!(seconds >= 1 && seconds <= 300)) throw new Error(`--seconds must be from 1 to 300, got ${values.seconds}`);

if (!existsSync(TRAIN)) {
  console.error(`make-babble: ${TRAIN} is absent (the shared training speech); nothing to do`);
  process.exit(0);
}
const speakers = (await listSpeakers(TRAIN)).speakers.filter((s) => s.name.startsWith('libri-'));
if (speakers.length < talkers) throw new Error(`make-babble: ${TRAIN} has ${speakers.length} LibriSpeech speakers, fewer than ${talkers}`);

const n = Math.round(seconds * RATE);
const mix = new Float64Array(n);
for (const [k, { name: speaker, files }] of speakers.slice(0, talkers).entries()) {
  const parts: MonoAudio[] = [];
  let seconds = 0;
  for (const f of files) {
    const a = await decodeAudioFile(f, 600);
    parts.push(a);
    seconds += a.samples.length / a.sampleRate;
    if (seconds * RATE >= n) break;
  }
  const joined = concatenate(parts);
  const voice = joined.sampleRate === RATE ? joined.samples : resample(joined.samples, joined.sampleRate, RATE);
  const level = activeSpeechLevel(voice, RATE);
  if (level === null) throw new Error(`make-babble: ${speaker} is silent`);
  const gain = 1 / Math.sqrt(10 ** (level.levelDb / 10)); // every talker at 0 dB active level before the final scaling
  const offset = Math.floor((k / talkers) * voice.length);
  for (let i = 0; i < n; i++) mix[i]! += gain * voice[(offset + i) % voice.length]!;
  console.error(`make-babble: ${speaker}, ${(voice.length / RATE).toFixed(1)} s, active level ${level.levelDb.toFixed(1)} dB`);
}
let peak = 0;
for (const v of mix) peak = Math.max(peak, Math.abs(v));
const samples = Float32Array.from(mix, (v) => (0.5 * v) / peak);
await mkdir(path.dirname(values.out), { recursive: true });
await writeFile(values.out, floatWav({ sampleRate: RATE, samples }));
console.error(`make-babble: wrote ${values.out} (${talkers} talkers, ${seconds} s)`);
