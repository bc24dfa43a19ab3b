import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEvalArgs, scoringChannelOf } from '../../src/cli/eval.js';
import { VoicePassportError } from '../../src/errors.js';

const config = { modelId: 'vp-test-tiny', enrolMinSeconds: 20 };

function refused(argv: string[]): VoicePassportError {
  try {
    parseEvalArgs(argv, config);
  } catch (e) {
    expect(e).toBeInstanceOf(VoicePassportError);
    return e as VoicePassportError;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('eval options', () => {
  it('defaults: all pairs, wideband on both sides, µ-law if telephone, durations 2/3/5/10, the configured model', () => {
    expect(parseEvalArgs(['dev'], config)).toEqual({
      folder: 'dev',
      channel: 'wideband',
      enrolChannel: 'wideband',
      law: 'mulaw',
      trials: 'all-pairs',
      enrolSeconds: null,
      voiceprints: null,
      testSeconds: null,
      durations: [2, 3, 5, 10],
      modelId: 'vp-test-tiny',
      out: null,
      plot: null,
      embed: 'speech',
      noise: null,
    });
  });

  it('--noise white|pink or --noise-file F, each with --snr DB in [-10, 60]: noise on the test side', () => {
    expect(parseEvalArgs(['dev', '--noise', 'pink', '--snr', '7.5'], config).noise).toEqual({ kind: 'pink', snrDb: 7.5 });
    expect(parseEvalArgs(['dev', '--noise', 'white', '--snr=-10'], config).noise).toEqual({ kind: 'white', snrDb: -10 });
    expect(parseEvalArgs(['dev', '--noise-file', 'babble.wav', '--snr', '60'], config).noise).toEqual({ kind: 'file', file: 'babble.wav', snrDb: 60 });
    expect(refused(['dev', '--noise', 'brown', '--snr', '5']).message).toBe('--noise must be one of white, pink, got "brown"');
    expect(refused(['dev', '--noise', 'pink']).message).toBe("--noise needs --snr DB (the noise's level under the speech)");
    expect(refused(['dev', '--noise-file', 'b.wav']).message).toBe("--noise-file needs --snr DB (the noise's level under the speech)");
    expect(refused(['dev', '--snr', '5']).message).toBe('--snr needs a noise to add: --noise white|pink or --noise-file F');
    expect(refused(['dev', '--noise', 'pink', '--noise-file', 'b.wav', '--snr', '5']).message).toBe('--noise and --noise-file are two sources of noise; give one');
    expect(refused(['dev', '--noise-file=', '--snr', '5']).message).toBe('--noise-file needs the path of an audio file');
    for (const bad of ['-10.5', '61', '', 'loud', 'Infinity']) {
      expect(refused(['dev', '--noise', 'white', `--snr=${bad}`]).message).toBe(`--snr must be a number of dB in [-10, 60], got "${bad}"`);
    }
  });

  it('--embed whole embeds every utterance whole (the reference protocol); speech is the service path', () => {
    expect(parseEvalArgs(['dev', '--embed', 'whole'], config).embed).toBe('whole');
    expect(parseEvalArgs(['dev', '--embed', 'speech'], config).embed).toBe('speech');
    expect(refused(['dev', '--embed', 'all']).message).toBe('--embed must be one of speech, whole, got "all"');
  });

  it("--speech-context-ms overrides the manifest's speechContextMs: whole ms from 0 to 1000", () => {
    expect(parseEvalArgs(['dev', '--speech-context-ms', '150'], config).speechContextMs).toBe(150);
    expect(parseEvalArgs(['dev', '--speech-context-ms', '0'], config).speechContextMs).toBe(0);
    expect('speechContextMs' in parseEvalArgs(['dev'], config)).toBe(false);
    for (const bad of ['-1', '2.5', '1001', '', 'x']) {
      expect(refused(['dev', `--speech-context-ms=${bad}`]).message).toBe(`--speech-context-ms must be a whole number of ms from 0 to 1000, got "${bad}"`);
    }
  });

  it('--vad-threshold overrides the VAD\'s speech probability threshold, in (0, 1]', () => {
    expect(parseEvalArgs(['dev', '--vad-threshold', '0.3'], config).vadThreshold).toBe(0.3);
    expect(parseEvalArgs(['dev', '--vad-threshold', '1'], config).vadThreshold).toBe(1);
    expect('vadThreshold' in parseEvalArgs(['dev'], config)).toBe(false);
    for (const bad of ['0', '-0.2', '1.01', '', 'high']) {
      expect(refused(['dev', `--vad-threshold=${bad}`]).message).toBe(`--vad-threshold must be a speech probability in (0, 1], got "${bad}"`);
    }
  });

  it('--enrol-seconds alone selects enrolment trials; --trials enrolment alone enrols VP_ENROL_MIN_SECONDS', () => {
    expect(parseEvalArgs(['dev', '--enrol-seconds', '7.5'], config)).toMatchObject({ trials: 'enrolment', enrolSeconds: 7.5 });
    expect(parseEvalArgs(['dev', '--trials', 'enrolment'], config)).toMatchObject({ trials: 'enrolment', enrolSeconds: 20, voiceprints: 'first' });
  });

  it('--voiceprints first|rotating: enrolment trials only, and alone it selects them', () => {
    expect(parseEvalArgs(['dev', '--voiceprints', 'rotating'], config)).toMatchObject({ trials: 'enrolment', enrolSeconds: 20, voiceprints: 'rotating' });
    expect(parseEvalArgs(['dev', '--enrol-seconds', '5', '--voiceprints', 'first'], config)).toMatchObject({ trials: 'enrolment', enrolSeconds: 5, voiceprints: 'first' });
    expect(refused(['dev', '--trials', 'all-pairs', '--voiceprints', 'rotating']).message).toBe('--voiceprints needs --trials enrolment (all-pairs trials have no voiceprints)');
    expect(refused(['dev', '--voiceprints', 'all']).message).toBe('--voiceprints must be one of first, rotating, got "all"');
  });

  it('--enrol-channel: the enrolment side\'s channel, the test side\'s (--channel) by default; --law with either side on the telephone', () => {
    expect(parseEvalArgs(['dev', '--channel', 'telephone'], config)).toMatchObject({ channel: 'telephone', enrolChannel: 'telephone' });
    expect(parseEvalArgs(['dev', '--enrol-channel', 'wideband', '--channel', 'telephone', '--law', 'alaw'], config)).toMatchObject({
      channel: 'telephone',
      enrolChannel: 'wideband',
      law: 'alaw',
    });
    expect(parseEvalArgs(['dev', '--enrol-channel', 'telephone', '--law', 'alaw'], config)).toMatchObject({ channel: 'wideband', enrolChannel: 'telephone', law: 'alaw' });
    expect(refused(['dev', '--enrol-channel', 'app']).message).toBe('--enrol-channel must be one of wideband, telephone, got "app"');
    expect(refused(['dev', '--enrol-channel', 'wideband', '--law', 'alaw']).message).toBe('--law applies to the telephone channel only (--channel or --enrol-channel telephone)');
  });

  it('durations: sorted, de-duplicated, or none', () => {
    expect(parseEvalArgs(['dev', '--durations', '5, 2,5,0.5'], config).durations).toEqual([0.5, 2, 5]);
    expect(parseEvalArgs(['dev', '--durations', 'none'], config).durations).toEqual([]);
  });

  it('telephone with A-law, model, outputs', () => {
    expect(parseEvalArgs(['dev', '--channel', 'telephone', '--law', 'alaw', '--model', 'm', '--out', 'r.json', '--plot', 'd.svg', '--test-seconds', '3'], config)).toMatchObject({
      channel: 'telephone',
      law: 'alaw',
      modelId: 'm',
      out: 'r.json',
      plot: 'd.svg',
      testSeconds: 3,
    });
  });

  it('refuses what it cannot honour, with validation-failed', () => {
    expect(refused([]).message).toMatch(/^usage: voice-passport eval <folder>/);
    expect(refused(['a', 'b']).message).toMatch(/^usage:/);
    expect(refused(['dev', '--channel', 'gsm']).message).toBe('--channel must be one of wideband, telephone, got "gsm"');
    expect(refused(['dev', '--trials', 'some']).message).toBe('--trials must be one of all-pairs, enrolment, got "some"');
    expect(refused(['dev', '--durations', '2,x']).message).toBe('--durations must be a number of seconds in (0, 3600], got "x"');
    expect(refused(['dev', '--enrol-seconds', '0']).message).toMatch(/--enrol-seconds must be/);
    expect(refused(['dev', '--frobnicate']).message).toMatch(/Unknown option '--frobnicate'/);
    for (const argv of [['dev', '--law', 'alaw'], ['dev', '--trials', 'all-pairs', '--enrol-seconds', '3']]) expect(refused(argv).code).toBe('validation-failed');
  });
});

describe('scoringChannelOf: the channel the service would score on', () => {
  it('telephone for the simulated call or when every recording is 8 kHz or less; wideband otherwise', () => {
    expect(scoringChannelOf('telephone', [16000, 44100])).toBe('telephone');
    expect(scoringChannelOf('wideband', [8000, 8000, 6000])).toBe('telephone');
    expect(scoringChannelOf('wideband', [8000, 16000])).toBe('wideband');
    expect(scoringChannelOf('wideband', [16000])).toBe('wideband');
    expect(scoringChannelOf('wideband', [])).toBe('wideband');
  });

  it('refuses --out or --plot that cannot be written (a missing folder, a folder) before the evaluation runs', () => {
    const missing = path.join(os.tmpdir(), 'vp-no-such-folder', 'report.json');
    expect([refused(['dev', '--out', missing]).code, refused(['dev', '--out', missing]).message]).toEqual([
      'validation-failed',
      `--out ${missing}: the folder ${path.dirname(missing)} does not exist`,
    ]);
    expect(refused(['dev', '--plot', os.tmpdir()]).message).toBe(`--plot ${os.tmpdir()} is a folder; name a file`);
    expect(parseEvalArgs(['dev', '--out', path.join(os.tmpdir(), 'r.json')], config).out).toBe(path.join(os.tmpdir(), 'r.json'));
  });
});
