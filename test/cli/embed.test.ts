/**
 * `features`, `embed` and `compare` end to end as a child process with the default model
 * (models/vp-test-tiny.json) on WAV files generated here: a synthetic voiced signal (glottal pulses
 * through vowel formant resonators) that Silero VAD calls speech, so no shared data is needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { speechLike } from '../model/speech-like.js';
import { wav } from '../model/wav.js';
import { cliError, runCli, tempDir } from './run-cli.js';

interface EmbedLine {
  file: string;
  model: string;
  dim: number;
  embedding: number[];
  netSpeechSeconds: number;
  snrDb: number | null;
  clippedRatio: number;
}

let dir: string;
let voiceA: string;
let folder: string;
let voiceB: string;
let corrupt: string;

beforeAll(() => {
  dir = tempDir();
  voiceA = path.join(dir, 'voice-a.wav');
  fs.writeFileSync(voiceA, wav(speechLike({ seconds: 4, pitchHz: 120 }), 16000));
  folder = path.join(dir, 'folder');
  fs.mkdirSync(folder);
  // Sorted order is the output order: the good file first.
  voiceB = path.join(folder, '1-voice-b.wav');
  fs.writeFileSync(voiceB, wav(speechLike({ seconds: 3, pitchHz: 210, formantScale: 1.15 }), 8000));
  corrupt = path.join(folder, '2-corrupt.wav');
  fs.writeFileSync(corrupt, Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'), Buffer.alloc(40, 0xff)]));
  fs.writeFileSync(path.join(folder, 'notes.txt'), 'not audio: skipped by extension');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const norm = (v: number[]) => Math.hypot(...v);
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);

describe('voice-passport features / embed / compare (the test model)', () => {
  let a: EmbedLine;
  let b: EmbedLine;

  it('features prints frames × 80 for --num-mel-bins 80 (25 ms / 10 ms frames, snip edges)', async () => {
    const r = await runCli(['features', voiceA, '--num-mel-bins', '80'], { VP_MODEL: 'vp-test-tiny' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as number[][];
    // Kaldi with snip-edges: 1 + floor((64000 - 400) / 160) frames.
    expect(rows.length).toBe(1 + Math.floor((4 * 16000 - 400) / 160));
    expect(new Set(rows.map((row) => row.length))).toEqual(new Set([80]));
    expect(rows.flat().every(Number.isFinite)).toBe(true);
  }, 30_000);

  it('embed of one file prints one JSON object with a unit-norm embedding and the quality figures', async () => {
    const r = await runCli(['embed', voiceA], { VP_MODEL: 'vp-test-tiny' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    a = JSON.parse(r.stdout) as EmbedLine;
    expect(Object.keys(a).sort()).toEqual(['clippedRatio', 'dim', 'embedding', 'file', 'model', 'netSpeechSeconds', 'snrDb']);
    expect(a).toMatchObject({ file: voiceA, model: 'vp-test-tiny', dim: 128, clippedRatio: 0 });
    expect(a.embedding).toHaveLength(128);
    expect(norm(a.embedding)).toBeCloseTo(1, 4);
    // 4 s with a pause every fourth syllable; VAD padding makes it a little more than 3 s of speech.
    expect(a.netSpeechSeconds).toBeGreaterThan(2.5);
    expect(a.netSpeechSeconds).toBeLessThanOrEqual(4);
  }, 30_000);

  it('embed of a folder prints one JSONL line per audio file, the corrupt one with error.code, and exits 1', async () => {
    const r = await runCli(['embed', folder], { VP_MODEL: 'vp-test-tiny' });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.file)).toEqual([voiceB, corrupt]);
    b = lines[0] as unknown as EmbedLine;
    expect(b).toMatchObject({ model: 'vp-test-tiny', dim: 128 });
    expect(norm(b.embedding)).toBeCloseTo(1, 4);
    expect(lines[1]).toEqual({ file: corrupt, error: expect.objectContaining({ code: 'audio-malformed', message: expect.stringContaining('fmt') }) });
  }, 30_000);

  it('compare prints the cosine of the two embeddings', async () => {
    const r = await runCli(['compare', voiceA, voiceB], { VP_MODEL: 'vp-test-tiny' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { cosine: number; netSpeechSeconds: number[] };
    // The same engine as `embed`: its cosine is the dot product of the embeddings printed above
    // (6-decimal rounding of 128 components bounds the difference).
    expect(out.cosine).toBeCloseTo(dot(a.embedding, b.embedding), 4);
    expect(out.cosine).toBeLessThan(0.9999);
    expect(out.netSpeechSeconds).toEqual([a.netSpeechSeconds, b.netSpeechSeconds]);
  }, 30_000);

  it('embed of a folder without audio files is refused (exit 2), not a silent success with no output', async () => {
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(path.join(empty, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(empty, 'sub', 'notes.txt'), 'not audio');
    const r = await runCli(['embed', empty], { VP_MODEL: 'vp-test-tiny' });
    expect([r.code, r.stdout, cliError(r).code]).toEqual([2, '', 'validation-failed']);
    expect(cliError(r).message).toBe(`No audio files (.wav, .flac, .ulaw, .alaw, .pcmu, .pcma) under ${empty}\nusage: voice-passport embed <audio|folder>... [--model ID]`);
  }, 30_000);
});
