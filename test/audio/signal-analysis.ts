/** Small measurement helpers for the audio tests: pure tones, chirps, and least-squares tone fits. */

export function tone(frequency: number, sampleRate: number, seconds: number, amplitude = 0.5, phase = 0.3): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate + phase);
  return out;
}

/** Linear chirp from f0 to f1 Hz; returns samples and the exact continuous-time function. */
export function chirp(f0: number, f1: number, sampleRate: number, seconds: number, amplitude = 0.5) {
  const rate = (f1 - f0) / seconds;
  const at = (t: number) => amplitude * Math.sin(2 * Math.PI * (f0 * t + 0.5 * rate * t * t));
  const n = Math.round(seconds * sampleRate);
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = at(i / sampleRate);
  return { samples, at, frequencyAt: (t: number) => f0 + rate * t };
}

export function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, to - from));
}

export const db = (ratio: number) => 20 * Math.log10(ratio);

/**
 * Least-squares fit of a·sin + b·cos at `frequency` over x[from..to): the tone's amplitude and the
 * RMS of what is left (noise, aliases, images).
 */
export function fitTone(x: ArrayLike<number>, frequency: number, sampleRate: number, from: number, to: number) {
  let ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  const w = (2 * Math.PI * frequency) / sampleRate;
  for (let i = from; i < to; i++) {
    const s = Math.sin(w * i), c = Math.cos(w * i), v = x[i]!;
    ss += s * s; cc += c * c; sc += s * c; xs += v * s; xc += v * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det;
  const b = (xc * ss - xs * sc) / det;
  let residual = 0;
  for (let i = from; i < to; i++) {
    const r = x[i]! - a * Math.sin(w * i) - b * Math.cos(w * i);
    residual += r * r;
  }
  return { amplitude: Math.hypot(a, b), residualRms: Math.sqrt(residual / (to - from)) };
}
