import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFlacFile, readFlacStreamInfo } from '../../src/audio/flac.js';
import { crc16, crc8, flacAudioOffset, frameHeaderLength, parseFrameHeader, splitFlacFrames } from '../../src/audio/flac-frames.js';
import { VoicePassportError } from '../../src/errors.js';

const fixture = (name: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))));
const ascii = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: ArrayLike<number>[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const hasSox = spawnSync('sox', ['--version']).status === 0;
/** What the hand-built files below are (and what their frame headers say). */
const mono16 = { sampleRate: 16000, channels: 1, bitsPerSample: 16 };
/** The frames' bytes, split against the file's own STREAMINFO. */
const split = (bytes: Uint8Array) => splitFlacFrames(bytes, readFlacStreamInfo(bytes)).map((f) => f.data);

function expectMalformed(run: () => unknown): VoicePassportError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(VoicePassportError);
    expect((e as VoicePassportError).code).toBe('audio-malformed');
    return e as VoicePassportError;
  }
  throw new Error('expected audio-malformed, nothing was thrown');
}

// A minimal FLAC writer: 16 kHz mono 16-bit, every subframe VERBATIM (RFC 9639 §9.2.4), so any
// byte pattern can be placed inside a frame's data and the frame still decodes to known samples.
const STREAMINFO_RATE = 16000;

function frameHeader(frameNumber: number, blockSize: number): number[] {
  // sync + fixed blocking; block size code 0b0111 (16-bit field), 16 kHz; mono, 16-bit.
  const h = [0xff, 0xf8, 0x75, 0x08, frameNumber, (blockSize - 1) >> 8, (blockSize - 1) & 0xff];
  return [...h, crc8(Uint8Array.from(h))];
}

/** A whole frame whose VERBATIM subframe holds `payload` (big-endian int16 samples). */
function frame(frameNumber: number, payload: Uint8Array): Uint8Array {
  const body = concat(frameHeader(frameNumber, payload.length / 2), [0x02], payload);
  const crc = crc16(body);
  return concat(body, [crc >> 8, crc & 0xff]);
}

/** fLaC, STREAMINFO (RFC 9639 §8.2, MD5 left unknown), any further metadata blocks as [type, ...body], the frames. */
function flacFile(frames: Uint8Array[], metadata: number[][] = []): Uint8Array {
  const blockSizes = frames.map((f) => ((f[5]! << 8) | f[6]!) + 1);
  const total = blockSizes.reduce((a, b) => a + b, 0);
  const maxBlock = Math.max(...blockSizes);
  const rate = STREAMINFO_RATE;
  const channelsMinus1 = 0;
  const bitsMinus1 = 15;
  const info = [
    maxBlock >> 8, maxBlock & 0xff, maxBlock >> 8, maxBlock & 0xff, // min/max block size
    0, 0, 0, 0, 0, 0, // min/max frame size unknown
    rate >> 12, (rate >> 4) & 0xff, ((rate & 0x0f) << 4) | (channelsMinus1 << 1) | (bitsMinus1 >> 4),
    ((bitsMinus1 & 0x0f) << 4) | 0 /* total samples bits 35–32 */, (total >>> 24) & 0xff, (total >> 16) & 0xff, (total >> 8) & 0xff, total & 0xff,
    ...new Array<number>(16).fill(0),
  ];
  const blocks = [[0, ...info], ...metadata];
  const meta = blocks.flatMap(([type, ...body], i) => {
    const last = i === blocks.length - 1 ? 0x80 : 0;
    return [last | type!, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff, ...body];
  });
  return concat(ascii('fLaC'), meta, ...frames);
}

const int16s = (payload: Uint8Array) => Array.from({ length: payload.length / 2 }, (_, i) => ((payload[2 * i]! << 24) >> 16) | payload[2 * i + 1]!);
const rampPayload = (samples: number, seed: number) => Uint8Array.from({ length: 2 * samples }, (_, i) => (i * 37 + seed * 11) & 0x7f);

describe('CRCs (RFC 9639 §9.1.8, §9.3)', () => {
  it('match the published check values', () => {
    expect(crc8(ascii('123456789'))).toBe(0xf4); // CRC-8/SMBUS: poly 0x07, init 0
    expect(crc16(ascii('123456789'))).toBe(0xfee8); // CRC-16/UMTS: poly 0x8005, init 0
    expect(crc8(new Uint8Array(0))).toBe(0);
    expect(crc16(ascii('xx123456789yy'), 2, 11)).toBe(0xfee8);
  });
});

describe('splitFlacFrames', () => {
  it('finds the frames of the fixtures', () => {
    for (const name of ['tone-stereo-44100.flac', 'tone-96000.flac']) {
      const bytes = fixture(name);
      const frames = split(bytes);
      const start = flacAudioOffset(bytes);
      expect(bytes[start]).toBe(0xff);
      expect(frames.reduce((n, f) => n + f.length, 0)).toBe(bytes.length - start);
      for (const f of frames) {
        expect(frameHeaderLength(f, 0)).toBeGreaterThan(0);
        expect(crc16(f)).toBe(0);
      }
    }
  });

  it('splits a hand-built file whose last frame is short, and it decodes to the full STREAMINFO count', async () => {
    const payloads = [rampPayload(64, 1), rampPayload(64, 2), rampPayload(64, 3), rampPayload(20, 4)];
    const bytes = flacFile(payloads.map((p, i) => frame(i, p)));
    expect(readFlacStreamInfo(bytes)).toEqual({ sampleRate: 16000, channels: 1, bitsPerSample: 16, totalSamples: 212 });
    expect(split(bytes).map((f) => f.length)).toEqual([8 + 1 + 128 + 2, 139, 139, 8 + 1 + 40 + 2]);
    const a = await decodeFlacFile(bytes, { maxSeconds: 10 });
    expect(Array.from(a.samples)).toEqual(payloads.flatMap(int16s).map((v) => v / 32768));
  });

  it('walks every metadata block, even one holding a frame-like byte pattern', async () => {
    const payloads = [rampPayload(32, 5), rampPayload(17, 6)];
    const frames = payloads.map((p, i) => frame(i, p));
    // PADDING (type 1) and APPLICATION (type 2) blocks; the latter holds a complete valid frame.
    const bytes = flacFile(frames, [[1, 0, 0, 0], [2, ...ascii('test'), ...frames[1]!]]);
    expect(flacAudioOffset(bytes)).toBe(bytes.length - frames[0]!.length - frames[1]!.length);
    expect(split(bytes)).toEqual(frames);
    const a = await decodeFlacFile(bytes, { maxSeconds: 10 });
    expect(a.samples.length).toBe(49);
  });

  it('does not split at a sync code planted inside frame data', async () => {
    const header = frameHeader(1, 64); // 8 bytes: keeps the payload a whole number of samples
    // (a) a complete, valid frame header (its CRC-8 matches) where the frame's CRC-16 does not.
    const a = concat(rampPayload(10, 7), header, rampPayload(10, 8));
    const frameA = frame(0, a);
    const plantedA = 8 + 1 + 20;
    expect(frameHeaderLength(frameA, plantedA)).toBe(8);
    expect(crc16(frameA, 0, plantedA)).not.toBe(0);
    // (b) two bytes that bring the running CRC-16 to zero, then a sync code whose header fails its
    //     CRC-8: the footer check alone would split here. 10 + 1 + 4 + 10 samples.
    const c = crc16(concat(frameHeader(1, 25), [0x02], rampPayload(10, 9)));
    const badHeader = [...header.slice(0, -1), header.at(-1)! ^ 0x5a];
    const b = concat(rampPayload(10, 9), [c >> 8, c & 0xff], badHeader, rampPayload(10, 10));
    const frameB = frame(1, b);
    const plantedB = 8 + 1 + 20 + 2;
    expect(frameB.subarray(plantedB, plantedB + 2)).toEqual(Uint8Array.from([0xff, 0xf8]));
    expect(crc16(frameB, 0, plantedB)).toBe(0);
    expect(frameHeaderLength(frameB, plantedB)).toBe(0);

    const last = rampPayload(16, 11);
    const bytes = flacFile([frameA, frameB, frame(2, last)]);
    expect(split(bytes).map((f) => f.length)).toEqual([frameA.length, frameB.length, 8 + 1 + 32 + 2]);
    const decoded = await decodeFlacFile(bytes, { maxSeconds: 10 });
    expect(Array.from(decoded.samples)).toEqual([...int16s(a), ...int16s(b), ...int16s(last)].map((v) => v / 32768));
  });

  it('rejects reserved and forbidden header values', () => {
    const good = Uint8Array.from(frameHeader(3, 100));
    expect(frameHeaderLength(good, 0)).toBe(8);
    const withCrc = (h: number[]) => Uint8Array.from([...h, crc8(Uint8Array.from(h))]);
    const base = Array.from(good.subarray(0, 7));
    const patched = (i: number, v: number) => withCrc(base.map((b, k) => (k === i ? v : b)));
    expect(frameHeaderLength(patched(1, 0xfa), 0)).toBe(0); // reserved bit after the sync code
    expect(frameHeaderLength(patched(2, 0x05), 0)).toBe(0); // block size code 0 reserved
    expect(frameHeaderLength(patched(2, 0x7f), 0)).toBe(0); // sample rate code 15 forbidden
    expect(frameHeaderLength(patched(3, 0xb8), 0)).toBe(0); // channel assignment 11 reserved
    expect(frameHeaderLength(patched(3, 0x06), 0)).toBe(0); // bit depth code 3 reserved
    expect(frameHeaderLength(patched(3, 0x09), 0)).toBe(0); // reserved bit
    expect(frameHeaderLength(patched(4, 0x80), 0)).toBe(0); // coded number cannot start with a continuation byte
    expect(frameHeaderLength(withCrc([0xff, 0xf8, 0x75, 0x08, 0xfe, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x63]), 0)).toBe(0); // 7-byte number, fixed blocking
    expect(frameHeaderLength(withCrc([0xff, 0xf9, 0x75, 0x08, 0xfe, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x63]), 0)).toBe(14); // allowed when variable
    expect(frameHeaderLength(withCrc([0xff, 0xf8, 0x75, 0x08, 0xc2, 0x81, 0x00, 0x63]), 0)).toBe(9); // 2-byte number
    expect(frameHeaderLength(withCrc([0xff, 0xf8, 0x75, 0x08, 0xc2, 0x01, 0x00, 0x63]), 0)).toBe(0); // bad continuation
    expect(frameHeaderLength(withCrc([0xff, 0xf8, 0x75, 0x08, 0x00, 0xff, 0xff]), 0)).toBe(0); // block size 65536
    expect(frameHeaderLength(withCrc([0xff, 0xf8, 0x6d, 0x08, 0x00, 0x3f, 0x1f, 0x40]), 0)).toBe(9); // 8-bit size, 16-bit rate
    expect(frameHeaderLength(Uint8Array.from([...base, good[7]! ^ 1]), 0)).toBe(0); // CRC-8 mismatch
    expect(frameHeaderLength(good.subarray(0, 7), 0)).toBe(0); // cut off
  });

  it('reads block size, sample rate, channels and bit depth from each code (RFC 9639 §9.1.1–9.1.7)', () => {
    const withCrc = (h: number[]) => Uint8Array.from([...h, crc8(Uint8Array.from(h))]);
    const read = (h: number[]) => parseFrameHeader(withCrc(h), 0);
    // [byte 2, byte 3, bytes after the coded number] → what the header says
    const cases: [number, number, number[], ReturnType<typeof parseFrameHeader>][] = [
      [0x10, 0x00, [], { length: 6, blockSize: 192, sampleRate: null, channels: 1, bitsPerSample: null }],
      [0x21, 0x12, [], { length: 6, blockSize: 576, sampleRate: 88200, channels: 2, bitsPerSample: 8 }],
      [0x52, 0x78, [], { length: 6, blockSize: 4608, sampleRate: 176400, channels: 8, bitsPerSample: 16 }],
      [0x63, 0x88, [0x0f], { length: 7, blockSize: 16, sampleRate: 192000, channels: 2, bitsPerSample: 16 }],
      [0x74, 0x9c, [0x0f, 0xff], { length: 8, blockSize: 4096, sampleRate: 8000, channels: 2, bitsPerSample: 24 }],
      [0x8a, 0xae, [], { length: 6, blockSize: 256, sampleRate: 48000, channels: 2, bitsPerSample: 32 }],
      [0xcb, 0x04, [], { length: 6, blockSize: 4096, sampleRate: 96000, channels: 1, bitsPerSample: 12 }],
      [0xfc, 0x0a, [0x2c], { length: 7, blockSize: 32768, sampleRate: 44000, channels: 1, bitsPerSample: 20 }],
      [0x9d, 0x08, [0x3e, 0x80], { length: 8, blockSize: 512, sampleRate: 16000, channels: 1, bitsPerSample: 16 }],
      [0x6e, 0x08, [0xff, 0x61, 0x12], { length: 9, blockSize: 256, sampleRate: 248500, channels: 1, bitsPerSample: 16 }],
    ];
    for (const [b2, b3, tail, expected] of cases) expect(read([0xff, 0xf8, b2, b3, 0x00, ...tail])).toEqual(expected);
    for (let code = 5; code <= 9; code++) expect(read([0xff, 0xf8, 0x00 | code, 0x08, 0x00])).toBeNull(); // block size code 0
    expect(read([0xff, 0xf8, 0x76, 0x08, 0x00, 0x0f])).toBeNull(); // too short for the 16-bit block size and the CRC-8
  });

  it('gives a typed error for truncated and garbage input', () => {
    const bytes = flacFile([frame(0, rampPayload(64, 1)), frame(1, rampPayload(30, 2))]);
    expect(expectMalformed(() => splitFlacFrames(bytes.subarray(0, bytes.length - 1), mono16)).message).toContain('truncated');
    expectMalformed(() => splitFlacFrames(bytes.subarray(0, 20), mono16)); // inside STREAMINFO
    expectMalformed(() => splitFlacFrames(new Uint8Array(0), mono16));
    expectMalformed(() => splitFlacFrames(ascii('RIFF....WAVEfmt '), mono16));
    expectMalformed(() => splitFlacFrames(concat(bytes.subarray(0, 42), [0x12, 0x34, 0x56, 0x78, 0x9a]), mono16)); // no frame header
    const forbiddenType = bytes.slice();
    forbiddenType[4] = 0xff; // last block, type 127
    expectMalformed(() => splitFlacFrames(forbiddenType, mono16));
    const damaged = bytes.slice();
    damaged[60] = damaged[60]! ^ 0x10;
    expect(expectMalformed(() => splitFlacFrames(damaged, mono16)).message).toContain('damaged');
    expect(splitFlacFrames(bytes.subarray(0, 42), mono16)).toEqual([]); // metadata only
  });

  it('property: arbitrary verbatim data splits back into the frames it was built from', () => {
    const syncy = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((b) => concat([0xff, 0xf8], b));
    const payload = fc
      .array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }), syncy), { minLength: 1, maxLength: 6 })
      .map((parts) => {
        const bytes = concat(...parts);
        return bytes.length % 2 === 0 ? bytes : concat(bytes, [0xff]);
      });
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 5 }), (payloads) => {
        const frames = payloads.map((p, i) => frame(i, p));
        expect(split(flacFile(frames))).toEqual(frames);
      }),
      { numRuns: 150 },
    );
  });

  it('property: cut or damaged files give frames or audio-malformed, nothing else', () => {
    const bytes = flacFile([frame(0, rampPayload(64, 1)), frame(1, rampPayload(64, 2)), frame(2, rampPayload(9, 3))]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        (cut, flips) => {
          const mutated = bytes.slice(0, cut);
          for (const [at, x] of flips) {
            if (mutated.length > 0) mutated[at % mutated.length] = mutated[at % mutated.length]! ^ x;
          }
          try {
            const frames = splitFlacFrames(mutated, mono16);
            for (const f of frames) expect(frameHeaderLength(f.data, 0)).toBeGreaterThan(0);
          } catch (e) {
            expect(e).toBeInstanceOf(VoicePassportError);
            expect((e as VoicePassportError).code).toBe('audio-malformed');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it.skipIf(!hasSox)('decodes a sox file whose short last frame codec-parser 2.5.0 dropped (skipped without sox)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vp-flac-'));
    try {
      const path = join(dir, 'tail.flac');
      // 0.75 s of tone then silence, undithered: the 3712-sample last frame is one CONSTANT subframe (13 bytes).
      const r = spawnSync('sox', ['-D', '-n', '-r', '16000', '-b', '16', '-c', '1', path, 'synth', '0.75', 'sine', '440', 'pad', '0', '0.25']);
      expect(r.status, String(r.stderr)).toBe(0);
      const bytes = new Uint8Array(readFileSync(path));
      const frames = split(bytes);
      expect(frames.length).toBe(4);
      expect(frames.at(-1)!.length).toBeLessThan(frames[0]!.length);
      const a = await decodeFlacFile(bytes, { maxSeconds: 10 });
      expect(a.samples.length).toBe(readFlacStreamInfo(bytes).totalSamples);
      expect(a.samples.length).toBe(16000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const shared = fileURLToPath(new URL('../../../shared/data/dev/sc/1cb788bc/down-0.flac', import.meta.url));
  it.skipIf(!existsSync(shared))('splits a data set file at its four frames (skipped when ../shared is absent)', async () => {
    const bytes = new Uint8Array(readFileSync(shared)); // a copy: byteOffset 0, so each frame's byteOffset is its file offset
    expect(splitFlacFrames(bytes, readFlacStreamInfo(bytes)).map((f) => f.offset)).toEqual([86, 3016, 5888, 8759]);
    const a = await decodeFlacFile(bytes, { maxSeconds: 10 });
    expect(a.samples.length).toBe(16000);
  });
});
