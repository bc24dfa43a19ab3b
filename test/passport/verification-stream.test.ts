/** SpeechStream: when a growing stream is analysed, which analysis is scored, what it holds. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import type { AudioInput } from '../../src/passport/embedder.js';
import { SpeechStream, streamAudioFormat, type StreamProgress } from '../../src/passport/verification-stream.js';
import { FakeEmbedder, mulawTone } from './fakes.js';

/** The fake embedder, remembering how many bytes each analysis saw and a copy of the last one's. */
class RecordingEmbedder extends FakeEmbedder {
  readonly seen: number[] = [];
  lastBytes: Uint8Array | null = null;
  override analyse(req: AudioInput) {
    this.seen.push(req.bytes.byteLength);
    this.lastBytes = req.bytes.slice();
    return super.analyse(req);
  }
}

const pcmu = streamAudioFormat('PCMU');
const flush = () => new Promise((resolve) => setImmediate(resolve));

function stream(embedder: FakeEmbedder, maxAudioSeconds = 30, onProgress?: (p: StreamProgress) => void) {
  return new SpeechStream({ embedder, format: pcmu, maxAudioSeconds, ...(onProgress ? { onProgress } : {}) });
}

describe('streamAudioFormat', () => {
  it('G.711 is 8 kHz, a byte a sample; L16 two bytes a sample at its rate', () => {
    expect(streamAudioFormat('PCMU')).toEqual({ contentType: 'audio/PCMU', bytesPerSecond: 8000, bytesPerSample: 1 });
    expect(streamAudioFormat('PCMA')).toEqual({ contentType: 'audio/PCMA', bytesPerSecond: 8000, bytesPerSample: 1 });
    expect(streamAudioFormat('L16', 16000)).toEqual({ contentType: 'audio/L16;rate=16000', bytesPerSecond: 32000, bytesPerSample: 2 });
    expect(streamAudioFormat('L16')).toEqual({ contentType: 'audio/L16;rate=8000', bytesPerSecond: 16000, bytesPerSample: 2 });
  });
});

describe('SpeechStream', () => {
  it('analyses nothing before analysis() is called (the checks come first), then only once the audio could hold the speech asked for', async () => {
    const e = new RecordingEmbedder();
    const s = stream(e);
    s.push(mulawTone(200, 2.5));
    await flush();
    expect(e.seen).toEqual([]);
    const result = s.analysis(3);
    await flush();
    expect(e.seen).toEqual([]); // 2.5 s cannot hold 3 s of speech
    s.push(mulawTone(200, 0.5));
    const a = await result;
    expect(e.seen).toEqual([24_000]);
    expect(a.netSpeechSeconds).toBe(3);
  });

  it('asks mayAnalyse before each analysis (not at each message), and once it says no analyses nothing more and answers null', async () => {
    const e = new RecordingEmbedder();
    let asked = 0;
    let allowed = true;
    const s = stream(e);
    const result = s.analysis(3, () => (asked++, allowed));
    // 5 s of silence in 20 ms frames: analysed once 3 s arrived, then once a second.
    const silence = mulawTone(0, 5);
    for (let i = 0; i < silence.length; i += 160) {
      s.push(silence.subarray(i, i + 160));
      await flush();
    }
    expect(e.seen).toEqual([24_000, 32_000, 40_000]);
    expect(asked).toBe(3);
    allowed = false;
    s.push(mulawTone(0, 1));
    expect(await result).toBeNull();
    expect([e.seen.length, asked, s.analyses]).toEqual([3, 4, 3]);
    // Nothing more is taken.
    s.push(mulawTone(200, 3));
    await flush();
    expect(e.seen).toHaveLength(3);
  });

  it('analyses again after each second of new audio, tells the progress, and scores the first analysis that holds enough', async () => {
    const e = new RecordingEmbedder();
    const progress: StreamProgress[] = [];
    const s = stream(e, 30, (p) => progress.push(p));
    const result = s.analysis(2);
    s.push(mulawTone(0, 1));
    s.push(mulawTone(200, 1)); // 2 s received, 1 s of speech
    await flush();
    s.push(mulawTone(200, 0.5)); // less than a second since the last analysis: none
    await flush();
    s.push(mulawTone(200, 0.5));
    const a = await result;
    expect(e.seen).toEqual([16_000, 24_000]);
    expect(progress).toEqual([{ receivedSeconds: 2, netSpeechSeconds: 1, requiredSpeechSeconds: 2 }]);
    expect(a.netSpeechSeconds).toBe(2);
    // Audio after the decision changes nothing.
    s.push(mulawTone(200, 5));
    await flush();
    expect(e.seen).toHaveLength(2);
  });

  it('a long stream without enough speech is analysed every second up to 10 s, then at each tenth more: 33 analyses for 120 s, not 119', async () => {
    const e = new RecordingEmbedder();
    const s = stream(e, 120);
    const result = s.analysis(2);
    const silence = mulawTone(0, 0.02);
    for (let i = 0; i < 6000; i++) {
      s.push(silence);
      await flush(); // the fake analyses at once: let each analysis finish before the next frame
    }
    expect(await result).toMatchObject({ embedding: null, netSpeechSeconds: 0 });
    const seconds = e.seen.map((b) => b / 8000);
    expect(seconds.slice(0, 9)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (let i = 9; i < seconds.length - 1; i++) expect(seconds[i]! - seconds[i - 1]!).toBeCloseTo(Math.max(1, 0.1 * seconds[i]!), 1);
    expect(seconds.at(-1)).toBe(120); // the maximum ends the stream: all of it, once more
    expect(seconds).toHaveLength(33);
  });

  it('ended with too little speech: the analysis of all of it, once, without a progress report', async () => {
    const e = new RecordingEmbedder();
    const progress: StreamProgress[] = [];
    const s = stream(e, 30, (p) => progress.push(p));
    const result = s.analysis(3);
    s.push(mulawTone(200, 1.2));
    s.end();
    const a = await result;
    expect(e.seen).toEqual([9_600]);
    expect(a.netSpeechSeconds).toBeCloseTo(1.2, 5);
    expect(progress).toEqual([]);
  });

  it('ended right after an analysis of the same audio: that analysis, not another', async () => {
    const e = new RecordingEmbedder();
    const s = stream(e);
    const result = s.analysis(2);
    s.push(mulawTone(0, 1));
    s.push(mulawTone(200, 1));
    await flush();
    s.end();
    expect((await result).netSpeechSeconds).toBe(1);
    expect(e.seen).toEqual([16_000]);
  });

  it('no speech at all: an analysis without an embedding, not an error', async () => {
    const s = stream(new FakeEmbedder());
    const result = s.analysis(3);
    s.push(mulawTone(0, 2));
    s.end();
    expect(await result).toMatchObject({ embedding: null, netSpeechSeconds: 0 });
  });

  it('keeps at most maxAudioSeconds and then decides on it', async () => {
    const e = new RecordingEmbedder();
    const s = stream(e, 2);
    const result = s.analysis(3);
    s.push(mulawTone(200, 1.5));
    s.push(mulawTone(200, 1.5));
    const a = await result;
    expect(e.seen).toEqual([16_000]);
    expect(a.netSpeechSeconds).toBe(2);
    expect(s.receivedSeconds).toBe(2);
  });

  it('cuts L16 audio to whole samples', async () => {
    const e = new RecordingEmbedder();
    const s = new SpeechStream({ embedder: e, format: streamAudioFormat('L16', 8000), maxAudioSeconds: 30 });
    const result = s.analysis(1);
    s.push(new Uint8Array(3001));
    s.end();
    await result;
    expect(e.seen).toEqual([3000]);
  });

  it('ended without a byte: audio-empty; an engine error rejects (overloaded once the stream has ended)', async () => {
    const empty = stream(new FakeEmbedder());
    const r1 = empty.analysis(3);
    empty.end();
    await expect(r1).rejects.toMatchObject({ code: 'audio-empty' });

    const e = new RecordingEmbedder();
    e.nextError = new VoicePassportError('overloaded', 'full', undefined, 1);
    const busy = stream(e);
    const r2 = busy.analysis(1);
    busy.push(mulawTone(200, 1));
    // Turned away once the stream has ended: nothing more will come to analyse.
    busy.end();
    await expect(r2).rejects.toMatchObject({ code: 'overloaded' });

    const malformed = new FakeEmbedder();
    malformed.nextError = new VoicePassportError('audio-malformed', 'bad');
    const bad = stream(malformed);
    const r3 = bad.analysis(1);
    bad.push(mulawTone(200, 1));
    await expect(r3).rejects.toMatchObject({ code: 'audio-malformed' });
  });

  it('a full engine queue turning away an analysis while the caller speaks skips it: the next comes a second of audio later', async () => {
    const e = new RecordingEmbedder();
    const s = stream(e);
    const result = s.analysis(3);
    const frames = (seconds: number) => {
      const tone = mulawTone(0, seconds);
      for (let i = 0; i < tone.length; i += 160) s.push(tone.subarray(i, i + 160));
    };
    e.nextError = new VoicePassportError('overloaded', 'full', undefined, 1);
    frames(3);
    await flush();
    // Turned away at 3 s (the recording embedder saw it before the fake threw); not retried at each 20 ms frame.
    expect(e.seen).toEqual([24_000]);
    frames(0.98);
    await flush();
    expect(e.seen).toEqual([24_000]);
    frames(0.02);
    await flush();
    expect(e.seen).toEqual([24_000, 32_000]);
    s.end();
    expect(await result).toMatchObject({ netSpeechSeconds: 0 });
  });

  it('abandoned: the pending analysis rejects and the audio held is overwritten', async () => {
    const e = new RecordingEmbedder();
    const s = stream(e);
    const result = s.analysis(3);
    const chunk = mulawTone(200, 1);
    s.push(chunk);
    s.abandon();
    await expect(result).rejects.toMatchObject({ code: 'validation-failed' });
    expect(e.seen).toEqual([]);
    s.push(chunk); // taken no more
    s.end();
    await flush();
    expect(e.seen).toEqual([]);
  });

  it('analysis() may be called once', () => {
    const s = stream(new FakeEmbedder());
    void s.analysis(1).catch(() => undefined);
    expect(() => s.analysis(1)).toThrow('once');
  });

  it('property: however the audio is cut into messages, an ended stream is decided on exactly the bytes sent (up to the maximum)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 40_000 }), fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 30 }), fc.double({ min: 0.5, max: 8, noNaN: true }), async (audio, cuts, required) => {
        const e = new RecordingEmbedder();
        const s = stream(e, 4);
        const result = s.analysis(required).catch((err: unknown) => err);
        let at = 0;
        for (const n of cuts) {
          s.push(audio.subarray(at, at + n));
          at += n;
          if (at >= audio.length) break;
        }
        if (at < audio.length) s.push(audio.subarray(at));
        s.end();
        const a = await result;
        const kept = audio.subarray(0, 4 * 8000);
        if (kept.length === 0) {
          expect(a).toMatchObject({ code: 'audio-empty' });
          return;
        }
        // Each analysis saw a prefix of what was sent, and the last one all that was kept unless an earlier one held enough speech.
        for (const n of e.seen) expect(n).toBeLessThanOrEqual(kept.length);
        const enough = !(a instanceof Error) && (a as { embedding: unknown }).embedding !== null && (a as { netSpeechSeconds: number }).netSpeechSeconds >= required;
        if (!enough) expect(e.lastBytes).toEqual(kept);
        else expect(Buffer.from(kept).subarray(0, e.lastBytes!.length).equals(Buffer.from(e.lastBytes!))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
