/**
 * One request's audio → quality figures and a speaker embedding. Runs inside a worker thread
 * (src/model/worker.ts): decoding, resampling, VAD and inference are all CPU work that must not
 * run on the HTTP event loop.
 *
 *   bytes → decodeAudio → (VAD rate) SileroVad.detect → regions
 *         → measureQuality on the input as decoded (clipping is a property of the input samples)
 *         → (model rate) speech regions widened by the manifest's speechContextMs → speechOnly
 *         → SpeakerEmbedder.embed
 */
import { decodeAudio } from '../audio/decode.js';
import { resample } from '../audio/resample.js';
import { torchaudioResample, torchaudioResamples } from '../audio/sinc-resample.js';
import type { MonoAudio } from '../audio/types.js';
import { VoicePassportError, isVoicePassportError } from '../errors.js';
import { firstSpeech, measureQuality, speechOnly, widenRegions } from '../speech/quality.js';
import type { SileroVad, SpeechRegion } from '../speech/vad.js';
import type { SpeakerEmbedder } from './embedder.js';
import type { ModelManifest } from './manifest.js';

/** What the engine returns for one request (never the audio itself). */
export interface AudioAnalysis {
  /** L2-normalised speaker embedding of the speech frames. */
  embedding: Float32Array;
  modelId: string;
  netSpeechSeconds: number;
  snrDb: number | null;
  clippedRatio: number;
  durationSeconds: number;
  /** The input's own sample rate, before resampling. */
  sampleRate: number;
  /**
   * Set (true) only when `vadFallback: 'whole'` embedded the whole audio because the VAD found no
   * usable speech; `netSpeechSeconds` then stays the VAD's figure (0 or less than one frame).
   */
  vadFallbackUsed?: true;
}

/**
 * Evaluation-only options (`voice-passport eval`); the service never sets them, so its behaviour
 * is the default: no speech → `insufficient-speech`, and all of the speech is embedded.
 */
export interface AnalyseOptions {
  /**
   * What to do when the VAD finds no speech, or too little for one analysis frame:
   * 'reject' (default) throws `insufficient-speech`; 'whole' embeds the whole audio instead, as
   * the reference figures of ../shared/models/reference did (they score every utterance).
   */
  vadFallback?: 'reject' | 'whole';
  /**
   * Embed only the first this-many seconds of detected speech (evaluation by test duration);
   * `netSpeechSeconds` then reports min(measured, this).
   */
  maxSpeechSeconds?: number;
  /**
   * What is embedded: 'speech' (default) only the VAD's speech regions; 'whole' the whole audio,
   * whatever the VAD found, as the reference protocol of ../shared/models/reference embeds every
   * utterance. The quality figures (net speech, SNR, clipping) are the VAD's either way.
   */
  embed?: 'speech' | 'whole';
  /**
   * Overrides the manifest's speechContextMs (ms of audio kept either side of each speech region
   * in what is embedded), to measure a value before writing it into the manifest.
   */
  speechContextMs?: number;
  /**
   * Overrides the VAD's speech threshold at the rate it listens at (Silero's probability; by default
   * 0.5 at 16 kHz, NARROWBAND_SPEECH_THRESHOLD at 8 kHz; its lower hysteresis threshold follows
   * it), to measure what another one would do to net speech and accuracy.
   */
  vadThreshold?: number;
}

export interface AnalyseRequest extends AnalyseOptions {
  bytes: Uint8Array;
  contentType: string;
  maxSeconds: number;
}

export interface AnalyseDeps {
  vad: Pick<SileroVad, 'detect'>;
  embedder: Pick<SpeakerEmbedder, 'embed' | 'manifest'>;
}

export async function analyseAudio(req: AnalyseRequest, deps: AnalyseDeps): Promise<AudioAnalysis> {
  // The caller's voice, decoded and resampled, is wiped once analysed, whatever the outcome: only the
  // template is kept (GDPR Art. 5(1)(c), data minimisation), and a heap never holds a decoded call
  // for the garbage collector to find some time later. The input bytes are the caller's to wipe.
  const held: Float32Array[] = [];
  try {
    return await analyse(req, deps, held);
  } finally {
    for (const samples of held) samples.fill(0);
  }
}

async function analyse(req: AnalyseRequest, deps: AnalyseDeps, held: Float32Array[]): Promise<AudioAnalysis> {
  const { vad, embedder } = deps;
  const modelRate = embedder.manifest.sampleRate;
  const decoded = decodeAudio(req.bytes, req.contentType, { maxSeconds: req.maxSeconds });
  held.push(decoded.samples);

  // Silero runs at 16 or 8 kHz only. Narrowband input is judged at 8 kHz (upsampling it adds
  // nothing the VAD could use); everything else at 16 kHz.
  const vadRate = decoded.sampleRate <= 8000 ? 8000 : 16000;
  const modelAudio: MonoAudio = {
    sampleRate: modelRate,
    samples: resampleWith(decoded.samples, decoded.sampleRate, modelRate, embedder.manifest.resampler),
  };
  // The VAD always hears the service's own resampling, so net speech (what the policies ask for)
  // does not depend on the model's resampler.
  const vadAudio: MonoAudio =
    vadRate === modelRate && (embedder.manifest.resampler === 'kaiser' || decoded.sampleRate === modelRate)
      ? modelAudio // the usual wideband case: resample once
      : { sampleRate: vadRate, samples: resampleWith(decoded.samples, decoded.sampleRate, vadRate, 'kaiser') };
  held.push(modelAudio.samples, vadAudio.samples);
  const vadRegions = await vad.detect(vadAudio, req.vadThreshold);

  const inputRegions = mapRegions(vadRegions, vadRate, decoded.sampleRate, decoded.samples.length);
  const quality = measureQuality(decoded, inputRegions);
  const noSpeech = quality.netSpeechSeconds === 0 || inputRegions.length === 0;
  if (noSpeech && req.vadFallback !== 'whole') {
    // The rate goes with the figures: callers pick the scoring channel from it (an 8 kHz call with no
    // speech is still a telephone call, with the telephone policy thresholds).
    throw new VoicePassportError('insufficient-speech', 'No speech was found in the audio; send a recording of the person speaking', {
      ...quality,
      netSpeechSeconds: 0,
      sampleRate: decoded.sampleRate,
    });
  }

  const maxSpeechSamples = req.maxSpeechSeconds === undefined ? Infinity : Math.round(req.maxSpeechSeconds * modelRate);
  const crop = (samples: Float32Array): Float32Array => (samples.length > maxSpeechSamples ? samples.subarray(0, maxSpeechSamples) : samples);
  const analysisOf = (embedding: Float32Array): AudioAnalysis => ({
    embedding,
    modelId: embedder.manifest.id,
    netSpeechSeconds: Math.min(quality.netSpeechSeconds, req.maxSpeechSeconds ?? Infinity),
    snrDb: quality.snrDb,
    clippedRatio: quality.clippedRatio,
    durationSeconds: quality.durationSeconds,
    sampleRate: decoded.sampleRate,
  });
  const wholeAudio = async (): Promise<AudioAnalysis> => ({
    ...analysisOf(await embedder.embed(crop(modelAudio.samples))),
    vadFallbackUsed: true,
  });
  if (noSpeech) return wholeAudio();
  if (req.embed === 'whole') return analysisOf(await embedder.embed(crop(modelAudio.samples)));

  // What the model hears: the first maxSpeechSeconds of the VAD's speech (so a duration row holds
  // that much net speech), each region widened by the manifest's speechContextMs. The context never
  // reaches past a cut, or a cut segment would hold more speech than it says.
  const length = modelAudio.samples.length;
  const kept = firstSpeech(mapRegions(vadRegions, vadRate, modelRate, length), maxSpeechSamples, length);
  const cut = kept.reduce((sum, r) => sum + (r.end - r.start), 0) >= maxSpeechSamples;
  const contextSamples = Math.round(((req.speechContextMs ?? embedder.manifest.speechContextMs) * modelRate) / 1000);
  const speech = speechOnly(modelAudio, widenRegions(kept, contextSamples, cut ? (kept[kept.length - 1]?.end ?? length) : length));
  held.push(speech);

  let embedding: Float32Array;
  try {
    embedding = await embedder.embed(speech);
  } catch (e) {
    if (isVoicePassportError(e) && e.code === 'insufficient-speech') {
      // Speech shorter than one analysis frame counts as none for the evaluation fallback.
      if (req.vadFallback === 'whole') return wholeAudio();
      // The embedder only knows the speech samples; callers need the whole quality picture.
      throw new VoicePassportError(e.code, e.message, { ...quality, ...e.details, sampleRate: decoded.sampleRate });
    }
    throw e;
  }
  return analysisOf(embedding);
}

/**
 * `samples` at `toRate` by the named resampler (a manifest's `resampler`): the model's input is made
 * with the one the model was trained with, the VAD's with the service's own (`kaiser`).
 */
export function resampleWith(samples: Float32Array, fromRate: number, toRate: number, resampler: ModelManifest['resampler']): Float32Array {
  if (fromRate === toRate) return samples;
  // Rates that share too small a factor (44 101 Hz, say) would need a bank of thousands of
  // kernel rows in torchaudio's scheme; such a recording gets the service's own resampler, whose
  // passband is as flat, rather than a refusal.
  return resampler === 'torchaudio' && torchaudioResamples(fromRate, toRate) ? torchaudioResample(samples, fromRate, toRate) : resample(samples, fromRate, toRate);
}

/**
 * Regions found at one rate, in samples of the same audio at another rate. Edges are rounded
 * outwards (floor the start, ceil the end) so no detected speech is lost, then clamped to the
 * audio; regions that vanish are dropped.
 */
export function mapRegions(regions: readonly SpeechRegion[], fromRate: number, toRate: number, length: number): SpeechRegion[] {
  const ratio = toRate / fromRate;
  const mapped: SpeechRegion[] = [];
  let previousEnd = 0;
  for (const r of regions) {
    // Never before the previous region's end: rounding outwards must not make two touching
    // regions overlap, or speechOnly would repeat samples.
    const start = Math.max(previousEnd, Math.floor(r.start * ratio));
    const end = Math.min(length, Math.ceil(r.end * ratio));
    if (end > start) {
      mapped.push({ start, end });
      previousEnd = end;
    }
  }
  return mapped;
}
