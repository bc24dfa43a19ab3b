/**
 * The deterministic synthetic test signal; scripts/reference/fbank_reference.py
 * (`synthetic_int16`) computes the same samples, operation for operation, in Python.
 * Fixtures carry an int16 checksum so a drift between the two is caught, not silently compared.
 */

/** int16 samples: chirps + harmonic tone + LCG noise, with silent, quiet and clipped stretches. */
export function syntheticInt16(sampleRate: number, seconds: number, seed: number): Int16Array {
  const n = Math.round(seconds * sampleRate);
  const duration = n / sampleRate;
  const sr = sampleRate;
  const k1 = (0.45 * sr - 0.01 * sr) / duration;
  const k2 = (0.02 * sr - 0.4 * sr) / duration;
  const f3 = 0.07 * sr;
  let state = seed >>> 0;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    const noise = state / 4294967296.0 - 0.5;
    let v = 0.3 * Math.sin(2 * Math.PI * (0.01 * sr * t + 0.5 * k1 * t * t));
    v += 0.2 * Math.sin(2 * Math.PI * (0.4 * sr * t + 0.5 * k2 * t * t));
    v += 0.15 * Math.sin(2 * Math.PI * f3 * t) + 0.05 * Math.sin(4 * Math.PI * f3 * t) + 0.03 * Math.sin(6 * Math.PI * f3 * t);
    v += 0.05 * noise;
    if (0.4 * n <= i && i < 0.45 * n) v = 0;
    else if (0.6 * n <= i && i < 0.7 * n) v *= 0.002;
    else if (0.85 * n <= i && i < 0.9 * n) v *= 3.0;
    const q = Math.floor(v * 32767 + 0.5);
    out[i] = Math.max(-32768, Math.min(32767, q));
  }
  return out;
}

/** Σ x[i]·((i mod 97) + 1), as the fixture script computes it. */
export function int16Checksum(x: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]! * ((i % 97) + 1);
  return sum;
}

/** int16 → ±1 floats the way soundfile reads them (x / 32768). */
export function int16ToUnit(x: Int16Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / 32768;
  return out;
}
