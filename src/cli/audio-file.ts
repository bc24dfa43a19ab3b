/**
 * Reads an audio file for the CLI and turns it into what the service's decoder accepts:
 * bytes plus a Content-Type. FLAC (data sets) is decoded here and re-wrapped as float WAV,
 * because the HTTP API itself does not take FLAC.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
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
    const entries = await readdir(input, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((d) => d.isFile() && (audioExtensions as readonly string[]).includes(path.extname(d.name).toLowerCase()))
      .map((d) => path.join(d.parentPath, d.name))
      .sort();
    out.push(...files);
  }
  return out;
}
