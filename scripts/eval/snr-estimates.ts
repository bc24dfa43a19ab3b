/**
 * How the service's SNR estimate (src/speech/quality.ts estimateSnrDb, which the 5 dB quality gate
 * reads) does on real recordings, clean and with noise added at a known SNR (src/evaluation/noise.ts:
 * white, and the six-talker babble of make-babble.ts), on both channels, with the noise floor taken
 * as the median of the non-speech frames' powers (the service) and as their mean (the rule before).
 *
 *   node --import tsx scripts/eval/snr-estimates.ts [folder] [--babble data/noise/babble-6.wav] [--narrowband-threshold P]   (about 5 min for so762)
 *
 * Per channel and condition: the median estimate over the recordings and how many read under the
 * 5 dB gate (defaultQualityLimits.minSnrDb), each by both rules. The VAD runs on each rendering, as
 * in the service (8 kHz audio at 8 kHz, at the service's NARROWBAND_SPEECH_THRESHOLD unless
 * --narrowband-threshold gives another, e.g. Silero's own 0.5).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resample } from '../../src/audio/resample.js';
import { simulateTelephoneChannel } from '../../src/audio/telephone.js';
import type { MonoAudio } from '../../src/audio/types.js';
import { decodeAudioFile } from '../../src/cli/audio-file.js';
import { listSpeakers } from '../../src/cli/eval.js';
import { quantile } from '../../src/evaluation/confidence.js';
import { addNoise, type NoiseSource } from '../../src/evaluation/noise.js';
import { defaultQualityLimits, tooNoisy } from '../../src/scoring/decision.js';
import { estimateSnrDb, normaliseRegions } from '../../src/speech/quality.js';
import { SileroVad } from '../../src/speech/vad.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { babble: { type: 'string', default: 'data/noise/babble-6.wav' }, 'narrowband-threshold': { type: 'string' } },
});
const narrowbandThreshold = values['narrowband-threshold'] === undefined ? undefined : Number(values['narrowband-threshold']);
const folder = positionals[0] ?? fileURLToPath(new URL('../../../shared/data/dev/so762', import.meta.url));
if (!existsSync(folder)) {
  console.error(`snr-estimates: ${folder} is absent (the shared dev speech); nothing to do`);
  process.exit(0);
}
if (!existsSync(values.babble)) throw new Error(`snr-estimates: ${values.babble} is absent; make it with node --import tsx scripts/eval/make-babble.ts`);
const babble = await decodeAudioFile(values.babble, 600);
const babbleAt = new Map<number, NoiseSource>();
const babbleFor = (rate: number): NoiseSource => {
  let s = babbleAt.get(rate);
  if (s === undefined) {
    s = { kind: 'file', name: 'babble', audio: { sampleRate: rate, samples: rate === babble.sampleRate ? babble.samples : resample(babble.samples, babble.sampleRate, rate) } };
    babbleAt.set(rate, s);
  }
  return s;
};
const conditions: { name: string; render: (a: MonoAudio) => MonoAudio }[] = [{ name: 'clean', render: (a) => a }];
for (const snr of [20, 10, 5, 0]) {
  conditions.push({ name: `white ${snr} dB`, render: (a) => addNoise(a, { kind: 'white' }, snr).audio });
  conditions.push({ name: `babble ${snr} dB`, render: (a) => addNoise(a, babbleFor(a.sampleRate), snr).audio });
}
const channels = ['wideband', 'telephone'] as const;
const rules = ['median', 'mean'] as const;
// estimates[channel][condition][rule]: one value (null: no estimate) per recording.
const estimates = new Map<string, (number | null)[]>();
const key = (ch: string, cond: string, rule: string) => `${ch}|${cond}|${rule}`;

// SileroVad refuses a threshold outside (0, 1] itself.
const vad = await SileroVad.create(narrowbandThreshold === undefined ? {} : { narrowbandThreshold });
// Speakers and files as eval finds them (sub-folders by name, audio files sorted).
const files = (await listSpeakers(folder)).speakers.flatMap((s) => s.files);
for (const [k, file] of files.entries()) {
  const audio = await decodeAudioFile(file, 600);
  for (const cond of conditions) {
    const noisy = cond.render(audio);
    for (const ch of channels) {
      const heard = ch === 'telephone' ? simulateTelephoneChannel(noisy, 'mulaw') : noisy;
      const regions = normaliseRegions(await vad.detect(heard), heard.samples.length);
      for (const rule of rules) {
        const list = estimates.get(key(ch, cond.name, rule)) ?? [];
        list.push(estimateSnrDb(heard.samples, heard.sampleRate, regions, rule));
        estimates.set(key(ch, cond.name, rule), list);
      }
    }
  }
  if ((k + 1) % 50 === 0) console.error(`snr-estimates: ${k + 1}/${files.length}`);
}
await vad.release();

const gate = defaultQualityLimits.minSnrDb;
// The median as eval's testSideSnrDb gives it.
const medianOf = (v: (number | null)[]) => {
  const known = v.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return known.length === 0 ? 'n/a' : quantile(known, 0.5).toFixed(1);
};
const under = (v: (number | null)[]) => v.filter((x) => tooNoisy(x, gate)).length;
console.log(`${path.basename(folder)}, ${files.length} recordings: the service's SNR estimate, noise floor from the median (service) / mean (before) of the non-speech frames; 8 kHz VAD threshold ${vad.segmentation[8000].threshold}`);
console.log(`| channel | audio | median estimate (dB), median / mean rule | under the ${gate} dB gate, median / mean rule |`);
console.log('|---|---|---|---|');
for (const ch of channels) {
  for (const cond of conditions) {
    const [med, mean] = rules.map((r) => estimates.get(key(ch, cond.name, r)) ?? []);
    console.log(`| ${ch} | ${cond.name} | ${medianOf(med!)} / ${medianOf(mean!)} | ${under(med!)} / ${under(mean!)} |`);
  }
}
