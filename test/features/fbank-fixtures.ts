/**
 * Loads the torchaudio reference fixtures (fixtures/fbank/*.json, written by
 * scripts/reference/fbank_reference.py) and rebuilds each fixture's input samples:
 * synthetic ones from the shared formula, real speech by decoding ../shared at run time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import type { FbankOptions, SampleScale } from '../../src/features/options.js';
import { int16Checksum, syntheticInt16 } from './synthetic-signal.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixtureDir = path.join(repoRoot, 'fixtures/fbank');
export const sharedDataDir = path.resolve(repoRoot, '../shared/data');

export type FixtureInput =
  | { kind: 'synthetic'; seconds: number; seed: number; samples: number; int16Checksum: number }
  | { kind: 'shared-flac'; path: string; start: number; length: number; samples: number; int16Checksum: number };

export interface FbankFixture {
  name: string;
  description: string;
  input: FixtureInput;
  sampleRate: number;
  sampleScale: SampleScale;
  options: FbankOptions;
  frames: number;
  bins: number;
  values: Float32Array;
  /** torchaudio's output computed in float64 (synthetic fixtures only). */
  float64Values?: Float32Array;
}

function decodeFloat32(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function loadFixtures(): FbankFixture[] {
  return readdirSync(fixtureDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const raw = JSON.parse(readFileSync(path.join(fixtureDir, f), 'utf8')) as Omit<FbankFixture, 'values' | 'float64Values'> & {
        valuesFloat32Base64: string;
        float64ValuesFloat32Base64?: string;
      };
      const { valuesFloat32Base64, float64ValuesFloat32Base64, ...rest } = raw;
      const fx: FbankFixture = { ...rest, values: decodeFloat32(valuesFloat32Base64) };
      if (float64ValuesFloat32Base64 !== undefined) fx.float64Values = decodeFloat32(float64ValuesFloat32Base64);
      return fx;
    });
}

/** True when the shared data set is present (a fresh clone or CI may not have it). */
export function sharedDataAvailable(): boolean {
  return existsSync(sharedDataDir);
}

/**
 * 16-bit FLAC → int16 samples. The wasm decoder returns value / 32767 floats, so
 * multiplying back and rounding recovers the integers exactly (checked by the checksum).
 */
export async function decodeFlacInt16(file: string): Promise<{ sampleRate: number; samples: Int16Array }> {
  const decoder = new FLACDecoder();
  await decoder.ready;
  try {
    const decoded = await decoder.decodeFile(new Uint8Array(readFileSync(file)));
    if (decoded.errors.length > 0 || decoded.bitDepth !== 16) {
      throw new Error(`${file}: ${decoded.errors.length} decode errors, bit depth ${decoded.bitDepth}`);
    }
    const ch = decoded.channelData[0]!;
    const samples = new Int16Array(ch.length);
    for (let i = 0; i < ch.length; i++) samples[i] = Math.round(ch[i]! * 32767);
    return { sampleRate: decoded.sampleRate, samples };
  } finally {
    decoder.free();
  }
}

/** The fixture's int16 input, verified against its checksum. */
export async function fixtureInt16(fx: FbankFixture): Promise<Int16Array> {
  let x: Int16Array;
  if (fx.input.kind === 'synthetic') {
    x = syntheticInt16(fx.sampleRate, fx.input.seconds, fx.input.seed);
  } else {
    const decoded = await decodeFlacInt16(path.join(sharedDataDir, fx.input.path));
    if (decoded.sampleRate !== fx.sampleRate) throw new Error(`${fx.input.path}: rate ${decoded.sampleRate} ≠ ${fx.sampleRate}`);
    x = decoded.samples.slice(fx.input.start, fx.input.start + fx.input.length);
  }
  if (x.length !== fx.input.samples || int16Checksum(x) !== fx.input.int16Checksum) {
    throw new Error(`${fx.name}: regenerated input differs from the one the reference used (length ${x.length}, checksum ${int16Checksum(x)})`);
  }
  return x;
}
