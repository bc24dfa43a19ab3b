/**
 * How much speech the VAD finds on the phone: each recording of the dev sets heard wideband (Silero
 * at 16 kHz, its default threshold 0.5, as the service runs it) and through the simulated phone line
 * (Silero at 8 kHz, as the service runs a call) at several speech-probability thresholds; and what
 * it finds in noise alone. Net speech is what the policies' minNetSpeechSeconds counts, and no
 * speech at all is a call the service cannot decide on.
 *
 *   node --import tsx scripts/eval/vad-net-speech.ts [--thresholds 0.5,0.4,0.35,0.3,0.25]   (about 3 min)
 *
 * Prints, per set and threshold: the phone's net speech as a share of the wideband net speech, the
 * lowest such share of any speaker, and how many recordings had no speech found (wideband / phone).
 * Then the seconds of "speech" found in 10 s of white noise (−26 dBFS) and of six-talker babble
 * (scripts/eval/make-babble.ts, if present) through the phone line.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { simulateTelephoneChannel } from '../../src/audio/telephone.js';
import type { MonoAudio } from '../../src/audio/types.js';
import { decodeAudioFile } from '../../src/cli/audio-file.js';
import { listSpeakers } from '../../src/cli/eval.js';
import { noiseFor } from '../../src/evaluation/noise.js';
import { normaliseRegions } from '../../src/speech/quality.js';
import { SileroVad } from '../../src/speech/vad.js';

const { values } = parseArgs({ options: { thresholds: { type: 'string', default: '0.5,0.4,0.35,0.3,0.25' } } });
const thresholds = values.thresholds.split(',').map(Number);
if (thresholds.some((t) => !(t > 0 && t <= 1))) throw new Error(`--thresholds must be probabilities in (0, 1], got ${values.thresholds}`);
const dev = fileURLToPath(new URL('../../../shared/data/dev', import.meta.url));
if (!existsSync(dev)) {
  console.error(`vad-net-speech: ${dev} is absent (the shared dev speech); nothing to do`);
  process.exit(0);
}

const vad = await SileroVad.create();
const netSeconds = async (audio: MonoAudio, threshold?: number) =>
  normaliseRegions(await vad.detect(audio, threshold), audio.samples.length).reduce((s, r) => s + r.end - r.start, 0) / audio.sampleRate;

console.log('| set | 8 kHz threshold | phone net speech / wideband net speech | lowest speaker | recordings with no speech found: wideband / phone |');
console.log('|---|---|---|---|---|');
for (const set of ['so762', 'sc']) {
  const root = path.join(dev, set);
  const wide = new Map<string, number>();
  const phone = thresholds.map(() => new Map<string, number>());
  let wideSilent = 0;
  const phoneSilent = thresholds.map(() => 0);
  for (const { name: speaker, files } of (await listSpeakers(root)).speakers) {
    for (const f of files) {
      const audio = await decodeAudioFile(f, 600);
      const w = await netSeconds(audio);
      wide.set(speaker, (wide.get(speaker) ?? 0) + w);
      if (w === 0) wideSilent++;
      const call = simulateTelephoneChannel(audio, 'mulaw');
      for (const [k, t] of thresholds.entries()) {
        const p = await netSeconds(call, t);
        phone[k]!.set(speaker, (phone[k]!.get(speaker) ?? 0) + p);
        if (p === 0) phoneSilent[k]!++;
      }
    }
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  for (const [k, t] of thresholds.entries()) {
    const lowest = Math.min(...[...wide.keys()].map((s) => (phone[k]!.get(s) ?? 0) / (wide.get(s) || Infinity)));
    console.log(`| ${set} | ${t} | ${(total(phone[k]!) / total(wide)).toFixed(3)} | ${lowest.toFixed(2)} | ${wideSilent} / ${phoneSilent[k]} |`);
  }
}

const tenSeconds: MonoAudio = { sampleRate: 16000, samples: new Float32Array(160_000) };
const white = noiseFor({ kind: 'white' }, tenSeconds, tenSeconds.samples.length).map((v) => v * 0.05);
const noises: [string, Float32Array][] = [['white noise, −26 dBFS', white]];
const babbleFile = 'data/noise/babble-6.wav';
if (existsSync(babbleFile)) noises.push(['six-talker babble', (await decodeAudioFile(babbleFile, 600)).samples.subarray(0, 160_000)]);
console.log('\n| noise alone, 10 s through the phone line | ' + thresholds.map((t) => `s found at ${t}`).join(' | ') + ' |');
console.log('|---|' + thresholds.map(() => '---|').join(''));
for (const [name, samples] of noises) {
  const call = simulateTelephoneChannel({ sampleRate: 16000, samples }, 'mulaw');
  const found = [];
  for (const t of thresholds) found.push((await netSeconds(call, t)).toFixed(1));
  console.log(`| ${name} | ${found.join(' | ')} |`);
}
await vad.release();
