/**
 * Property tests: whatever bytes arrive under whatever Content-Type, decodeAudio either returns
 * well-formed audio or throws a VoicePassportError with an audio code — never another exception,
 * never a hang, never a slow path driven by a lying header.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import wavefile from 'wavefile';
import { decodeAudio } from '../../src/audio/decode.js';
import type { DecodedAudio } from '../../src/audio/types.js';
import { VoicePassportError } from '../../src/errors.js';
import { buildWav, packFloats, packInts } from './wav-builder.js';

const CONTENT_TYPES = [
  'audio/wav',
  'audio/x-wav',
  'audio/basic',
  'audio/PCMU',
  'audio/PCMA;rate=16000',
  'audio/L16;rate=16000',
  'audio/L16;rate=44100;channels=2',
  'audio/PCMU;channels=3',
];
const ALLOWED_CODES = new Set([
  'audio-empty',
  'audio-malformed',
  'audio-unsupported',
  'audio-too-long',
  'audio-invalid-samples',
  'audio-sample-rate-unsupported',
]);
/** Per-call budget: generous for a loaded 2-core machine, far below anything a lying header could cause. */
const MAX_MS_PER_CALL = 250;

function checkOutcome(run: () => DecodedAudio): void {
  const t0 = performance.now();
  let audio: DecodedAudio | undefined;
  try {
    audio = run();
  } catch (e) {
    if (!(e instanceof VoicePassportError)) throw e;
    expect(ALLOWED_CODES.has(e.code), `${e.code}: ${e.message}`).toBe(true);
    expect(e.message.length).toBeGreaterThan(20);
  }
  expect(performance.now() - t0).toBeLessThan(MAX_MS_PER_CALL);
  if (audio === undefined) return;
  expect(audio.sampleRate).toBeGreaterThanOrEqual(8000);
  expect(audio.sampleRate).toBeLessThanOrEqual(48000);
  expect(audio.channels).toBeGreaterThanOrEqual(1);
  expect(audio.samples.length).toBeGreaterThan(0);
  expect(audio.durationSeconds).toBeCloseTo(audio.samples.length / audio.sampleRate, 9);
  for (const v of audio.samples) {
    if (!(v >= -1 && v <= 1)) throw new Error(`sample ${v} outside ±1`);
  }
}

type Encoding = { tag: number; bits: number; make: (n: number, seed: number) => Uint8Array };
const ENCODINGS: Encoding[] = [
  { tag: 1, bits: 8, make: (n, s) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + s) & 0xff) },
  { tag: 1, bits: 16, make: (n, s) => packInts(Array.from({ length: n }, (_, i) => ((i * 7919 + s) % 65536) - 32768), 2) },
  { tag: 1, bits: 24, make: (n, s) => packInts(Array.from({ length: n }, (_, i) => ((i * 104729 + s) % 16777216) - 8388608), 3) },
  { tag: 1, bits: 32, make: (n, s) => packInts(Array.from({ length: n }, (_, i) => ((i * 2654435761 + s) % 4294967296) - 2147483648), 4) },
  { tag: 3, bits: 32, make: (n, s) => packFloats(Array.from({ length: n }, (_, i) => Math.sin(i + s)), 32) },
  { tag: 3, bits: 64, make: (n, s) => packFloats(Array.from({ length: n }, (_, i) => Math.cos(i * s)), 64) },
  { tag: 6, bits: 8, make: (n, s) => Uint8Array.from({ length: n }, (_, i) => (i * 29 + s) & 0xff) },
  { tag: 7, bits: 8, make: (n, s) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + s) & 0xff) },
];

const validWav = fc
  .record({
    encoding: fc.constantFrom(...ENCODINGS),
    channels: fc.integer({ min: 1, max: 4 }),
    sampleRate: fc.constantFrom(8000, 16000, 22050, 44100, 48000),
    frames: fc.integer({ min: 1, max: 200 }),
    seed: fc.integer({ min: 0, max: 1000 }),
    extensible: fc.boolean(),
    container: fc.constantFrom('RIFF' as const, 'RIFX' as const, 'RF64' as const),
    junk: fc.boolean(),
  })
  .map((s) =>
    buildWav({
      container: s.container,
      formatTag: s.encoding.tag,
      bitsPerSample: s.encoding.bits,
      channels: s.channels,
      sampleRate: s.sampleRate,
      extensible: s.extensible,
      data: s.container === 'RIFX' && s.encoding.bits > 8 ? new Uint8Array(s.frames * s.channels * (s.encoding.bits / 8)).fill(0x11) : s.encoding.make(s.frames * s.channels, s.seed),
      before: s.junk ? [{ id: 'LIST', body: new Uint8Array(5).fill(7) }] : [],
    }),
  );

const HUGE = [0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** One header-focused mutation of a valid file. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(80), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(400) }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(76), value: fc.oneof(fc.constantFrom(...HUGE), fc.nat()), le: fc.boolean() }),
  fc.record({ kind: fc.constant('u16' as const), at: fc.nat(78), value: fc.oneof(fc.constantFrom(0, 1, 0xfffe, 0xffff), fc.nat(0xffff)) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(400), value: fc.nat(255) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = bytes.slice();
  for (const m of mutations) {
    if (m.kind === 'truncate') {
      out = out.slice(0, Math.min(out.length, m.at));
      continue;
    }
    if (m.at >= out.length) continue;
    const view = new DataView(out.buffer);
    if (m.kind === 'flip') out[m.at]! ^= 1 << m.bit;
    else if (m.kind === 'byte') out[m.at] = m.value;
    else if (m.kind === 'u32' && m.at + 4 <= out.length) view.setUint32(m.at, m.value >>> 0, m.le);
    else if (m.kind === 'u16' && m.at + 2 <= out.length) view.setUint16(m.at, m.value, true);
  }
  return out;
}

describe('decodeAudio never fails badly', () => {
  it('random bytes under every content type', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(...CONTENT_TYPES), fc.integer({ min: 1, max: 120 }), (bytes, ct, maxSeconds) => {
        checkOutcome(() => decodeAudio(bytes, ct, { maxSeconds }));
      }),
      { numRuns: 1500 },
    );
  });

  it('random bytes behind a real RIFF/WAVE/fmt prefix', () => {
    const prefix = buildWav({ data: new Uint8Array(0) }).subarray(0, 36);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const bytes = new Uint8Array(prefix.length + tail.length);
        bytes.set(prefix);
        bytes.set(tail, prefix.length);
        checkOutcome(() => decodeAudio(bytes, 'audio/wav', { maxSeconds: 120 }));
      }),
      { numRuns: 800 },
    );
  });

  it('valid WAV files of every encoding decode, with or without a chosen channel', () => {
    fc.assert(
      fc.property(validWav, fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), (wav, channel) => {
        try {
          const a = decodeAudio(wav, 'audio/wav', { maxSeconds: 120, ...(channel === undefined ? {} : { channel }) });
          checkOutcome(() => a);
        } catch (e) {
          // Only an out-of-range channel may fail a valid file.
          expect(e).toBeInstanceOf(VoicePassportError);
          expect((e as VoicePassportError).code).toBe('validation-failed');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('mutated valid WAV files (flipped bits, truncation, header fields overwritten with huge values)', () => {
    fc.assert(
      fc.property(validWav, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom(...CONTENT_TYPES), (wav, mutations, ct) => {
        const bytes = mutate(wav, mutations);
        checkOutcome(() => decodeAudio(bytes, ct, { maxSeconds: 120 }));
      }),
      { numRuns: 1500 },
    );
  });

  it('a tiny file claiming a huge data chunk, at every plausible header position, is refused quickly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...HUGE.filter((v) => v > 0xffff)), fc.nat(50), (value, at) => {
        const wav = buildWav({ data: packInts([1, 2, 3, 4], 2) });
        if (at + 4 <= wav.length) new DataView(wav.buffer).setUint32(at, value, true);
        checkOutcome(() => decodeAudio(wav, 'audio/wav', { maxSeconds: 120 }));
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeWav agrees with wavefile reading the original file', () => {
  it('for random valid little-endian files of every encoding', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ENCODINGS),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 999 }),
        fc.boolean(),
        (encoding, channels, frames, seed, junk) => {
          const wav = buildWav({
            formatTag: encoding.tag,
            bitsPerSample: encoding.bits,
            channels,
            data: encoding.make(frames * channels, seed),
            between: junk ? [{ id: 'junk', body: new Uint8Array(3) }] : [],
          });
          const ours = decodeAudio(wav, 'audio/wav', { maxSeconds: 120, channel: channels - 1 }).samples;
          const reference = new wavefile.WaveFile(wav);
          const raw = reference.getSamples(true, Float64Array) as unknown as Float64Array;
          const expected = (v: number): number => {
            if (encoding.tag === 3) return Math.fround(Math.max(-1, Math.min(1, v)));
            if (encoding.tag === 6 || encoding.tag === 7) return v; // compared below through the codec tables
            return Math.fround(encoding.bits === 8 ? (v - 128) / 128 : v / 2 ** (encoding.bits - 1));
          };
          for (let f = 0; f < frames; f++) {
            const v = raw[f * channels + channels - 1]!;
            if (encoding.tag === 6 || encoding.tag === 7) {
              // wavefile exposes the codes; decode them with wavefile's own G.711 codec as the oracle.
              const w = new wavefile.WaveFile();
              w.fromScratch(1, 8000, encoding.tag === 7 ? '8m' : '8a', [v]);
              if (encoding.tag === 7) w.fromMuLaw();
              else w.fromALaw();
              const linear = (w.getSamples(true, Float64Array) as unknown as Float64Array)[0]!;
              // wavefile decodes to 16-bit with µ-law's ±32124 / A-law's ±32256 table values.
              expect(ours[f]).toBe(Math.fround(linear / 32768));
            } else {
              expect(ours[f]).toBe(expected(v));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('decodeWav reads big-endian RIFX as RIFF', () => {
  it('for random values of every multi-byte sample size: the same samples whichever byte order the container states', () => {
    const swap = (bytes: Uint8Array, width: number) => {
      const out = new Uint8Array(bytes.length);
      for (let i = 0; i < bytes.length; i += width) for (let b = 0; b < width; b++) out[i + b] = bytes[i + width - 1 - b]!;
      return out;
    };
    fc.assert(
      fc.property(fc.constantFrom(...ENCODINGS.filter((e) => e.bits > 8)), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 999 }), (encoding, channels, frames, seed) => {
        const le = encoding.make(frames * channels, seed);
        const spec = { formatTag: encoding.tag, bitsPerSample: encoding.bits, channels };
        const riff = decodeAudio(buildWav({ ...spec, data: le }), 'audio/wav', { maxSeconds: 120 }).samples;
        const rifx = decodeAudio(buildWav({ ...spec, container: 'RIFX', data: swap(le, encoding.bits / 8) }), 'audio/wav', { maxSeconds: 120 }).samples;
        expect(rifx).toEqual(riff);
      }),
      { numRuns: 200 },
    );
  });
});
