import wavefile from 'wavefile';

/** 16-bit PCM mono WAV bytes of ±1 samples, as a caller would upload them. */
export function wav(samples: Float32Array, sampleRate: number): Uint8Array {
  const int16 = Int16Array.from(samples, (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32767))));
  const file = new wavefile.WaveFile();
  file.fromScratch(1, sampleRate, '16', int16);
  return file.toBuffer();
}
