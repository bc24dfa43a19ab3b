/** `voice-passport features <audio> [--num-mel-bins 80 ...]`: the raw log-mel matrix, as torchaudio names it. */
import { parseCliArgs } from './args.js';
import { computeFbank } from '../features/fbank.js';
import { torchaudioFbankDefaults, type FbankOptions, type SampleScale } from '../features/options.js';
import { VoicePassportError } from '../errors.js';
import { decodeAudioFile } from './audio-file.js';
import { printJson } from './output.js';

/** CLI flag (torchaudio's name with dashes) → FbankOptions key and value kind. */
const flags: Record<string, { key: keyof FbankOptions; kind: 'number' | 'boolean' | 'window' }> = {
  'num-mel-bins': { key: 'numMelBins', kind: 'number' },
  'frame-length': { key: 'frameLength', kind: 'number' },
  'frame-shift': { key: 'frameShift', kind: 'number' },
  dither: { key: 'dither', kind: 'number' },
  'window-type': { key: 'windowType', kind: 'window' },
  'preemphasis-coefficient': { key: 'preemphasisCoefficient', kind: 'number' },
  'remove-dc-offset': { key: 'removeDcOffset', kind: 'boolean' },
  'round-to-power-of-two': { key: 'roundToPowerOfTwo', kind: 'boolean' },
  'low-freq': { key: 'lowFreq', kind: 'number' },
  'high-freq': { key: 'highFreq', kind: 'number' },
  'snip-edges': { key: 'snipEdges', kind: 'boolean' },
  'use-energy': { key: 'useEnergy', kind: 'boolean' },
  'energy-floor': { key: 'energyFloor', kind: 'number' },
  'raw-energy': { key: 'rawEnergy', kind: 'boolean' },
  'use-log-fbank': { key: 'useLogFbank', kind: 'boolean' },
  'use-power': { key: 'usePower', kind: 'boolean' },
  'blackman-coeff': { key: 'blackmanCoeff', kind: 'number' },
};

function parseFlagValue(flag: string, kind: 'number' | 'boolean' | 'window', raw: string): number | boolean | string {
  if (kind === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new VoicePassportError('validation-failed', `--${flag} must be a number, got "${raw}"`);
    return n;
  }
  if (kind === 'boolean') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new VoicePassportError('validation-failed', `--${flag} must be true or false, got "${raw}"`);
  }
  const windows = ['povey', 'hamming', 'hanning', 'rectangular', 'blackman'];
  if (!windows.includes(raw)) throw new VoicePassportError('validation-failed', `--window-type must be one of ${windows.join(', ')}`);
  return raw;
}

const FEATURES_USAGE = 'usage: voice-passport features <audio> [--num-mel-bins N ...]';

export function parseFeatureArgs(argv: string[]): { file: string; options: FbankOptions; sampleScale: SampleScale } {
  const { values, positionals } = parseCliArgs(
    argv,
    {
      ...Object.fromEntries(Object.keys(flags).map((f) => [f, { type: 'string' as const }])),
      'sample-scale': { type: 'string' },
    },
    FEATURES_USAGE,
  );
  if (positionals.length !== 1) throw new VoicePassportError('validation-failed', FEATURES_USAGE);
  const options: FbankOptions = { ...torchaudioFbankDefaults };
  for (const [flag, spec] of Object.entries(flags)) {
    const raw = (values as Record<string, string | undefined>)[flag];
    if (typeof raw === 'string') (options as unknown as Record<string, unknown>)[spec.key] = parseFlagValue(flag, spec.kind, raw);
  }
  const scale = values['sample-scale'] ?? 'unit';
  if (scale !== 'unit' && scale !== 'int16') throw new VoicePassportError('validation-failed', '--sample-scale must be unit or int16');
  return { file: positionals[0] as string, options, sampleScale: scale };
}

export async function featuresCommand(argv: string[], maxSeconds: number): Promise<void> {
  const { file, options, sampleScale } = parseFeatureArgs(argv);
  const audio = await decodeAudioFile(file, maxSeconds);
  const m = computeFbank(audio.samples, audio.sampleRate, options, sampleScale);
  const rows: number[][] = [];
  for (let t = 0; t < m.frames; t++) rows.push(Array.from(m.data.subarray(t * m.bins, (t + 1) * m.bins)));
  printJson(rows);
}
