/** Synthetic stand-ins for what the benches fill a store with. */

/** A random unit vector of the default model's size, drawn from `random` (a seeded generator). */
export function randomVoiceprint(random: () => number, dim = 192): Float32Array {
  const v = Float32Array.from({ length: dim }, () => random() - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
