/**
 * `voice-passport eval` end to end, as an operator runs it: a generated folder of 3 speakers × 3
 * synthetic utterances (distinct pitch and vocal-tract length), the test model (VP_MODEL=vp-test-tiny), one worker.
 * Counts are checked exactly; the test model is not a speaker model, so rates are only range-checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { speechLike } from '../model/speech-like.js';
import { wav } from '../model/wav.js';
import { cliError, runCli, tempDir } from './run-cli.js';

const voices = [
  { name: 'alice', pitchHz: 210, formantScale: 1.18 },
  { name: 'bob', pitchHz: 105, formantScale: 0.92 },
  { name: 'carol', pitchHz: 160, formantScale: 1.05 },
];

let root: string;
let folder: string;

beforeAll(() => {
  root = tempDir('vp-eval-');
  folder = path.join(root, 'dev');
  for (const v of voices) {
    fs.mkdirSync(path.join(folder, v.name), { recursive: true });
    for (let k = 0; k < 3; k++) {
      // Slightly different pitch per utterance, as a speaker varies between takes.
      const samples = speechLike({ seconds: 2.5, pitchHz: v.pitchHz * (1 + 0.03 * k), formantScale: v.formantScale });
      fs.writeFileSync(path.join(folder, v.name, `utt${k}.wav`), wav(samples, 16000));
    }
  }
  fs.mkdirSync(path.join(folder, 'empty'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const TIMEOUT = 90_000;

interface Report {
  model: string;
  channel: string;
  law?: string;
  scoringChannel: string;
  protocol: { trials: string; description: string; enrolSeconds: number | null };
  counts: Record<string, number>;
  eer: { value: number; percent: number; ci95: { low: number; high: number; replicates: number; seed: number } };
  minDcf: { value: number; pTarget: number; fmrText: string; fnmrText: string };
  policies: { policy: string; threshold: number; nonTargetTrials: number; targetTrials: number; fmrText: string; fnmrText: string }[];
  byDuration: { seconds: number; segments: number; targetTrials?: number; nonTargetTrials?: number; skipped?: string }[];
  failures: unknown[];
  vadFallbackFiles: string[];
  emptySpeakerFolders?: string[];
  wallSeconds: number;
}

describe('voice-passport eval', () => {
  it(
    'all pairs, wideband: exact counts, rates in range, 1 s duration bucket, 10 s skipped, --out and --plot written',
    async () => {
      const out = path.join(root, 'report.json');
      const plot = path.join(root, 'det.svg');
      const r = await runCli(['eval', folder, '--durations', '1,10', '--out', out, '--plot', plot], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^\| dev wideband all-pairs vp-test-tiny \| 3 spk, 9 utt \(\d whole\) \| 9\/27 trials \| EER /);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as Report;
      expect(fs.readFileSync(out, 'utf8')).toBe(r.stdout);
      expect(report.model).toBe('vp-test-tiny');
      expect(report.channel).toBe('wideband');
      expect(report.scoringChannel).toBe('wideband');
      expect(report.protocol.trials).toBe('all-pairs');
      expect(report.counts).toEqual({
        speakers: 3,
        utterances: 9,
        analysed: 9,
        failedUtterances: 0,
        vadFallbackUtterances: report.vadFallbackFiles.length,
        excludedByTestSeconds: 0,
        trialSpeakers: 3,
        targetTrials: 9,
        nonTargetTrials: 27,
      });
      expect(report.emptySpeakerFolders).toEqual(['empty']);
      expect(report.failures).toEqual([]);
      expect(report.eer.value).toBeGreaterThanOrEqual(0);
      expect(report.eer.value).toBeLessThanOrEqual(1);
      expect(report.eer.ci95.low).toBeLessThanOrEqual(report.eer.ci95.high);
      expect(report.eer.ci95.seed).toBe(1);
      expect(report.minDcf.pTarget).toBe(0.01);
      expect(report.minDcf.value).toBeLessThanOrEqual(1);
      expect(report.policies.map((p) => [p.policy, p.threshold, p.targetTrials, p.nonTargetTrials])).toEqual([
        ['standard', 0.5, 9, 27],
        ['high', 0.6, 9, 27],
      ]);
      // With 27 non-target trials, an FMR below 3/27 is never printed as a number.
      for (const p of report.policies) expect(p.fmrText).toMatch(/^(< 3\/27 \(11\.1111 %\)|\d+\.\d+ %)$/);
      expect(report.byDuration).toEqual([
        { seconds: 1, segments: 9, droppedSegments: 0, speakers: 3, targetTrials: 9, nonTargetTrials: 27, eer: expect.any(Object), minDcf: expect.any(Object), policies: expect.any(Array) },
        { seconds: 10, segments: 0, droppedSegments: 0, skipped: '0 segments of 10 s give 0 target and 0 non-target trials' },
      ]);
      // The policies' thresholds (set once, whatever the speech) applied to the 1 s segments: counts of 27 and 9 trials.
      const atOneSecond = (report.byDuration[0] as unknown as { policies: { policy: string; targetFmrBound: string | null; fmr: number | null; fmrText: string; fnmr: number | null; fnmrText: string; falseMatchPairs: number }[] }).policies;
      expect(atOneSecond.map((p) => [p.policy, p.targetFmrBound])).toEqual([
        ['standard', null],
        ['high', null],
      ]);
      for (const p of atOneSecond) {
        expect(p.fmrText).toMatch(/^(< 3\/27 \(11\.1111 %\)|\d+\.\d+ %)$/);
        if (p.fmr !== null) expect(Number.isInteger(Math.round(p.fmr * 27 * 1e4) / 1e4)).toBe(true);
        expect(p.fnmrText).toMatch(/^(< 3\/9 \(33\.3333 %\)|\d+\.\d+ %)$/);
        // Three speakers make three pairs; a quoted false match rate needs at least one of them.
        expect([0, 1, 2, 3]).toContain(p.falseMatchPairs);
        if (p.fmr !== null && p.fmr > 0) expect(p.falseMatchPairs).toBeGreaterThan(0);
      }
      // The stricter threshold never lets more impostors through than the looser one.
      expect((atOneSecond[1]!.fmr ?? 0) <= (atOneSecond[0]!.fmr ?? 3 / 27)).toBe(true);
      const svg = fs.readFileSync(plot, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('dev · wideband · all-pairs · vp-test-tiny');
      expect(svg).toContain('3 speakers, 9 target / 27 non-target trials');
      // The minDCF point's legend quotes its rates as the report does (never a rate below 3/N).
      expect(svg).toContain(`minDCF: FMR ${report.minDcf.fmrText}, FNMR ${report.minDcf.fnmrText}`.replaceAll('<', '&lt;'));
      expect(report.minDcf.fmrText).toMatch(/^(< 3\/27 \(11\.1111 %\)|\d+\.\d+ %)$/);
    },
    TIMEOUT,
  );

  it(
    '--embed whole: the main trials embed every utterance whole, and the report and summary line say so',
    async () => {
      const r = await runCli(['eval', folder, '--embed', 'whole', '--durations', 'none'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(r.code).toBe(0);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^\| dev wideband all-pairs \(whole utterances\) vp-test-tiny \| 3 spk, 9 utt /);
      const report = JSON.parse(r.stdout) as Report & { protocol: { embed: string; vadThreshold: string } };
      expect(report.protocol.embed).toMatch(/^whole: every utterance of the main trials is embedded whole/);
      expect(report.protocol.vadThreshold).toBe("the VAD's own: Silero's speech probability 0.5 at 16 kHz and 0.3 at 8 kHz, its lower hysteresis threshold 0.15 below");
      expect(report.counts).toMatchObject({ analysed: 9, targetTrials: 9, nonTargetTrials: 27 });
    },
    TIMEOUT,
  );

  it(
    'recordings that are all 8 kHz are scored as the service scores them: as telephone audio',
    async () => {
      const narrow = path.join(root, 'narrow');
      for (const v of voices) {
        fs.mkdirSync(path.join(narrow, v.name), { recursive: true });
        for (let k = 0; k < 2; k++) {
          const samples = speechLike({ seconds: 2, sampleRate: 8000, pitchHz: v.pitchHz * (1 + 0.03 * k), formantScale: v.formantScale });
          fs.writeFileSync(path.join(narrow, v.name, `utt${k}.wav`), wav(samples, 8000));
        }
      }
      const r = await runCli(['eval', narrow, '--durations', 'none'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(r.code).toBe(0);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^\| narrow wideband \(scored as telephone\) all-pairs vp-test-tiny \| 3 spk, 6 utt /);
      const report = JSON.parse(r.stdout) as Report;
      expect(report).toMatchObject({ channel: 'wideband', scoringChannel: 'telephone', counts: { analysed: 6, targetTrials: 3, nonTargetTrials: 12 } });

      // Across channels such a folder has no wideband side, whichever side that would be: refused,
      // not reported as 8 kHz on both sides under a wideband label.
      const appEnrolled = await runCli(['eval', narrow, '--enrol-channel', 'wideband', '--channel', 'telephone', '--durations', 'none'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(appEnrolled.code).toBe(2);
      expect(cliError(appEnrolled)).toEqual({
        code: 'validation-failed',
        message: `${narrow} holds only 8 kHz audio: it has no wideband recordings for the enrolment side across channels (--enrol-channel wideband, --channel telephone)`,
      });
      const appVerified = await runCli(['eval', narrow, '--enrol-channel', 'telephone', '--durations', 'none'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(appVerified.code).toBe(2);
      expect(cliError(appVerified).message).toBe(
        `${narrow} holds only 8 kHz audio: it has no wideband recordings for the test side across channels (--enrol-channel telephone, --channel wideband)`,
      );
    },
    TIMEOUT,
  );

  it(
    'enrolment trials through the A-law telephone channel: never tests on an enrolment utterance',
    async () => {
      const r = await runCli(['eval', folder, '--channel', 'telephone', '--law', 'alaw', '--enrol-seconds', '0.5', '--durations', 'none'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.channel).toBe('telephone');
      expect(report.law).toBe('alaw');
      expect(report.scoringChannel).toBe('telephone');
      expect(report.protocol.trials).toBe('enrolment');
      expect(report.protocol.enrolSeconds).toBe(0.5);
      expect(report.protocol.description).toMatch(/never tested against an enrolment it is part of/);
      // Each speaker enrols from its first utterance and is tested on its other two (3 × 2 target);
      // each voiceprint also meets the 6 utterances of the other two speakers (3 × 6 non-target).
      expect(report.counts).toMatchObject({ speakers: 3, utterances: 9, enrolledSpeakers: 3, voiceprints: 3, targetTrials: 6, nonTargetTrials: 18 });
      expect(report.byDuration).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'rotating voiceprints: one from each utterance on, each tested on the utterances it does not hold, segments too',
    async () => {
      // Each 2.5 s utterance holds more than 1.5 s of speech but less than 3 s, so every voiceprint
      // is two consecutive utterances (wrapping round) and the third is its one target test.
      const r = await runCli(['eval', folder, '--voiceprints', 'rotating', '--enrol-seconds', '3', '--durations', '1'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as Report & { protocol: { voiceprints: string } };
      expect(report.protocol).toMatchObject({ trials: 'enrolment', enrolSeconds: 3, voiceprints: 'rotating' });
      expect(report.protocol.description).toMatch(/^enrolment, rotating: per speaker, one voiceprint from each of its utterances/);
      expect(report.vadFallbackFiles).toEqual([]);
      // 3 voiceprints a speaker, 1 target test each (3 × 3); each meets the 6 utterances of the
      // other two speakers (9 × 6 non-target).
      expect(report.counts).toMatchObject({ speakers: 3, utterances: 9, enrolledSpeakers: 3, voiceprints: 9, targetTrials: 9, nonTargetTrials: 54 });
      // 1 s segments: one per utterance (each holds more than 1 s of speech and a group closes at
      // 1 s), every utterance being tested by some voiceprint; a segment meets the voiceprints
      // that do not hold its utterance, as an utterance does.
      expect(report.byDuration).toEqual([expect.objectContaining({ seconds: 1, segments: 9, targetTrials: 9, nonTargetTrials: 54 })]);
    },
    TIMEOUT,
  );

  it(
    'enrolled on one channel, verified on the other: ordered pairs across channels, scored on the caller\'s channel',
    async () => {
      const r = await runCli(['eval', folder, '--enrol-channel', 'wideband', '--channel', 'telephone', '--durations', '1'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(r.code).toBe(0);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^\| dev wideband→telephone\/mulaw all-pairs vp-test-tiny \| 3 spk, 9 utt \(\d whole\) \| 18\/54 trials \| EER /);
      const report = JSON.parse(r.stdout) as Report & { enrolChannel: string; protocol: { channel: string; scoringChannel: string } };
      expect(report).toMatchObject({ channel: 'telephone', enrolChannel: 'wideband', law: 'mulaw', scoringChannel: 'telephone' });
      expect(report.protocol.description).toMatch(/^all pairs across channels: every ordered pair of two different utterances, the first heard through the wideband channel/);
      expect(report.protocol.description).not.toMatch(/; across channels/);
      expect(report.protocol.channel).toMatch(/^enrolment side: wideband: .*; test side: telephone: /);
      expect(report.protocol.scoringChannel).toMatch(/across channels, the test side's/);
      // 9 recordings: 9 × 8 ordered pairs; each speaker's 3 give 3 × 2 targets.
      expect(report.counts).toEqual({
        speakers: 3,
        utterances: 9,
        analysed: 9,
        failedUtterances: 0,
        vadFallbackUtterances: report.vadFallbackFiles.length,
        enrolSideVadFallbackUtterances: report.counts.enrolSideVadFallbackUtterances,
        excludedByTestSeconds: 0,
        trialSpeakers: 3,
        targetTrials: 18,
        nonTargetTrials: 54,
      });
      expect(report.policies.map((p) => [p.policy, p.targetTrials, p.nonTargetTrials])).toEqual([
        ['standard', 18, 54],
        ['high', 18, 54],
      ]);
      expect(report.byDuration).toEqual([{ seconds: 1, segments: 9, droppedSegments: 0, speakers: 3, targetTrials: 18, nonTargetTrials: 54, eer: expect.any(Object), minDcf: expect.any(Object), policies: expect.any(Array) }]);

      // Enrolment trials across channels: the same trials as on one channel, voiceprints from the other side.
      const e = await runCli(['eval', folder, '--enrol-channel', 'telephone', '--law', 'alaw', '--enrol-seconds', '0.5', '--durations', 'none'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(e.code).toBe(0);
      const enrolment = JSON.parse(e.stdout) as Report & { enrolChannel: string };
      expect(enrolment).toMatchObject({ channel: 'wideband', enrolChannel: 'telephone', law: 'alaw', scoringChannel: 'wideband' });
      expect(enrolment.protocol.description).toMatch(/; the voiceprints from the enrolment utterances heard through the telephone channel, the tests heard through the wideband channel$/);
      expect(enrolment.counts).toMatchObject({ enrolledSpeakers: 3, targetTrials: 6, nonTargetTrials: 18 });
      // The first run's enrolment side and this run's test side are the same wideband renderings.
      expect(report.counts.enrolSideVadFallbackUtterances).toBe(enrolment.vadFallbackFiles.length);
      expect(e.stderr.trim().split('\n').at(-1)).toMatch(/^\| dev telephone\/alaw→wideband enrolment vp-test-tiny /);
    },
    TIMEOUT,
  );

  it(
    '--noise on the test side: ordered pairs of clean enrolment and noisy test renderings; the service\'s SNR estimate falls with the SNR; reruns are identical',
    async () => {
      type NoiseReport = Report & {
        noise: unknown;
        testSideSnrDb: { median: number | null; notEstimated: number; minSnrDb: number; underMinSnrDb: number };
        qualityGate: { minSnrDb: number; rule: string; decided: { targetTrials: number; nonTargetTrials: number } | null };
        protocol: { noise?: string };
      };
      const run = async (args: string[]) => {
        // An option given twice is refused: --durations none only where the call names none.
        const r = await runCli(['eval', folder, ...(args.includes('--durations') ? [] : ['--durations', 'none']), ...args], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
        expect(r.code).toBe(0);
        return { report: JSON.parse(r.stdout) as NoiseReport, line: r.stderr.trim().split('\n').at(-1) as string };
      };
      const clean = await run([]);
      const noisy = await run(['--noise', 'white', '--snr', '0']);
      expect(clean.report.noise).toBeNull();
      expect(clean.report.protocol.noise).toBeUndefined();
      expect(noisy.report.noise).toEqual({ kind: 'white', snrDb: 0 });
      expect(noisy.line).toMatch(/^\| dev wideband \+ white noise 0 dB all-pairs vp-test-tiny \| 3 spk, 9 utt \(\d whole\) \| 18\/54 trials \| EER .* \| by duration - \| test SNR est\. median -?\d+(\.\d)? dB, \d under 5 dB(, decided EER [^|]*)? \| /);
      expect(noisy.report.protocol.description).toMatch(
        /^all pairs with a noisy test side: every ordered pair of two different utterances, the first heard through the wideband channel, clean \(the enrolment side\), the second heard through the wideband channel with white noise added at 0 dB SNR \(the test side\)/,
      );
      expect(noisy.report.protocol.noise).toMatch(/^test side only: white noise \(Gaussian, drawn per recording; .* at 0 dB under the recording's active speech level \(ITU-T P\.56 method B\)/);
      expect(noisy.report.counts).toEqual({
        speakers: 3,
        utterances: 9,
        analysed: 9,
        failedUtterances: 0,
        vadFallbackUtterances: noisy.report.vadFallbackFiles.length,
        // The enrolment side is the clean rendering: the clean run's own fallbacks.
        enrolSideVadFallbackUtterances: clean.report.vadFallbackFiles.length,
        excludedByTestSeconds: 0,
        trialSpeakers: 3,
        targetTrials: 18,
        nonTargetTrials: 54,
      });
      // Noise as loud as the speech: the service's estimate reads far lower than for the clean files.
      // The gate's view: white noise as loud as the speech puts test sides under 5 dB, and the
      // decided trials are those whose test side is not under it (the clean enrolment sides pass).
      const under = noisy.report.testSideSnrDb.underMinSnrDb;
      expect(under).toBeGreaterThan(0);
      expect(clean.report.qualityGate).toEqual({ minSnrDb: 5, rule: expect.stringMatching(/^a trial is decided when the service's SNR estimate of each side is at least 5 dB/), decided: null });
      const passing = 9 - under;
      const decided = noisy.report.qualityGate.decided!;
      expect(decided.targetTrials + decided.nonTargetTrials).toBe(passing * 8);
      expect(noisy.line).toMatch(new RegExp(`, decided EER (\\d+\\.\\d\\d %|n/a) \\(${decided.targetTrials}/${decided.nonTargetTrials}\\) \\| `));
      const cleanSnr = clean.report.testSideSnrDb.median as number;
      const noisySnr = noisy.report.testSideSnrDb.median as number;
      expect(noisySnr).toBeLessThan(cleanSnr - 10);
      expect(noisySnr).toBeLessThan(10);
      expect(noisy.report.testSideSnrDb.minSnrDb).toBe(5);

      const again = await run(['--noise', 'white', '--snr', '0']);
      const { wallSeconds: _a, ...first } = noisy.report;
      const { wallSeconds: _b, ...second } = again.report;
      expect(second).toEqual(first);

      // Enrolment trials: clean voiceprints, noisy tests; only the tests are gated.
      const enrolment = await run(['--noise', 'white', '--snr', '0', '--enrol-seconds', '0.5']);
      expect(enrolment.report.protocol.description).toMatch(/; the voiceprints from the enrolment utterances heard through the wideband channel, clean, the tests heard through the wideband channel with white noise added at 0 dB SNR$/);
      expect(enrolment.report.qualityGate.rule).toMatch(/; voiceprints are not gated, only tests;/);
      const gatedTests = enrolment.report.testSideSnrDb.underMinSnrDb;
      expect(gatedTests).toBe(under); // the same noisy renderings as the all-pairs run
      const all = (enrolment.report.counts.targetTrials as number) + (enrolment.report.counts.nonTargetTrials as number);
      const kept = enrolment.report.qualityGate.decided;
      if (gatedTests === 9) expect(kept).toEqual({ targetTrials: 0, nonTargetTrials: 0, skipped: 'the gate leaves no target or no non-target trial' });
      else expect(kept!.targetTrials + kept!.nonTargetTrials).toBeLessThan(all);

      // A recorded noise at another rate (8 kHz) is resampled to each recording's; a silent one is refused.
      const babble = path.join(root, 'babble.wav');
      fs.writeFileSync(babble, wav(speechLike({ seconds: 3, sampleRate: 8000, pitchHz: 130 }), 8000));
      const recorded = await run(['--noise-file', babble, '--snr', '20', '--channel', 'telephone', '--durations', '1']);
      expect(recorded.report.noise).toEqual({ kind: 'file', file: babble, snrDb: 20 });
      expect(recorded.line).toMatch(/^\| dev telephone\/mulaw \+ noise from babble\.wav 20 dB all-pairs /);
      expect(recorded.report.counts).toMatchObject({ analysed: 9, targetTrials: 18, nonTargetTrials: 54 });
      // Duration segments: the noisy test side against the clean enrolment side, both ways round.
      expect(recorded.report.byDuration.map((d) => [d.seconds, d.segments, d.targetTrials, d.nonTargetTrials])).toEqual([[1, 9, 18, 54]]);
      const silent = path.join(root, 'silent.wav');
      fs.writeFileSync(silent, wav(new Float32Array(8000), 8000));
      const refusedSilent = await runCli(['eval', folder, '--noise-file', silent, '--snr', '5'], { VP_MODEL: 'vp-test-tiny' }, TIMEOUT);
      expect(refusedSilent.code).toBe(2);
      expect(cliError(refusedSilent).message).toBe(`--noise-file ${silent} is silent; it sets no noise level`);
    },
    TIMEOUT,
  );

  it('refuses bad folders and options with the CLI error codes, before loading a model', async () => {
    const missing = await runCli(['eval', path.join(root, 'nope')]);
    expect(missing.code).toBe(1);
    expect(cliError(missing).code).toBe('not-found');

    const single = path.join(root, 'single');
    fs.mkdirSync(path.join(single, 'only'), { recursive: true });
    fs.writeFileSync(path.join(single, 'only', 'a.wav'), wav(speechLike({ seconds: 1 }), 16000));
    const one = await runCli(['eval', single]);
    expect(one.code).toBe(2);
    expect(cliError(one).message).toMatch(/1 speaker sub-folder\(s\) with audio; non-target trials need at least 2/);

    const loose = path.join(root, 'loose');
    fs.mkdirSync(loose);
    fs.writeFileSync(path.join(loose, 'a.wav'), wav(speechLike({ seconds: 1 }), 16000));
    expect(cliError(await runCli(['eval', loose])).message).toMatch(/holds audio files directly/);

    const conflicting = await runCli(['eval', folder, '--trials', 'all-pairs', '--enrol-seconds', '5']);
    expect(conflicting.code).toBe(2);
    expect(cliError(conflicting).message).toMatch(/--enrol-seconds needs --trials enrolment/);

    const law = await runCli(['eval', folder, '--law', 'alaw']);
    expect(cliError(law).message).toBe('--law applies to the telephone channel only (--channel or --enrol-channel telephone)');

    const seconds = await runCli(['eval', folder, '--test-seconds', 'abc']);
    expect(cliError(seconds).message).toMatch(/--test-seconds must be a number of seconds/);
  }, TIMEOUT);
});
