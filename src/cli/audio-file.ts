/**
 * Reads an audio file for the CLI and turns it into what the service's decoder accepts:
 * bytes plus a Content-Type. FLAC (data sets) is decoded here and re-wrapped as float WAV,
 * because the HTTP API itself does not take FLAC.
 */
import type { Dirent } from 'node:fs';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import wavefile from 'wavefile';
import { decodeAudio } from '../audio/decode.js';
import { decodeFlacFile } from '../audio/flac.js';
import type { DecodedAudio } from '../audio/types.js';
import { VoicePassportError } from '../errors.js';

export const audioExtensions = ['.wav', '.flac', '.ulaw', '.alaw', '.pcmu', '.pcma'] as const;

export function contentTypeForFile(file: string): string {
  switch (path.extname(file).toLowerCase()) {
    case '.wav':
      return 'audio/wav';
    case '.ulaw':
    case '.pcmu':
      return 'audio/PCMU';
    case '.alaw':
    case '.pcma':
      return 'audio/PCMA';
    case '.flac':
      return 'audio/flac';
    default:
      throw new VoicePassportError(
        'audio-unsupported',
        `${path.basename(file)}: unknown audio file extension; use one of ${audioExtensions.join(', ')}`,
      );
  }
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new VoicePassportError('not-found', `${file}: cannot read (${code ?? 'error'})`);
  }
}

/** Decoded mono samples at the file's own rate. */
export async function decodeAudioFile(file: string, maxSeconds: number): Promise<DecodedAudio> {
  const contentType = contentTypeForFile(file);
  const bytes = await readBytes(file);
  if (contentType === 'audio/flac') return decodeFlacFile(bytes, { maxSeconds });
  return decodeAudio(bytes, contentType, { maxSeconds });
}

/** Bytes the embedding engine accepts (FLAC becomes 32-bit float WAV, lossless). */
export async function engineInputForFile(file: string, maxSeconds: number): Promise<{ bytes: Uint8Array; contentType: string }> {
  const contentType = contentTypeForFile(file);
  if (contentType !== 'audio/flac') return { bytes: await readBytes(file), contentType };
  const audio = await decodeAudioFile(file, maxSeconds);
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, audio.sampleRate, '32f', audio.samples);
  return { bytes: wav.toBuffer(), contentType: 'audio/wav' };
}

/** Expands folders recursively into audio files (sorted, so runs are reproducible). */
/**
 * What a directory entry is, a symbolic link followed (a data set is often a folder of links into
 * another); undefined for a dangling link.
 */
export async function entryKind(dir: string, d: Dirent): Promise<'folder' | 'file' | 'other' | undefined> {
  const kind = d.isSymbolicLink() ? await stat(path.join(dir, d.name)).catch(() => undefined) : d;
  if (kind === undefined) return undefined;
  return kind.isDirectory() ? 'folder' : kind.isFile() ? 'file' : 'other';
}

/**
 * The audio files under `dir`, symbolic links followed (a data set is often a folder of links into
 * another), each real folder read once (`seen`), so a link back up the tree cannot loop.
 */
async function audioFilesUnder(dir: string, seen: Set<string>): Promise<string[]> {
  const real = await realpath(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, d.name);
    const kind = await entryKind(dir, d);
    if (kind === 'folder') out.push(...(await audioFilesUnder(full, seen)));
    else if (kind === 'file' && (audioExtensions as readonly string[]).includes(path.extname(d.name).toLowerCase())) out.push(full);
  }
  return out;
}

export async function expandAudioPaths(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    let info;
    try {
      info = await stat(input);
    } catch {
      out.push(input); // reported per file later as not-found
      continue;
    }
    if (!info.isDirectory()) {
      out.push(input);
      continue;
    }
    out.push(...(await audioFilesUnder(input, new Set())).sort());
  }
  return out;
}
