/**
 * Decoded audio → the bytes the embedding engine receives, through the chosen channel:
 *  - wideband: 32-bit float WAV at the audio's own rate (lossless, as the CLI sends FLAC);
 *  - telephone: simulateTelephoneChannel (8 kHz, 300–3400 Hz, G.711 round trip), then the G.711
 *    codes themselves as audio/PCMU or audio/PCMA: exactly what a telephony caller sends, so
 *    the engine takes the service's normal 8 kHz path (8 kHz VAD, upsampled to the model rate).
 */
import wavefile from 'wavefile';
import { encodeAlaw, encodeMulaw } from '../audio/g711.js';
import { resample } from '../audio/resample.js';
import { simulateTelephoneChannel } from '../audio/telephone.js';
import type { MonoAudio } from '../audio/types.js';

export type Channel = 'wideband' | 'telephone';
export type G711Law = 'mulaw' | 'alaw';

export interface EngineAudio {
  bytes: Uint8Array;
  contentType: string;
}

export function floatWav(audio: MonoAudio): Uint8Array {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, audio.sampleRate, '32f', audio.samples);
  return wav.toBuffer();
}

export function telephoneInput(audio: MonoAudio, law: G711Law): EngineAudio {
  const call = simulateTelephoneChannel(audio, law);
  // The channel's output is already G.711-decoded; encoding it again gives back the same codes.
  return law === 'mulaw'
    ? { bytes: encodeMulaw(call.samples), contentType: 'audio/PCMU' }
    : { bytes: encodeAlaw(call.samples), contentType: 'audio/PCMA' };
}

export function channelInput(audio: MonoAudio, channel: Channel, law: G711Law): EngineAudio {
  return channel === 'telephone' ? telephoneInput(audio, law) : { bytes: floatWav(audio), contentType: 'audio/wav' };
}

/** Utterances joined end to end at the first one's rate (a speaker's consecutive utterances). */
export function concatenate(parts: readonly MonoAudio[]): MonoAudio {
  const first = parts[0];
  if (first === undefined) throw new RangeError('nothing to concatenate');
  const rate = first.sampleRate;
  const pieces = parts.map((p) => (p.sampleRate === rate ? p.samples : resample(p.samples, p.sampleRate, rate)));
  const out = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return { sampleRate: rate, samples: out };
}
