/**
 * A narrowband telephone channel, for training-data augmentation and for testing that voiceprints
 * survive a phone call: the input is resampled to 8 kHz, band-limited to the 300–3400 Hz
 * telephone band (ITU-T G.712 / the classic POTS band), and passed through a G.711 encoder and
 * decoder (µ-law in North America and Japan, A-law elsewhere).
 *
 * The band-pass is a linear-phase FIR (Kaiser-windowed difference of two ideal low-passes), applied
 * with zero delay, so the simulated call lines up sample for sample with the original.
 */
import { VoicePassportError } from '../errors.js';
import { ALAW_DECODE_TABLE, MULAW_DECODE_TABLE, linear16ToAlaw, linear16ToMulaw } from './g711.js';
import { besselI0, kaiserBeta, kaiserLength, kaiserWindow } from './kaiser.js';
import { resample } from './resample.js';
import type { MonoAudio } from './types.js';

export const TELEPHONE_SAMPLE_RATE = 8000;
/** Passband edges (Hz) and the width of each transition band outside them. */
export const TELEPHONE_BAND = { low: 300, high: 3400, transition: 100 } as const;
/** Stopband attenuation of the band-pass design, in dB. */
const BAND_ATTENUATION_DB = 50;

/** The band-pass taps at 8 kHz: odd length, symmetric (type I linear phase). */
function designBandPass(): Float64Array {
  const fs = TELEPHONE_SAMPLE_RATE;
  const { low, high, transition } = TELEPHONE_BAND;
  // Cutoffs in the middle of the transition bands: 250 Hz (200 → 300) and 3450 Hz (3400 → 3500).
  const lowCut = (low - transition / 2) / fs;
  const highCut = (high + transition / 2) / fs;
  let length = kaiserLength(BAND_ATTENUATION_DB, (2 * Math.PI * transition) / fs);
  if (length % 2 === 0) length++;
  const half = (length - 1) / 2;
  const beta = kaiserBeta(BAND_ATTENUATION_DB);
  const i0Beta = besselI0(beta);
  const taps = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const n = i - half;
    const ideal = n === 0 ? 2 * (highCut - lowCut) : (Math.sin(2 * Math.PI * highCut * n) - Math.sin(2 * Math.PI * lowCut * n)) / (Math.PI * n);
    const r = n / half;
    taps[i] = ideal * kaiserWindow(r, beta, i0Beta);
  }
  return taps;
}

let bandPass: Float64Array | null = null;

/** Zero-delay FIR filtering (the signal is taken as zero outside its ends). */
function filterTelephoneBand(x: Float32Array): Float32Array {
  bandPass ??= designBandPass();
  const taps = bandPass;
  const half = (taps.length - 1) / 2;
  const n = x.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const start = i - half;
    const kFrom = start < 0 ? -start : 0;
    const kTo = start + taps.length > n ? n - start : taps.length;
    let acc = 0;
    for (let k = kFrom; k < kTo; k++) acc += taps[k]! * x[start + k]!;
    out[i] = acc;
  }
  return out;
}

/** The band-pass filter's taps (for tests and documentation). */
export function telephoneBandPassTaps(): Float64Array {
  bandPass ??= designBandPass();
  return bandPass.slice();
}

/** Encode to G.711 and decode again: the codec's quantisation and its saturation at full scale. */
function g711RoundTrip(x: Float32Array, law: 'mulaw' | 'alaw'): Float32Array {
  const encode = law === 'mulaw' ? linear16ToMulaw : linear16ToAlaw;
  const table = law === 'mulaw' ? MULAW_DECODE_TABLE : ALAW_DECODE_TABLE;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i]! * 32768);
    out[i] = table[encode(v > 32767 ? 32767 : v < -32768 ? -32768 : v)]!;
  }
  return out;
}

/** Simulate a G.711 telephone call: 8 kHz, 300–3400 Hz, µ-law or A-law. */
export function simulateTelephoneChannel(audio: MonoAudio, law: 'mulaw' | 'alaw'): MonoAudio {
  if (law !== 'mulaw' && law !== 'alaw') {
    throw new VoicePassportError('internal', `Unknown G.711 law "${String(law)}"; use "mulaw" or "alaw".`);
  }
  const narrowband = audio.sampleRate === TELEPHONE_SAMPLE_RATE ? audio.samples : resample(audio.samples, audio.sampleRate, TELEPHONE_SAMPLE_RATE);
  return { sampleRate: TELEPHONE_SAMPLE_RATE, samples: g711RoundTrip(filterTelephoneBand(narrowband), law) };
}
