/**
 * Writes FLAC files bit by bit for the tests (RFC 9639), independently of the decoder and of any
 * encoder, so the format's corner cases (odd bit depths, header fields that defer to STREAMINFO,
 * frames that disagree with STREAMINFO) can be built without `flac` installed. Subframes are
 * CONSTANT or VERBATIM (§9.2.3, §9.2.4) and channels are independent (§9.1.3 codes 0–7), so every
 * file decodes to samples known in advance.
 */
import { crc16, crc8 } from '../../src/audio/flac-frames.js';

class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  /** Append the low `bits` bits of `value` (two's complement for negatives), most significant first. */
  write(value: number, bits: number): this {
    for (let b = bits - 1; b >= 0; b--) {
      this.acc = (this.acc << 1) | (Math.floor(value / 2 ** b) & 1);
      if (++this.n === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.n = 0;
      }
    }
    return this;
  }

  /** The bytes so far, the last zero-padded to a byte boundary. */
  done(): number[] {
    return this.n === 0 ? [...this.bytes] : [...this.bytes, this.acc << (8 - this.n)];
  }
}

export interface StreamInfoSpec {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0: unknown (§8.2). */
  totalSamples: number;
  minBlockSize?: number;
  maxBlockSize?: number;
}

/** The 34-byte STREAMINFO body (§8.2), frame sizes and MD5 left unknown. */
export function streamInfoBody(s: StreamInfoSpec): number[] {
  return new BitWriter()
    .write(s.minBlockSize ?? 16, 16)
    .write(s.maxBlockSize ?? 65535, 16)
    .write(0, 24)
    .write(0, 24)
    .write(s.sampleRate, 20)
    .write(s.channels - 1, 3)
    .write(s.bitsPerSample - 1, 5)
    .write(s.totalSamples, 36)
    .write(0, 128)
    .done();
}

export type Subframe = { constant: number } | { verbatim: number[] };

export interface FrameSpec {
  /** Frame number (fixed blocking). */
  number: number;
  blockSize: number;
  sampleRate: number;
  bitsPerSample: number;
  /** One per channel. */
  subframes: Subframe[];
  /** Write sample rate code 0 / bit depth code 0, "get from STREAMINFO" (§9.1.2, §9.1.4). */
  rateFromStreamInfo?: boolean;
  depthFromStreamInfo?: boolean;
}

const RATE_CODES: Record<number, number> = { 88200: 1, 176400: 2, 192000: 3, 8000: 4, 16000: 5, 22050: 6, 24000: 7, 32000: 8, 44100: 9, 48000: 10, 96000: 11 };
const DEPTH_CODES: Record<number, number> = { 8: 1, 12: 2, 16: 4, 20: 5, 24: 6, 32: 7 };

/** UTF-8-style coded number (§9.1.5): k continuation bytes carry 6 bits each, the lead byte 6 − k. */
function codedNumber(n: number): number[] {
  if (n < 0x80) return [n];
  let k = 1;
  while (n >= 2 ** (6 + 5 * k)) k++;
  const out: number[] = [];
  let rest = n;
  for (let i = 0; i < k; i++) {
    out.unshift(0x80 | (rest % 64));
    rest = Math.floor(rest / 64);
  }
  return [((0xff << (7 - k)) & 0xff) | rest, ...out];
}

/** A whole frame: header (block size always in the 16-bit field, code 7), subframes, CRC-16. */
export function flacFrame(f: FrameSpec): Uint8Array {
  const rateCode = f.rateFromStreamInfo ? 0 : (RATE_CODES[f.sampleRate] ?? 13);
  const depthCode = f.depthFromStreamInfo ? 0 : DEPTH_CODES[f.bitsPerSample];
  if (depthCode === undefined) throw new Error(`bit depth ${f.bitsPerSample} has no header code; set depthFromStreamInfo`);
  const header = [0xff, 0xf8, (7 << 4) | rateCode, ((f.subframes.length - 1) << 4) | (depthCode << 1), ...codedNumber(f.number)];
  header.push((f.blockSize - 1) >> 8, (f.blockSize - 1) & 0xff);
  if (rateCode === 13) header.push(f.sampleRate >> 8, f.sampleRate & 0xff);
  header.push(crc8(Uint8Array.from(header)));

  const bits = new BitWriter();
  for (const s of f.subframes) {
    if ('constant' in s) bits.write(0, 8).write(s.constant, f.bitsPerSample); // type 000000, no wasted bits
    else {
      if (s.verbatim.length !== f.blockSize) throw new Error('a VERBATIM subframe holds one sample per block position');
      bits.write(0b00000010, 8);
      for (const v of s.verbatim) bits.write(v, f.bitsPerSample);
    }
  }
  const body = Uint8Array.from([...header, ...bits.done()]);
  const crc = crc16(body);
  return Uint8Array.from([...body, crc >> 8, crc & 0xff]);
}

/** "fLaC", STREAMINFO, any further metadata blocks as [type, ...body], then the frames. */
export function flacFile(info: StreamInfoSpec, frames: Uint8Array[], metadata: number[][] = []): Uint8Array {
  const blocks = [[0, ...streamInfoBody(info)], ...metadata];
  const meta = blocks.flatMap(([type, ...body], i) => {
    const last = i === blocks.length - 1 ? 0x80 : 0;
    return [last | type!, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff, ...body];
  });
  const out = new Uint8Array(4 + meta.length + frames.reduce((n, f) => n + f.length, 0));
  out.set([0x66, 0x4c, 0x61, 0x43]);
  out.set(meta, 4);
  let at = 4 + meta.length;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** Parse hex (whitespace allowed) into bytes. */
export const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.replace(/\s+/g, '').match(/../g)!.map((h) => parseInt(h, 16)));
