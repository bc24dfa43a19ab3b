/**
 * How a calibration fitted on some speakers serves others, on the trials the service decides: a
 * caller against a voiceprint of at least VP_ENROL_MIN_SECONDS of enrolment speech (eval --trials
 * enrolment --voiceprints rotating). The speakers of a dev set are split in two at random; one half
 * calibrates (as `voice-passport calibrate` does: src/cli/calibrate.ts, calibrateChannel), the
 * other half's voiceprint trials measure it; 20 halvings, each used both ways round.
 *
 * 1. The score map (cosine or AS-norm score → log-likelihood ratio, the API's `score`): its Cllr
 *    (Brümmer & du Preez, CSL 20(2–3), 2006; 0 perfect, 1 says nothing) on the held-out voiceprint
 *    trials, for a map fitted on all pairs of single utterances (how vp-resnet-v9 was first
 *    calibrated) and for one fitted on voiceprint trials (how it is calibrated now).
 * 2. The default policies' thresholds (`standard` FMR 1 %, `high` 0.1 %, each under the `estimate`
 *    and the `upper-95` bound), set on one half's voiceprint trials: the false-match and false
 *    non-match rates the other half's speakers meet.
 * 3. The support rule (src/scoring/calibration.ts, lowestSupportedTarget): for each of --targets
 *    under each bound, whether the half's own calibration supports the target (its threshold rests
 *    on at least MIN_FALSE_MATCH_PAIRS pairs of speakers, and the rule of three), and the FMR the
 *    other half meets, as a multiple of the target, for the supported and the unsupported ones.
 *
 *   node --import tsx scripts/eval/calibration-holdout.ts [--set ../shared/data/dev/so762] [--channels wideband,telephone] [--enrol-seconds 20] [--halvings 20] [--targets 0.0002,0.0005,...,0.05]
 *
 * About 3 min a channel on 2 cores (every utterance is analysed twice, once for each protocol,
 * and each half's operating table is bootstrapped as calibrate does). Uses the running model
 * (VP_MODEL, VP_MODELS_DIR) and its score normalisation, as eval does; the manifest's own
 * calibration is not used.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { calibrateChannel } from '../../src/cli/calibrate.js';
import { evalCommand, type EvalTrials } from '../../src/cli/eval.js';
import { seededRandom } from '../../src/evaluation/confidence.js';
import { errorCountsAt } from '../../src/evaluation/metrics.js';
import { splitScores, type TrialSet } from '../../src/evaluation/trials.js';
import { applyCalibration, cllr, fitLogisticCalibration, MIN_FALSE_MATCH_PAIRS, targetFmrBounds, thresholdForFmr, type LinearCalibration } from '../../src/scoring/calibration.js';

const { values } = parseArgs({
  options: {
    set: { type: 'string', default: fileURLToPath(new URL('../../../shared/data/dev/so762', import.meta.url)) },
    channels: { type: 'string', default: 'wideband,telephone' },
    'enrol-seconds': { type: 'string', default: '20' },
    halvings: { type: 'string', default: '20' },
    targets: { type: 'string', default: '0.0002,0.0005,0.001,0.002,0.005,0.01,0.02,0.05' },
  },
});
if (!existsSync(values.set)) {
  console.error(`calibration-holdout: ${values.set} is absent (the dev sets live in ../shared); nothing to do`);
  process.exit(0);
}
const halvings = Number(values.halvings);
if (!(Number.isInteger(halvings) && halvings > 0)) throw new Error(`--halvings must be a positive whole number, got "${values.halvings}"`);
const targets = values.targets.split(',').map(Number);
if (!targets.every((t) => t > 0 && t < 1)) throw new Error(`--targets must be FMRs in (0, 1), got "${values.targets}"`);
const config = loadConfig(process.env);

async function trials(args: string[]): Promise<EvalTrials> {
  let run: EvalTrials | null = null;
  await evalCommand([values.set, '--durations', 'none', ...args], config, (t) => {
    run = t;
  });
  if (run === null) throw new Error('eval produced no trials');
  return run;
}

/** The trials whose two speakers both pass `keep`. */
function subset(set: TrialSet, keep: (speaker: number) => boolean): TrialSet {
  const idx: number[] = [];
  set.scores.forEach((_, i) => {
    if (keep(set.speakerA[i] as number) && keep(set.speakerB[i] as number)) idx.push(i);
  });
  return {
    scores: Float64Array.from(idx, (i) => set.scores[i] as number),
    isTarget: Uint8Array.from(idx, (i) => set.isTarget[i] as number),
    speakerA: Uint32Array.from(idx, (i) => set.speakerA[i] as number),
    speakerB: Uint32Array.from(idx, (i) => set.speakerB[i] as number),
  };
}

const mapCllr = (map: LinearCalibration, s: { target: Float64Array; nonTarget: Float64Array }) =>
  cllr({ target: s.target.map((x) => applyCalibration(map, x)), nonTarget: s.nonTarget.map((x) => applyCalibration(map, x)) });
const fitMap = (set: TrialSet) => fitLogisticCalibration(splitScores(set), { prior: 0.5 });
const mean = (xs: readonly number[]) => xs.reduce((t, x) => t + x, 0) / xs.length;
const f3 = (v: number) => v.toFixed(3);
const pct = (v: number, digits = 2) => `${(v * 100).toFixed(digits)} %`;

const mapRows: string[] = [];
const policyRows: string[] = [];
const supportRows: string[] = [];
for (const channel of values.channels.split(',')) {
  const pairs = await trials(['--channel', channel]);
  const voiceprints = await trials(['--channel', channel, '--voiceprints', 'rotating', '--enrol-seconds', values['enrol-seconds']]);
  const speakers = [...new Set([...voiceprints.main.speakerA, ...voiceprints.main.speakerB])];
  const heldOutCllr = { pairs: [] as number[], voiceprints: [] as number[] };
  const policies = new Map<string, { targetFmr: number; fmr: number[]; fnmr: number[]; setFmr: number[]; setFnmr: number[] }>();
  /** Held-out FMR ÷ target, by bound and by whether the half's calibration supports the target. */
  const support = new Map<string, { ratios: number[]; met: number }>();
  const random = seededRandom(7);
  for (let k = 0; k < halvings; k++) {
    // Fisher–Yates with the seeded generator: a reproducible random half.
    const order = [...speakers];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const half = new Set(order.slice(0, Math.floor(order.length / 2)));
    for (const side of [true, false]) {
      const fitSide = (s: number) => half.has(s) === side;
      const testSide = (s: number) => half.has(s) !== side;
      const test = splitScores(subset(voiceprints.main, testSide));
      heldOutCllr.pairs.push(mapCllr(fitMap(subset(pairs.main, fitSide)), test));
      const fitted = subset(voiceprints.main, fitSide);
      heldOutCllr.voiceprints.push(mapCllr(fitMap(fitted), test));
      const { block, defaultPolicies } = calibrateChannel([{ ...voiceprints, main: fitted, byDuration: [] }], { prior: 0.5, sets: [values.set], now: new Date(0) });
      for (const bound of targetFmrBounds) {
        for (const target of targets) {
          const t = thresholdForFmr(block.operatingPoints!, target, block.trials!.nonTarget, bound);
          const key = `${bound}|${t.supported}`;
          const entry = support.get(key) ?? { ratios: [], met: 0 };
          const heldOut = errorCountsAt(test, t.threshold).fmr;
          entry.ratios.push(heldOut / target);
          if (heldOut <= target) entry.met++;
          support.set(key, entry);
        }
      }
      for (const p of defaultPolicies) {
        const key = `${p.name} (${p.targetFmrBound})`;
        const entry = policies.get(key) ?? { targetFmr: p.targetFmr, fmr: [], fnmr: [], setFmr: [], setFnmr: [] };
        const measured = errorCountsAt(test, p.threshold);
        entry.fmr.push(measured.fmr);
        entry.fnmr.push(measured.fnmr);
        entry.setFmr.push(p.fmr);
        entry.setFnmr.push(p.fnmr);
        policies.set(key, entry);
      }
    }
  }
  for (const bound of targetFmrBounds) {
    for (const supported of [true, false]) {
      const e = support.get(`${bound}|${supported}`);
      if (e === undefined) continue;
      const sorted = [...e.ratios].sort((x, y) => x - y);
      supportRows.push(
        `| ${channel} | ${bound} | ${supported ? `supported (≥ ${MIN_FALSE_MATCH_PAIRS} pairs)` : 'not supported'} | ${e.ratios.length} | ${mean(e.ratios).toFixed(2)} × | ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} × | ${e.met} / ${e.ratios.length} |`,
      );
    }
  }
  const everyone = () => true;
  const allVoiceprints = splitScores(voiceprints.main);
  for (const [kind, set] of [
    ['pairs', pairs.main],
    ['voiceprints', voiceprints.main],
  ] as const) {
    const map = fitMap(subset(set, everyone));
    const h = heldOutCllr[kind];
    mapRows.push(
      `| ${channel} | ${kind === 'pairs' ? 'all pairs of single utterances' : `${values['enrol-seconds']} s voiceprints, one from each utterance on`} | a ${f3(map.a)}, b ${f3(map.b)} | ${f3(mapCllr(map, allVoiceprints))} | ${f3(mean(h))} [${f3(Math.min(...h))}, ${f3(Math.max(...h))}] |`,
    );
  }
  for (const [key, e] of policies) {
    const atOrUnder = e.fmr.filter((f) => f <= e.targetFmr).length;
    policyRows.push(
      `| ${channel} | ${key} | ${pct(mean(e.setFmr), 3)} / ${pct(mean(e.setFnmr), 1)} | ${pct(mean(e.fmr), 3)} [${pct(Math.min(...e.fmr), 3)}, ${pct(Math.max(...e.fmr), 3)}] | ${atOrUnder} / ${e.fmr.length} | ${pct(mean(e.fnmr), 1)} |`,
    );
  }
}
console.log(`Score map: Cllr of the ${values['enrol-seconds']} s voiceprint trials (${values.set})`);
console.log(`| channel | map fitted on | a, b (all speakers) | Cllr, in sample | Cllr held out: mean [range] over ${2 * halvings} halves |`);
console.log('|---|---|---|---|---|');
for (const row of mapRows) console.log(row);
console.log('\nDefault policies: thresholds set on one half\'s voiceprint trials, measured on the other half\'s');
console.log(`| channel | policy (bound) | where set: FMR / FNMR (mean) | held out: FMR mean [range] | held-out halves at or under target | held out: FNMR (mean) |`);
console.log('|---|---|---|---|---|---|');
for (const row of policyRows) console.log(row);
console.log(`\nThe support rule: targets ${targets.join(', ')} set on one half; supported as the half's own calibration judges it (lowestSupportedTarget)`);
console.log('| channel | bound | the half\'s calibration | thresholds (targets × halves) | held-out FMR ÷ target, mean | median | held out at or under target |');
console.log('|---|---|---|---|---|---|---|');
for (const row of supportRows) console.log(row);
