/**
 * Impostor cohort files for AS-norm (src/scoring/as-norm.ts): raw little-endian float32 [N, D], one
 * L2-normalised embedding per row (a cohort speaker, or one of its utterances), beside the model
 * manifest (`<id>.cohort-<channel>.f32`, written by `voice-passport cohort`). No header and no parser:
 * the manifest's `scoreNormalisation.cohorts.<channel>` says N (`rows`, else `speakers`) and the
 * sha256, and `embeddingDim` is D.
 * A file is checked as the ONNX file is, when the manifest is loaded: size N·D·4, sha256, every
 * value finite, no all-zero row. Errors name the file.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { VoicePassportError } from '../errors.js';
import type { CohortMatrix } from '../scoring/as-norm.js';

/** A cohort as the scorer uses it: rows L2-normalised (again, in case the file was not quite). */
export interface LoadedCohort extends CohortMatrix {
  /** Absolute path of the file. */
  file: string;
  sha256: string;
}

/** The file's bytes for `size` rows of `dim` floats (little-endian, whatever the machine). */
export function cohortFileBytes(rows: Float32Array): Uint8Array {
  const bytes = new Uint8Array(rows.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < rows.length; i++) view.setFloat32(i * 4, rows[i] as number, true);
  return bytes;
}

export function sha256OfBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Reads and checks a cohort file against what the manifest says of it. `what` names the cohort in
 * errors (e.g. `model "x" wideband cohort`).
 */
export async function readCohortFile(file: string, expected: { rows: number; dim: number; sha256: string }, what: string): Promise<LoadedCohort> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new VoicePassportError('model-invalid', `${what}: cohort file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const { rows: size, dim } = expected;
  if (bytes.length !== size * dim * 4) {
    throw new VoicePassportError(
      'model-invalid',
      `${what}: cohort file ${file} has ${bytes.length} bytes, but ${size} rows × ${dim} dimensions × 4 bytes (float32) = ${size * dim * 4}`,
    );
  }
  const actual = sha256OfBytes(bytes);
  if (actual !== expected.sha256) {
    throw new VoicePassportError('model-invalid', `${what}: cohort file ${file} has sha256 ${actual}, but the manifest expects ${expected.sha256}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = new Float32Array(size * dim);
  for (let r = 0; r < size; r++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const v = view.getFloat32((r * dim + d) * 4, true);
      if (!Number.isFinite(v)) throw new VoicePassportError('model-invalid', `${what}: cohort file ${file} holds a non-finite value (${v}) in row ${r}, dimension ${d}`);
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    if (!(norm > 0) || !Number.isFinite(norm)) throw new VoicePassportError('model-invalid', `${what}: cohort file ${file} row ${r} has no usable length (norm ${norm})`);
    for (let d = 0; d < dim; d++) rows[r * dim + d] = view.getFloat32((r * dim + d) * 4, true) / norm;
  }
  return { file, sha256: actual, rows, size, dim };
}
