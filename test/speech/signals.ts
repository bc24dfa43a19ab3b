/** Test helper: deterministic synthetic signals (seeded, so every run sees the same samples). */

/** mulberry32: a tiny, well-mixed 32-bit PRNG; seeded so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gaussian white noise with the given RMS (Box–Muller). */
export function whiteNoise(length: number, rms: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    const u = Math.max(random(), 1e-12);
    const v = random();
    const r = rms * Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export function tone(length: number, frequency: number, amplitude: number, sampleRate: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate);
  return out;
}

export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Element-wise sum of equally long signals. */
export function mix(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length !== b.length) throw new Error(`mix: lengths differ (${a.length} vs ${b.length})`);
  return a.map((x, i) => x + (b[i] as number));
}

/** Mean of x² over [start, end). */
export function meanPower(samples: Float32Array, start = 0, end = samples.length): number {
  let e = 0;
  for (let i = start; i < end; i++) e += (samples[i] as number) ** 2;
  return e / (end - start);
}
