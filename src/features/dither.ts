/**
 * Kaldi's dither (`--dither`, `compute-fbank-feats`): Gaussian noise of `amount` standard
 * deviation, in the filterbank's sample units, added before the frames are analysed. Models
 * trained with dither (Kaldi's default 1.0, and this project's own models) have never seen an
 * empty mel bin: without it, digital silence (exact zeros) and the empty band above 4 kHz of
 * upsampled 8 kHz audio reach the log as ln(FLT_EPSILON) ≈ −15.9 and drag the per-utterance
 * mean far from anything seen in training.
 *
 * torchaudio draws the noise from torch.randn, so it cannot be reproduced here, and inference
 * must be deterministic anyway (the same audio must always give the same voiceprint, or an audit
 * could not replay a decision). So the noise comes from a seeded generator (xoroshiro128+,
 * pure-rand) whose seed is the SHA-256 of the audio itself: the same recording always gets the
 * same noise, and two recordings never share one noise realisation (with one fixed seed their
 * silent stretches would be identical and so look alike to the model).
 *
 * torchaudio adds fresh noise to every frame; here each sample gets its noise once, before
 * framing. Within a frame the noise has the same distribution either way.
 */
import { createHash } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** `samples` + amount·N(0, 1)/scale, as a new array; `scale` converts noise to the samples' units. */
export function ditherSamples(samples: Float32Array, amount: number, scale: number): Float32Array {
  const out = new Float32Array(samples);
  if (amount === 0 || samples.length === 0) return out;
  addGaussian(out, amount / scale, generatorSeededBy(samples));
  return out;
}

/**
 * xoroshiro128+ seeded by the SHA-256 of `salt` (when given) and the samples' bytes: the same
 * recording always gets the same draws; another salt gives another, independent stream.
 */
export function generatorSeededBy(samples: Float32Array, salt = ''): RandomGenerator {
  const hash = createHash('sha256');
  if (salt !== '') hash.update(salt);
  const digest = hash.update(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)).digest();
  // 128 bits of seed; xoroshiro's state must not be all zeros (a SHA-256 prefix practically never is).
  const state = [digest.readInt32LE(0), digest.readInt32LE(4), digest.readInt32LE(8), digest.readInt32LE(12) | 1];
  return xoroshiro128plusFromState(state);
}

/** Adds sd·N(0, 1) to each sample in place, drawn from `rng`. */
export function addGaussian(out: Float32Array, sd: number, rng: RandomGenerator): void {
  // Box–Muller: two uniforms give two independent standard normals. 1 − u keeps the log finite.
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniformFloat64(rng)));
    const theta = 2 * Math.PI * uniformFloat64(rng);
    out[i] = out[i]! + sd * r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = out[i + 1]! + sd * r * Math.sin(theta);
  }
}
