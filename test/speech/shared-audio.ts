/**
 * Test helper: real speech from ../shared/data (read-only, never copied into the repository).
 * Decodes FLAC with @wasm-audio-decoders/flac directly so these tests do not depend on
 * src/audio/flac.ts. Tests must skip, with the reason, when ../shared is absent (fresh clones).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { FLACDecoder } from '@wasm-audio-decoders/flac';

import type { MonoAudio } from '../../src/audio/types.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** ../shared/data, or null when this checkout has no shared data beside it. */
export const sharedDataDir: string | null = (() => {
  const dir = path.resolve(repoRoot, '..', 'shared', 'data');
  return existsSync(path.join(dir, 'dev')) ? dir : null;
})();

export const sharedDataSkipReason = '../shared/data is absent (a fresh clone has no shared data): skipping real-speech tests';

/** Decodes one FLAC file under ../shared/data (channel 0; the data set is mono). */
export async function readSharedFlac(relativePath: string): Promise<MonoAudio> {
  if (sharedDataDir === null) throw new Error(sharedDataSkipReason);
  const bytes = new Uint8Array(await readFile(path.join(sharedDataDir, relativePath)));
  const decoder = new FLACDecoder();
  await decoder.ready;
  try {
    const decoded = await decoder.decodeFile(bytes);
    const samples = decoded.channelData[0];
    if (samples === undefined || decoded.errors.length > 0) throw new Error(`cannot decode ${relativePath}`);
    return { sampleRate: decoded.sampleRate, samples: Float32Array.from(samples) };
  } finally {
    decoder.free();
  }
}
