import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { SileroVad } from './src/speech/vad.js';
import { decodeAudioFile } from './src/cli/audio-file.js';
import { simulateTelephoneChannel } from './src/audio/telephone.js';
import { normaliseRegions } from './src/speech/quality.js';
import { resample } from './src/audio/resample.js';
const vads = { t50: await SileroVad.create(), t35: await SileroVad.create({ segmentation: { threshold: 0.35 } }), t25: await SileroVad.create({ segmentation: { threshold: 0.25 } }) };
type A = { sampleRate: number; samples: Float32Array };
const net = async (v: SileroVad, x: A) => normaliseRegions(await v.detect(x), x.samples.length).reduce((s, r) => s + r.end - r.start, 0) / x.sampleRate;
const up = (x: A): A => ({ sampleRate: 16000, samples: resample(x.samples, 8000, 16000) });
for (const set of ['so762', 'sc']) {
  const root = `../shared/data/dev/${set}`;
  const sums: Record<string, number> = {};
  const add = (k: string, v: number) => (sums[k] = (sums[k] ?? 0) + v);
  let n = 0;
  for (const spk of (await readdir(root)).sort()) {
    const files = (await readdir(path.join(root, spk))).sort();
    for (const f of set === 'sc' ? files.slice(0, 8) : files) {
      const a = await decodeAudioFile(path.join(root, spk, f), 120);
      const t = simulateTelephoneChannel(a, 'mulaw');
      add('wide t50', await net(vads.t50, a));
      for (const [k, v] of Object.entries(vads)) { add(`tel8k ${k}`, await net(v, t)); add(`tel16k ${k}`, await net(v, up(t))); }
      add('wide t35', await net(vads.t35, a));
      n++;
    }
  }
  console.log(set, n, Object.entries(sums).map(([k, v]) => `${k} ${(v / sums['wide t50']!).toFixed(3)}`).join(' | '));
}
// false alarms: noise alone (white at -30 dBFS rms, babble), through the phone, 10 s each
const babble = await decodeAudioFile('data/noise/babble-6.wav', 120);
const white = { sampleRate: 16000, samples: Float32Array.from({ length: 160000 }, () => (Math.random() * 2 - 1) * 0.05) };
for (const [name, x] of [['white', white], ['babble', { sampleRate: 16000, samples: babble.samples.subarray(0, 160000) }]] as const) {
  const t = simulateTelephoneChannel(x, 'mulaw');
  console.log('noise only', name, Object.entries(vads).map(([k, v]) => `${k}: wide ${0} tel8k ?`).length, await Promise.all(Object.entries(vads).map(async ([k, v]) => `${k} wide ${(await net(v, x)).toFixed(1)} tel8k ${(await net(v, t)).toFixed(1)} tel16k ${(await net(v, up(t))).toFixed(1)}`)));
}
