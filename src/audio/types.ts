/** Mono audio as ±1 floats at a known rate: the one shape every stage after decoding sees. */
export interface MonoAudio {
  sampleRate: number;
  samples: Float32Array;
}

/** What the decoder found in the input, reported back to callers (never the samples themselves). */
export interface DecodedAudio extends MonoAudio {
  /** Channel count of the input before downmixing. */
  channels: number;
  /** Encoding as found, e.g. "pcm16", "float32", "mulaw", "alaw". */
  encoding: string;
  durationSeconds: number;
}
