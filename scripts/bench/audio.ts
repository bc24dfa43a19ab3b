/**
 * The benchmark's input: 3 s of 16 kHz speech as a caller would upload it (16-bit PCM WAV).
 *
 * A real utterance is preferred, because Silero VAD and the speech-only cut decide how many
 * frames reach the network: read speech from ../shared/data/dev (speechocean762, CC BY 4.0),
 * decoded with the CLI's FLAC decoder and looped/trimmed to exactly 3 s. Without the shared data
 * a deterministic speech-like signal (glottal pulses through vowel formants, syllable envelope)
 * stands in, with a note in the report.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import wavefile from 'wavefile';
import { decodeFlacFile } from '../../src/audio/flac.js';
import { resample } from '../../src/audio/resample.js';

export const BENCH_RATE = 16000;
export const BENCH_SECONDS = 3;

export interface BenchAudio {
  samples: Float32Array;
  sampleRate: number;
  /** 'shared-data' or 'synthetic'. */
  source: string;
  /** The utterance used, relative to the shared data folder (null when synthetic). */
  file: string | null;
  note: string;
  /** The same samples as a 16-bit PCM WAV upload. */
  wav: Uint8Array;
}

/** A fixed utterance (5.0 s of read English, adult speaker) so runs are comparable. */
const PREFERRED = 'so762/0104/001040067.flac';

export async function loadBenchAudio(sharedDir: string): Promise<BenchAudio> {
  const devDir = path.join(sharedDir, 'data', 'dev');
  const file = existsSync(path.join(devDir, PREFERRED)) ? PREFERRED : await firstDevUtterance(sharedDir);
  if (file !== null) {
    const decoded = await decodeFlacFile(new Uint8Array(await readFile(path.join(devDir, file))), { maxSeconds: 120 });
    const at16k = decoded.sampleRate === BENCH_RATE ? decoded.samples : resample(decoded.samples, decoded.sampleRate, BENCH_RATE);
    const samples = loopToLength(at16k, BENCH_RATE * BENCH_SECONDS);
    return {
      samples,
      sampleRate: BENCH_RATE,
      source: 'shared-data',
      file: `data/dev/${file}`,
      note: `real speech: ${file} (${decoded.durationSeconds.toFixed(2)} s), ${at16k.length >= samples.length ? 'trimmed' : 'looped'} to ${BENCH_SECONDS} s`,
      wav: toWav16(samples, BENCH_RATE),
    };
  }
  const samples = speechLikeSignal(BENCH_RATE, BENCH_SECONDS);
  return {
    samples,
    sampleRate: BENCH_RATE,
    source: 'synthetic',
    file: null,
    note: `no speech found under ${devDir}: using a synthetic speech-like signal instead (VAD and speech-only cut may differ from real speech)`,
    wav: toWav16(samples, BENCH_RATE),
  };
}

async function firstDevUtterance(sharedDir: string): Promise<string | null> {
  const index = path.join(sharedDir, 'data', 'index.tsv');
  if (!existsSync(index)) return null;
  // Columns: split, set, speaker, path (relative to dev/), seconds. The first 16 kHz dev file of ≥ 3 s.
  for (const line of (await readFile(index, 'utf8')).split('\n')) {
    const [split, set, , rel, seconds] = line.split('\t');
    if (split === 'dev' && set !== 'fsdd' && rel !== undefined && Number(seconds) >= BENCH_SECONDS) {
      if (existsSync(path.join(sharedDir, 'data', 'dev', rel))) return rel;
    }
  }
  return null;
}

/** Exactly `length` samples: the start of the input, repeated if it is shorter. */
export function loopToLength(x: Float32Array, length: number): Float32Array {
  if (x.length === 0) throw new Error('cannot loop empty audio');
  const out = new Float32Array(length);
  for (let offset = 0; offset < length; offset += x.length) out.set(x.subarray(0, Math.min(x.length, length - offset)), offset);
  return out;
}

/** 16-bit PCM mono WAV, the commonest upload format. */
export function toWav16(samples: Float32Array, sampleRate: number): Uint8Array {
  const int16 = Int16Array.from(samples, (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32767))));
  const file = new wavefile.WaveFile();
  file.fromScratch(1, sampleRate, '16', int16);
  return file.toBuffer();
}

/**
 * Deterministic speech-like signal: a glottal pulse train with a slowly moving pitch (~120 Hz)
 * through three vowel formants (Klatt-style two-pole resonators, Peterson & Barney 1952 values),
 * ~4 syllables/s with every fourth syllable silent, like pauses between words.
 */
export function speechLikeSignal(sampleRate: number, seconds: number): Float32Array {
  const vowels = [
    [730, 1090, 2440],
    [270, 2290, 3010],
    [300, 870, 2240],
    [530, 1840, 2480],
    [570, 840, 2410],
  ] as const;
  const n = Math.round(sampleRate * seconds);
  const out = new Float32Array(n);
  const syllable = 0.25;
  const y1 = [0, 0, 0];
  const y2 = [0, 0, 0];
  let phase = 0;
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    phase += (120 * (1 + 0.1 * Math.sin(2 * Math.PI * 0.7 * t))) / sampleRate;
    let x = 0;
    if (phase >= 1) {
      phase -= 1;
      x = 1;
    }
    seed = (seed * 1103515245 + 12345) % 2147483648; // LCG aspiration noise, deterministic
    x += ((seed / 2147483648) * 2 - 1) * 0.02;
    const syl = Math.floor(t / syllable);
    const formants = vowels[syl % vowels.length] as readonly number[];
    for (let k = 0; k < 3; k++) {
      const r = Math.exp((-Math.PI * (80 + 40 * k)) / sampleRate);
      const c = 2 * r * Math.cos((2 * Math.PI * (formants[k] as number)) / sampleRate);
      const y = (1 - r) * x + c * (y1[k] as number) - r * r * (y2[k] as number);
      y2[k] = y1[k] as number;
      y1[k] = y;
      x = y;
    }
    const envelope = syl % 4 === 3 ? 0 : Math.sin((Math.PI * (t % syllable)) / syllable) ** 0.5;
    out[i] = x * envelope;
  }
  let peak = 0;
  for (const v of out) peak = Math.max(peak, Math.abs(v));
  for (let i = 0; i < n; i++) out[i] = ((out[i] as number) * 0.5) / peak;
  return out;
}
