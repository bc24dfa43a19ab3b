/**
 * Content-Type → decoding plan. The media type is the only thing that tells headerless telephone
 * audio apart (µ-law, A-law and L16 bytes carry no header), so it is parsed strictly:
 *
 * - WAV: `audio/wav`, `audio/wave`, `audio/x-wav`, `audio/vnd.wave` (RFC 2361); parameters
 *   (e.g. `codec=1`) are ignored because the RIFF header says everything.
 * - `audio/basic` (RFC 2046 §4.3.3): 8-bit µ-law, 8000 Hz, mono (the same optional `rate` and
 *   `channels` parameters as PCMU are honoured, for callers that send them).
 * - `audio/PCMU` and `audio/PCMA` (RFC 4856 / RFC 3551 §4.5.14): µ-law / A-law, 8000 Hz unless
 *   a `rate` parameter says otherwise, mono unless `channels` does.
 * - `audio/L16;rate=N[;channels=M]` (RFC 2586 / RFC 3551 §4.5.11): signed 16-bit PCM in network
 *   byte order (big-endian). RFC 2586 makes `rate` REQUIRED, so it is required here too: guessing a
 *   rate would silently make a speaker sound wrong and verify wrongly.
 *
 * Type, subtype and parameter names are case-insensitive (RFC 9110 §8.3.1); parameter values may
 * be quoted strings.
 */
import { VoicePassportError } from '../errors.js';

export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 48000;
/**
 * The most channels taken, in any container. A call arrives mono or stereo, and 16 covers any
 * multitrack recorder; beyond that the decoding work grows with the channel count (every channel
 * read, then mixed) while the speech does not: 65 535 one-sample channels cost seconds of decoding
 * for a fraction of a second of audio.
 */
export const MAX_CHANNELS = 16;

export type HeaderlessEncoding = 'mulaw' | 'alaw' | 'pcm16be';

export type AudioDecodingPlan =
  | { container: 'wav' }
  | { container: 'headerless'; encoding: HeaderlessEncoding; sampleRate: number; channels: number };

const WAV_TYPES = ['audio/wav', 'audio/wave', 'audio/x-wav', 'audio/vnd.wave'] as const;

/** Every media type `decodeAudio` accepts, for error messages and the API description. */
export const ACCEPTED_AUDIO_CONTENT_TYPES: readonly string[] = [
  ...WAV_TYPES,
  'audio/basic',
  'audio/PCMU',
  'audio/PCMA',
  'audio/L16;rate=N',
];

const ACCEPTED_LIST = ACCEPTED_AUDIO_CONTENT_TYPES.join(', ');

// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

interface MediaType {
  /** Lower-cased `type/subtype`. */
  essence: string;
  /** Lower-cased parameter names → values (unquoted). */
  params: Map<string, string>;
}

function unsupported(message: string, contentType: string): VoicePassportError {
  return new VoicePassportError('audio-unsupported', message, {
    contentType: contentType.slice(0, 200),
    accepted: ACCEPTED_AUDIO_CONTENT_TYPES,
  });
}

/** Split a Content-Type into essence and parameters (RFC 9110 §8.3). Never throws on odd input. */
function parseMediaType(contentType: string): MediaType | null {
  const text = contentType.trim();
  const semi = text.indexOf(';');
  const essence = (semi === -1 ? text : text.slice(0, semi)).trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash <= 0 || !TOKEN.test(essence.slice(0, slash)) || !TOKEN.test(essence.slice(slash + 1))) return null;

  const params = new Map<string, string>();
  let rest = semi === -1 ? '' : text.slice(semi + 1);
  while (rest.length > 0) {
    const eq = rest.indexOf('=');
    if (eq === -1) {
      if (rest.trim().length > 0 && rest.trim() !== ';') return null;
      break;
    }
    const name = rest.slice(0, eq).trim().toLowerCase();
    if (!TOKEN.test(name)) return null;
    rest = rest.slice(eq + 1).trimStart();
    let value: string;
    if (rest.startsWith('"')) {
      // quoted-string: backslash escapes one character.
      let i = 1;
      value = '';
      while (i < rest.length && rest[i] !== '"') {
        if (rest[i] === '\\' && i + 1 < rest.length) i++;
        value += rest[i];
        i++;
      }
      if (i >= rest.length) return null; // unterminated quote
      rest = rest.slice(i + 1);
      const next = rest.indexOf(';');
      if (rest.slice(0, next === -1 ? rest.length : next).trim() !== '') return null;
      rest = next === -1 ? '' : rest.slice(next + 1);
    } else {
      const next = rest.indexOf(';');
      value = (next === -1 ? rest : rest.slice(0, next)).trim();
      rest = next === -1 ? '' : rest.slice(next + 1);
    }
    // First occurrence wins (a repeated parameter is ambiguous; we keep the earliest).
    if (!params.has(name)) params.set(name, value);
  }
  return { essence, params };
}

function integerParam(
  media: MediaType,
  name: 'rate' | 'channels',
  fallback: number | undefined,
  contentType: string,
): number {
  const raw = media.params.get(name);
  if (raw === undefined) {
    if (fallback === undefined) {
      throw unsupported(
        `${media.essence} needs a "${name}" parameter (RFC 2586), e.g. "audio/L16;rate=16000"; headerless PCM cannot be decoded without knowing its sample rate.`,
        contentType,
      );
    }
    return fallback;
  }
  if (!/^[0-9]{1,9}$/.test(raw)) {
    throw unsupported(`The "${name}" parameter of ${media.essence} must be a whole number, not "${raw.slice(0, 40)}".`, contentType);
  }
  return Number(raw);
}

/**
 * Read the Content-Type and say how to decode the body.
 * @throws VoicePassportError `audio-unsupported` (415) for an unknown/missing type or bad parameters;
 *   `audio-sample-rate-unsupported` for a `rate` outside 8–48 kHz.
 */
export function parseAudioContentType(contentType: string | undefined | null): AudioDecodingPlan {
  const header = contentType ?? '';
  if (header.trim() === '') {
    throw unsupported(`No Content-Type was given; send the audio with one of: ${ACCEPTED_LIST}.`, header);
  }
  const media = parseMediaType(header);
  if (media === null) {
    throw unsupported(`The Content-Type "${header.slice(0, 100)}" is not a valid media type; send one of: ${ACCEPTED_LIST}.`, header);
  }

  if ((WAV_TYPES as readonly string[]).includes(media.essence)) return { container: 'wav' };

  let encoding: HeaderlessEncoding;
  let defaultRate: number | undefined = 8000;
  switch (media.essence) {
    case 'audio/basic':
    case 'audio/pcmu':
      encoding = 'mulaw';
      break;
    case 'audio/pcma':
      encoding = 'alaw';
      break;
    case 'audio/l16':
      encoding = 'pcm16be';
      defaultRate = undefined; // RFC 2586: rate is required
      break;
    default:
      throw unsupported(`The audio type "${media.essence}" is not supported; send one of: ${ACCEPTED_LIST}.`, header);
  }

  const sampleRate = integerParam(media, 'rate', defaultRate, header);
  const channels = integerParam(media, 'channels', 1, header);
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new VoicePassportError(
      'audio-sample-rate-unsupported',
      `The sample rate ${sampleRate} Hz in the Content-Type is outside the supported ${MIN_SAMPLE_RATE}–${MAX_SAMPLE_RATE} Hz; resample the audio first.`,
      { sampleRate, minSampleRate: MIN_SAMPLE_RATE, maxSampleRate: MAX_SAMPLE_RATE },
    );
  }
  if (channels < 1 || channels > MAX_CHANNELS) {
    throw unsupported(`The "channels" parameter must be between 1 and ${MAX_CHANNELS}, not ${channels}.`, header);
  }
  return { container: 'headerless', encoding, sampleRate, channels };
}
