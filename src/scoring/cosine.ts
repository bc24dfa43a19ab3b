/** Cosine similarity and template arithmetic on L2-normalised embeddings. */

export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`embedding sizes differ: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export function l2Normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += (v[i] as number) ** 2;
  n = Math.sqrt(n);
  const out = new Float32Array(v.length);
  if (n === 0 || !Number.isFinite(n)) return out;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) / n;
  return out;
}

/** Cosine of two vectors of any norm, clamped to [-1, 1] against rounding. */
export function cosine(a: Float32Array, b: Float32Array): number {
  const c = dot(l2Normalise(a), l2Normalise(b));
  return Math.max(-1, Math.min(1, c));
}

/**
 * Voiceprint from several enrolment samples: the mean of the L2-normalised sample embeddings,
 * each weighted by its net speech (longer samples are more reliable), normalised again.
 * This is the usual "embedding averaging" of x-vector/ResNet systems (e.g. WeSpeaker's
 * multi-enrolment recipe); it keeps the template the same size whatever the sample count.
 */
export function combineEmbeddings(samples: readonly { embedding: Float32Array; weight: number }[]): Float32Array {
  const first = samples[0];
  if (!first) throw new RangeError('no samples to combine');
  const sum = new Float32Array(first.embedding.length);
  for (const { embedding, weight } of samples) {
    const unit = l2Normalise(embedding);
    const w = Number.isFinite(weight) && weight > 0 ? weight : 0;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + w * (unit[i] as number);
  }
  return l2Normalise(sum);
}
