import { describe, expect, it, vi } from 'vitest';
import wavefile from 'wavefile';
import { decodeWav, inspectWav } from '../../src/audio/wav.js';
import { VoicePassportError, type ErrorCode } from '../../src/errors.js';
import { buildWav, packFloats, packInts } from './wav-builder.js';

const opts = { maxSeconds: 120 };

function expectCode(f: () => unknown, code: ErrorCode): VoicePassportError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(VoicePassportError);
    expect((e as VoicePassportError).code, (e as Error).message).toBe(code);
    return e as VoicePassportError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

const asArray = (x: Float32Array) => Array.from(x);

describe('decodeWav: encodings', () => {
  it('PCM 8-bit unsigned (128 is silence)', () => {
    const a = decodeWav(buildWav({ bitsPerSample: 8, sampleRate: 8000, data: packInts([0, 64, 128, 192, 255], 1) }), opts);
    expect(asArray(a.samples)).toEqual([-1, -0.5, 0, 0.5, 127 / 128]);
    expect(a).toMatchObject({ sampleRate: 8000, channels: 1, encoding: 'pcm8', durationSeconds: 5 / 8000 });
  });

  it('PCM 16-bit', () => {
    const a = decodeWav(buildWav({ data: packInts([-32768, -16384, 0, 16384, 32767], 2) }), opts);
    expect(asArray(a.samples)).toEqual([-1, -0.5, 0, 0.5, 32767 / 32768].map(Math.fround));
    expect(a.encoding).toBe('pcm16');
  });

  it('PCM 24-bit', () => {
    const a = decodeWav(buildWav({ bitsPerSample: 24, data: packInts([-8388608, -4194304, 1, 4194304], 3) }), opts);
    expect(asArray(a.samples)).toEqual([-1, -0.5, 1 / 8388608, 0.5].map(Math.fround));
    expect(a.encoding).toBe('pcm24');
  });

  it('PCM 32-bit', () => {
    const a = decodeWav(buildWav({ bitsPerSample: 32, data: packInts([-2147483648, -1073741824, 0, 1073741824], 4) }), opts);
    expect(asArray(a.samples)).toEqual([-1, -0.5, 0, 0.5]);
    expect(a.encoding).toBe('pcm32');
  });

  it('IEEE float 32 and 64', () => {
    const values = [-1, -0.25, 0, 0.125, 0.999];
    const f32 = decodeWav(buildWav({ formatTag: 3, bitsPerSample: 32, data: packFloats(values, 32) }), opts);
    expect(asArray(f32.samples)).toEqual(values.map(Math.fround));
    expect(f32.encoding).toBe('float32');
    const f64 = decodeWav(buildWav({ formatTag: 3, bitsPerSample: 64, data: packFloats(values, 64) }), opts);
    expect(asArray(f64.samples)).toEqual(values.map(Math.fround));
    expect(f64.encoding).toBe('float64');
  });

  it('clamps finite float samples beyond ±1 (what a fixed-point converter would do)', () => {
    const a = decodeWav(buildWav({ formatTag: 3, bitsPerSample: 32, data: packFloats([1.5, -3, 0.5], 32) }), opts);
    expect(asArray(a.samples)).toEqual([1, -1, 0.5]);
  });

  it('G.711 µ-law and A-law', () => {
    const mu = decodeWav(buildWav({ formatTag: 7, bitsPerSample: 8, sampleRate: 8000, data: Uint8Array.of(0x80, 0xff, 0x00) }), opts);
    expect(asArray(mu.samples)).toEqual([32124 / 32768, 0, -32124 / 32768].map(Math.fround));
    expect(mu.encoding).toBe('mulaw');
    const a = decodeWav(buildWav({ formatTag: 6, bitsPerSample: 8, sampleRate: 8000, data: Uint8Array.of(0xaa, 0xd5, 0x55) }), opts);
    expect(asArray(a.samples)).toEqual([32256 / 32768, 8 / 32768, -8 / 32768].map(Math.fround));
    expect(a.encoding).toBe('alaw');
  });

  it('WAVE_FORMAT_EXTENSIBLE with PCM, float and µ-law SubFormats', () => {
    const pcm = decodeWav(buildWav({ extensible: true, bitsPerSample: 24, data: packInts([4194304, -4194304], 3) }), opts);
    expect(asArray(pcm.samples)).toEqual([0.5, -0.5]);
    expect(pcm.encoding).toBe('pcm24');
    // 24 valid bits in a 32-bit container are left-justified, so the 32-bit scale is right.
    const padded = decodeWav(buildWav({ extensible: true, bitsPerSample: 32, validBits: 24, data: packInts([1073741824], 4) }), opts);
    expect(asArray(padded.samples)).toEqual([0.5]);
    const float = decodeWav(buildWav({ extensible: true, formatTag: 3, bitsPerSample: 32, channels: 2, data: packFloats([0.5, 0.25], 32) }), opts);
    expect(asArray(float.samples)).toEqual([0.375]);
    expect(float.encoding).toBe('float32');
    const mu = decodeWav(buildWav({ extensible: true, formatTag: 7, bitsPerSample: 8, sampleRate: 8000, data: Uint8Array.of(0xff) }), opts);
    expect(mu.encoding).toBe('mulaw');
  });

  it('big-endian RIFX', () => {
    const a = decodeWav(buildWav({ container: 'RIFX', data: packInts([16384, -32768], 2, false) }), opts);
    expect(asArray(a.samples)).toEqual([0.5, -1]);
  });

  it('RF64 with its ds64 chunk', () => {
    const a = decodeWav(buildWav({ container: 'RF64', data: packInts([16384, -16384, 0], 2) }), opts);
    expect(asArray(a.samples)).toEqual([0.5, -0.5, 0]);
  });

  it('agrees with files wavefile itself writes', () => {
    const ints = [0, 1000, -1000, 32767, -32768, 12345];
    for (const depth of ['16', '24', '32f', '8m', '8a'] as const) {
      const w = new wavefile.WaveFile();
      const scale = depth === '24' ? 256 : 1;
      const samples = depth === '32f' ? ints.map((v) => v / 32768) : ints.map((v) => v * scale);
      if (depth === '8m' || depth === '8a') {
        w.fromScratch(1, 8000, '16', ints);
        if (depth === '8m') w.toMuLaw();
        else w.toALaw();
      } else {
        w.fromScratch(2, 22050, depth, [samples, samples]);
      }
      const a = decodeWav(w.toBuffer(), opts);
      for (let i = 0; i < ints.length; i++) {
        // G.711 is lossy: within a quantisation step.
        const tolerance = depth.startsWith('8') ? Math.max(16, Math.abs(ints[i]!) / 15) / 32768 : 1e-6;
        expect(Math.abs(a.samples[i]! - ints[i]! / 32768), `${depth} sample ${i}`).toBeLessThanOrEqual(tolerance);
      }
    }
  });
});

describe('decodeWav: channels', () => {
  const stereo = buildWav({ channels: 2, data: packInts([16384, -16384, 8192, 8192, 0, 32767], 2) });

  it('downmixes by averaging the channels', () => {
    const a = decodeWav(stereo, opts);
    expect(asArray(a.samples)).toEqual([0, 0.25, 32767 / 65536].map(Math.fround));
    expect(a.channels).toBe(2);
    expect(a.durationSeconds).toBe(3 / 16000);
  });

  it('picks one channel when asked', () => {
    expect(asArray(decodeWav(stereo, { ...opts, channel: 0 }).samples)).toEqual([0.5, 0.25, 0]);
    expect(asArray(decodeWav(stereo, { ...opts, channel: 1 }).samples)).toEqual([-0.5, 0.25, 32767 / 32768].map(Math.fround));
  });

  it('refuses more than 16 channels before decoding any', () => {
    const many = buildWav({ channels: 17, data: packInts(new Array(17 * 4).fill(0), 2) });
    expect(() => decodeWav(many, opts)).toThrow(expect.objectContaining({ code: 'audio-unsupported', details: { channels: 17, maxChannels: 16 } }));
    expect(decodeWav(buildWav({ channels: 16, data: packInts(new Array(16 * 4).fill(8192), 2) }), opts).samples).toEqual(new Float32Array(4).fill(0.25));
  });

  it('handles many channels', () => {
    const channels = 6;
    const frame = [1, 2, 3, 4, 5, 6].map((c) => c * 1024);
    const a = decodeWav(buildWav({ channels, data: packInts([...frame, ...frame], 2) }), { ...opts, channel: 4 });
    expect(asArray(a.samples)).toEqual([5 * 1024 / 32768, 5 * 1024 / 32768]);
    const mixed = decodeWav(buildWav({ channels, data: packInts(frame, 2) }), opts);
    expect(mixed.samples[0]).toBeCloseTo(3.5 * 1024 / 32768, 7);
  });

  it.each([2, -1, 0.5, Number.NaN])('refuses channel %s of a stereo file with validation-failed', (channel) => {
    const e = expectCode(() => decodeWav(stereo, { ...opts, channel }), 'validation-failed');
    expect(e.details).toMatchObject({ channels: 2 });
  });
});

describe('decodeWav: chunk layout', () => {
  const data = packInts([100, 200, 300], 2);
  const expected = [100, 200, 300].map((v) => v / 32768).map(Math.fround);

  it('skips unknown chunks before, between and after (with odd sizes and pad bytes)', () => {
    const junk = (n: number) => ({ id: 'JUNK', body: new Uint8Array(n).fill(0xee) });
    const a = decodeWav(buildWav({ data, before: [junk(3)], between: [{ id: 'LIST', body: new Uint8Array(7) }], after: [junk(5)] }), opts);
    expect(asArray(a.samples)).toEqual(expected);
  });

  it('accepts a fmt chunk after the data chunk', () => {
    expect(asArray(decodeWav(buildWav({ data, fmtAfterData: true }), opts).samples)).toEqual(expected);
  });

  it('ignores the RIFF size field (streaming writers leave it 0 or 0xFFFFFFFF)', () => {
    expect(asArray(decodeWav(buildWav({ data, riffSizeField: 0 }), opts).samples)).toEqual(expected);
    expect(asArray(decodeWav(buildWav({ data, riffSizeField: 0xffffffff }), opts).samples)).toEqual(expected);
  });

  it('ignores garbage after the audio and a trailing partial frame', () => {
    const wav = buildWav({ data, after: [{ id: 'LIST', body: new Uint8Array(4), sizeField: 0xfffffff0 }] });
    expect(asArray(decodeWav(wav, opts).samples)).toEqual(expected);
    const partial = buildWav({ data: Uint8Array.of(...data, 0x7f) });
    expect(asArray(decodeWav(partial, opts).samples)).toEqual(expected);
  });

  it('decodes audio longer than one internal block exactly', () => {
    const n = 700_000; // 1.4 MB of 16-bit samples: two blocks
    const ints = Array.from({ length: n }, (_, i) => ((i * 7919) % 65536) - 32768);
    const a = decodeWav(buildWav({ data: packInts(ints, 2) }), opts);
    expect(a.samples.length).toBe(n);
    for (const i of [0, 1, 524287, 524288, 524289, n - 1]) expect(a.samples[i]).toBe(ints[i]! / 32768);
  });

  it('reports the layout from the header alone', () => {
    expect(inspectWav(buildWav({ channels: 2, sampleRate: 44100, data: new Uint8Array(44100 * 4) }), 120)).toMatchObject({
      container: 'RIFF',
      encoding: 'pcm16',
      channels: 2,
      sampleRate: 44100,
      blockAlign: 4,
      dataOffset: 44,
      frames: 44100,
      durationSeconds: 1,
    });
  });
});

describe('decodeWav: bad input gets a typed, actionable error', () => {
  it('empty body → audio-empty', () => {
    expectCode(() => decodeWav(new Uint8Array(0), opts), 'audio-empty');
  });

  it('a data chunk with no frames → audio-empty', () => {
    expectCode(() => decodeWav(buildWav({ data: new Uint8Array(0) }), opts), 'audio-empty');
    expectCode(() => decodeWav(buildWav({ channels: 2, data: new Uint8Array(3) }), opts), 'audio-empty');
  });

  it.each([
    ['text', new TextEncoder().encode('hello, this is definitely not a wave file')],
    ['JSON', new TextEncoder().encode('{"audio":"base64..."}')],
    ['a few bytes', Uint8Array.of(1, 2, 3)],
    ['RIFF but not WAVE', new TextEncoder().encode('RIFF\x04\x00\x00\x00AVI LIST')],
    ['a bare RIFF', new TextEncoder().encode('RIFF')],
  ])('non-audio bytes (%s) → audio-malformed', (_name, bytes) => {
    expect(expectCode(() => decodeWav(bytes, opts), 'audio-malformed').message).toMatch(/WAV|truncated/);
  });

  it.each([
    ['FLAC', 'fLaC\x00\x00\x00\x22'],
    ['Ogg (Opus/Vorbis)', 'OggS\x00\x02\x00\x00'],
    ['MP3/MPEG audio', 'ID3\x04\x00\x00\x00\x00'],
  ])('another audio format (%s) → audio-unsupported naming it', (name, text) => {
    const e = expectCode(() => decodeWav(Uint8Array.from(text, (c) => c.charCodeAt(0)), opts), 'audio-unsupported');
    expect(e.details).toEqual({ detectedFormat: name });
    expect(e.message).toContain('Convert it to WAV');
  });

  it('a 44-byte file that claims 4 GB of data is refused as lying, without allocating', () => {
    const liar = buildWav({ data: new Uint8Array(0), dataSizeField: 0xffffffff });
    expect(liar.length).toBe(44);
    const before = process.memoryUsage().arrayBuffers;
    const e = expectCode(() => decodeWav(liar, opts), 'audio-malformed');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    expect(e.details).toEqual({ declaredBytes: 0xffffffff, availableBytes: 0 });
    expect(e.message).toContain('truncated');
  });

  it('a truncated file (data size one byte more than present) → audio-malformed', () => {
    const wav = buildWav({ data: packInts([1, 2, 3], 2) });
    expectCode(() => decodeWav(wav.subarray(0, wav.length - 1), opts), 'audio-malformed');
  });

  it('an RF64 file whose ds64 claims more than present → audio-malformed', () => {
    const wav = buildWav({ container: 'RF64', data: packInts([1, 2], 2), dataSizeField: 2 ** 40 });
    expect(expectCode(() => decodeWav(wav, opts), 'audio-malformed').details).toMatchObject({ declaredBytes: 2 ** 40 });
  });

  it('a chunk before the audio that runs past the end → audio-malformed', () => {
    const wav = buildWav({ data: packInts([1], 2), before: [{ id: 'LIST', body: new Uint8Array(4), sizeField: 1 << 30 }] });
    expect(expectCode(() => decodeWav(wav, opts), 'audio-malformed').details).toMatchObject({ chunk: 'LIST' });
  });

  it('0 channels → audio-malformed', () => {
    const e = expectCode(() => decodeWav(buildWav({ channels: 0, blockAlign: 2, data: packInts([1], 2) }), opts), 'audio-malformed');
    expect(e.message).toContain('0 channels');
  });

  it.each([0, 1, 4000, 7999, 48001, 96000, 0xffffffff])('sample rate %i → audio-sample-rate-unsupported', (sampleRate) => {
    const e = expectCode(() => decodeWav(buildWav({ sampleRate, data: packInts([1, 2], 2) }), opts), 'audio-sample-rate-unsupported');
    expect(e.details).toEqual({ sampleRate, minSampleRate: 8000, maxSampleRate: 48000 });
  });

  it('accepts the edges of the rate range', () => {
    expect(decodeWav(buildWav({ sampleRate: 8000, data: packInts([1], 2) }), opts).sampleRate).toBe(8000);
    expect(decodeWav(buildWav({ sampleRate: 48000, data: packInts([1], 2) }), opts).sampleRate).toBe(48000);
  });

  it('an inconsistent block align → audio-malformed', () => {
    const e = expectCode(() => decodeWav(buildWav({ channels: 2, blockAlign: 3, data: new Uint8Array(12) }), opts), 'audio-malformed');
    expect(e.details).toEqual({ channels: 2, bitsPerSample: 16, blockAlign: 3 });
  });

  it.each([
    [2, 4, 'Microsoft ADPCM'],
    [0x11, 4, 'IMA ADPCM'],
    [0x55, 16, 'MP3'],
    [0x1234, 16, 'format tag 0x1234'],
  ])('format tag %i → audio-unsupported naming it', (formatTag, bitsPerSample, name) => {
    const e = expectCode(() => decodeWav(buildWav({ formatTag, bitsPerSample, blockAlign: 1, data: new Uint8Array(8) }), opts), 'audio-unsupported');
    expect(e.message).toContain(name);
  });

  it.each([
    [1, 12],
    [1, 64],
    [3, 16],
    [7, 16],
  ])('format %i with %i-bit samples → audio-unsupported', (formatTag, bitsPerSample) => {
    expectCode(() => decodeWav(buildWav({ formatTag, bitsPerSample, blockAlign: 2, data: new Uint8Array(8) }), opts), 'audio-unsupported');
  });

  it('an extensible header with a foreign SubFormat GUID → audio-unsupported', () => {
    const wav = buildWav({ extensible: true, data: packInts([1], 2) });
    wav[36 + 2 + 10] = 0x5a; // corrupt the GUID tail (fmt body starts at 20; GUID at +24)
    expectCode(() => decodeWav(wav, opts), 'audio-unsupported');
  });

  it('no fmt chunk, or no data chunk → audio-malformed', () => {
    const wav = buildWav({ data: packInts([1], 2) });
    const noFmt = wav.slice();
    noFmt.set([0x66, 0x6d, 0x74, 0x78], 12); // 'fmtx'
    expect(expectCode(() => decodeWav(noFmt, opts), 'audio-malformed').message).toContain('"fmt "');
    expect(expectCode(() => decodeWav(wav.subarray(0, 36), opts), 'audio-malformed').message).toContain('"data"');
  });

  it('a fmt chunk shorter than 16 bytes → audio-malformed', () => {
    const wav = buildWav({ data: packInts([1], 2), before: [{ id: 'fmt ', body: new Uint8Array(10) }] });
    expectCode(() => decodeWav(wav, opts), 'audio-malformed');
  });

  it('longer than the maximum → audio-too-long, checked from the header before decoding', () => {
    const wav = buildWav({ sampleRate: 8000, bitsPerSample: 16, data: new Uint8Array(2 * 8000 * 3) });
    const readSample = vi.spyOn(DataView.prototype, 'getInt16');
    const e = expectCode(() => decodeWav(wav, { maxSeconds: 2.5 }), 'audio-too-long');
    expect(readSample).not.toHaveBeenCalled();
    expect(e.details).toEqual({ durationSeconds: 3, maxSeconds: 2.5 });
    expect(e.status).toBe(413);
    expect(decodeWav(wav, { maxSeconds: 3 }).durationSeconds).toBe(3);
    expect(readSample).toHaveBeenCalledTimes(8000 * 3); // the spy does see the decoder's reads
    readSample.mockRestore();
  });

  it.each([
    ['NaN', Number.NaN],
    ['+Inf', Number.POSITIVE_INFINITY],
    ['-Inf', Number.NEGATIVE_INFINITY],
  ])('%s float samples → audio-invalid-samples with the count', (_name, bad) => {
    for (const bits of [32, 64] as const) {
      const wav = buildWav({ formatTag: 3, bitsPerSample: bits, channels: 2, data: packFloats([0.1, bad, 0.2, 0.3, bad, bad], bits) });
      const e = expectCode(() => decodeWav(wav, opts), 'audio-invalid-samples');
      expect(e.details).toEqual({ nonFiniteSamples: 3 });
      // Picking the clean channel does not hide a corrupt file.
      expectCode(() => decodeWav(wav, { ...opts, channel: 0 }), 'audio-invalid-samples');
    }
  });
});
