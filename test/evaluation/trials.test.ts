import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { speakerBootstrapEer, speakerBootstrapRates, quantile, seededRandom } from '../../src/evaluation/confidence.js';
import { equalErrorRate, operatingPoints } from '../../src/evaluation/metrics.js';
import { policyRates, summariseTrials } from '../../src/evaluation/summary.js';
import {
  allPairsTrials,
  crossPairsTrials,
  enrolmentTrials,
  enrolmentVoiceprint,
  groupConsecutive,
  planEnrolment,
  planRotatingEnrolments,
  poolTrialSets,
  reindexSpeakers,
  speakerTrials,
  splitScores,
  trialCounts,
  type SpeakerEmbedding,
} from '../../src/evaluation/trials.js';

const unit = (...v: number[]) => Float32Array.from(v);

/** Speaker s's utterances point near axis s (2-D: angle s·90°, jittered). */
function utterances(perSpeaker: readonly number[], jitter = 0.1): SpeakerEmbedding[] {
  const out: SpeakerEmbedding[] = [];
  perSpeaker.forEach((count, s) => {
    for (let k = 0; k < count; k++) {
      const angle = (s * Math.PI) / 2 + (k - (count - 1) / 2) * jitter;
      out.push({ speaker: s, embedding: unit(Math.cos(angle), Math.sin(angle)) });
    }
  });
  return out;
}

describe('all-pairs trials', () => {
  it('counts: Σ C(n_s, 2) target and C(N, 2) in all (the reference table: 25 × 10 → 1125 / 30000)', () => {
    const set = allPairsTrials(utterances(Array(25).fill(10) as number[]));
    expect(trialCounts(set)).toEqual({ target: 1125, nonTarget: 30000 });
  });

  it('scores are cosines; target iff same speaker', () => {
    const set = allPairsTrials([
      { speaker: 0, embedding: unit(1, 0) },
      { speaker: 0, embedding: unit(3, 4) },
      { speaker: 1, embedding: unit(0, -2) },
    ]);
    expect(Array.from(set.scores, (s) => Number(s.toFixed(6)))).toEqual([0.6, 0, -0.8]);
    expect(Array.from(set.isTarget)).toEqual([1, 0, 0]);
    expect(Array.from(set.speakerA)).toEqual([0, 0, 0]);
    expect(Array.from(set.speakerB)).toEqual([0, 1, 1]);
  });

  it('property: counts for any speaker sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }), (sizes) => {
        const n = sizes.reduce((a, b) => a + b, 0);
        const target = sizes.reduce((a, c) => a + (c * (c - 1)) / 2, 0);
        expect(trialCounts(allPairsTrials(utterances(sizes)))).toEqual({ target, nonTarget: (n * (n - 1)) / 2 - target });
      }),
    );
  });
});

describe('cross-channel pairs', () => {
  it('scores each recording as enrolled against every other recording as tested, in both orders', () => {
    // Recording k heard through the enrolment channel (enrol[k]) and the test channel (test[k]).
    const enrol = [
      { speaker: 0, embedding: unit(1, 0) },
      { speaker: 0, embedding: unit(3, 4) },
      { speaker: 1, embedding: unit(0, 1) },
    ];
    const test = [
      { speaker: 0, embedding: unit(0, 1) },
      { speaker: 0, embedding: unit(1, 0) },
      { speaker: 1, embedding: unit(-1, 0) },
    ];
    const set = crossPairsTrials(enrol, test);
    // Order: enrolment side i, then test side j ≠ i.
    expect(Array.from(set.scores, (s) => Number(s.toFixed(6)))).toEqual([1, -1, 0.8, -0.6, 1, 0]);
    expect(Array.from(set.isTarget)).toEqual([1, 0, 1, 0, 0, 0]);
    expect(Array.from(set.speakerA)).toEqual([0, 0, 0, 0, 1, 1]);
    expect(Array.from(set.speakerB)).toEqual([0, 1, 0, 1, 0, 0]);

    // keep: only the pairs it names, in the same order (here: recording 1 gated as a test side).
    const kept = crossPairsTrials(enrol, test, undefined, (_i, j) => j !== 1);
    expect(Array.from(kept.scores, (s) => Number(s.toFixed(6)))).toEqual([-1, 0.8, -0.6, 1]);
    expect(Array.from(kept.isTarget)).toEqual([0, 1, 0, 0]);
    expect(Array.from(kept.speakerA)).toEqual([0, 0, 0, 1]);
    expect(Array.from(kept.speakerB)).toEqual([1, 0, 1, 0]);
  });

  it('property: twice the all-pairs counts, and equal to all pairs in both orders when the two sides are one rendering', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }), fc.double({ min: 0, max: 1, noNaN: true }), (sizes, jitter) => {
        const u = utterances(sizes, jitter);
        const once = allPairsTrials(u);
        const cross = crossPairsTrials(u, u);
        const counts = trialCounts(once);
        expect(trialCounts(cross)).toEqual({ target: 2 * counts.target, nonTarget: 2 * counts.nonTarget });
        // Same embeddings on both sides: every unordered pair's score appears exactly twice.
        const sorted = (a: Float64Array) => Array.from(a, (x) => Number(x.toFixed(9)) + 0).sort((x, y) => x - y); // + 0: −0 is 0
        expect(sorted(cross.scores)).toEqual(sorted(Float64Array.from([...once.scores, ...once.scores])));
      }),
    );
  });

  it('refuses sides that are not the same recordings', () => {
    expect(() => crossPairsTrials([{ speaker: 0, embedding: unit(1, 0) }], [])).toThrow(/one test side per enrolment side/);
    expect(() => crossPairsTrials([{ speaker: 0, embedding: unit(1, 0) }], [{ speaker: 1, embedding: unit(1, 0) }])).toThrow(/different speakers/);
  });
});

describe('enrolment trials', () => {
  it('planEnrolment: first utterances until the speech reaches S, at least one left to test', () => {
    expect(planEnrolment([4, 3, 5, 2], 7)).toEqual({ enrol: [0, 1], test: [2, 3], enrolSeconds: 7 });
    expect(planEnrolment([4, 3, 5, 2], 12)).toEqual({ enrol: [0, 1, 2], test: [3], enrolSeconds: 12 });
    expect(planEnrolment([4, 3, 5, 2], 12.5)).toBeNull(); // would leave nothing to test
    expect(planEnrolment([30], 1)).toBeNull();
  });

  it('never tests an utterance against the enrolment it is part of', () => {
    const voiceprints = [
      { speaker: 0, embedding: unit(1, 0), members: new Set(['a0']) },
      { speaker: 1, embedding: unit(0, 1), members: new Set(['b0']) },
    ];
    const tests = [
      { speaker: 0, embedding: unit(1, 0), sources: ['a0'] },
      { speaker: 0, embedding: unit(1, 1), sources: ['a1'] },
      { speaker: 1, embedding: unit(0, 1), sources: ['b0'] },
      { speaker: 1, embedding: unit(1, 1), sources: ['b1'] },
    ];
    const set = enrolmentTrials(voiceprints, tests);
    // Voiceprint 0: tests 1 (target), 2, 3. Voiceprint 1: tests 0, 1, 3 (target).
    expect(Array.from(set.isTarget)).toEqual([1, 0, 0, 0, 0, 1]);
    expect(Array.from(set.speakerB)).toEqual([0, 1, 1, 0, 0, 1]);
    expect(Array.from(set.scores, (s) => Number(s.toFixed(6)))).toEqual([0.707107, 0, 0.707107, 0, 0.707107, 0.707107]);
  });

  it('a test that joins several recordings is left out when any of them is in the enrolment', () => {
    const voiceprints = [
      { speaker: 0, embedding: unit(1, 0), members: new Set(['a0', 'a1']) },
      { speaker: 0, embedding: unit(0, 1), members: new Set(['a2', 'a3']) },
    ];
    const tests = [
      { speaker: 0, embedding: unit(1, 0), sources: ['a1', 'a2'] }, // overlaps both
      { speaker: 0, embedding: unit(1, 0), sources: ['a3', 'a4'] }, // overlaps the second
      { speaker: 1, embedding: unit(1, 0), sources: ['b0', 'b1'] },
    ];
    const set = enrolmentTrials(voiceprints, tests);
    expect(Array.from(set.speakerA)).toEqual([0, 0, 0]);
    expect(Array.from(set.speakerB)).toEqual([0, 1, 1]);
    expect(Array.from(set.scores, (s) => Number(s.toFixed(6)))).toEqual([1, 1, 0]);
  });

  it('planRotatingEnrolments: a run of consecutive utterances from each one, wrapping round', () => {
    expect(planRotatingEnrolments([4, 3, 5, 2], 7)).toEqual([
      { enrol: [0, 1], test: [2, 3], enrolSeconds: 7 },
      { enrol: [1, 2], test: [0, 3], enrolSeconds: 8 },
      { enrol: [2, 3], test: [0, 1], enrolSeconds: 7 },
      { enrol: [3, 0, 1], test: [2], enrolSeconds: 9 },
    ]);
    // Only the run from the first utterance reaches 12 s within three (one must stay to test).
    expect(planRotatingEnrolments([4, 3, 5, 2], 12)).toEqual([{ enrol: [0, 1, 2], test: [3], enrolSeconds: 12 }]);
    expect(planRotatingEnrolments([4, 3, 5, 2], 13)).toEqual([]);
    // Two utterances: each enrols alone when long enough; one long one cannot be tested against.
    expect(planRotatingEnrolments([5, 5], 5)).toEqual([
      { enrol: [0], test: [1], enrolSeconds: 5 },
      { enrol: [1], test: [0], enrolSeconds: 5 },
    ]);
    expect(planRotatingEnrolments([30], 1)).toEqual([]);
    // Every run needs all but one utterance: one voiceprint leaves out each utterance in turn.
    expect(planRotatingEnrolments([1, 1, 1], 2).map((p) => p.enrol)).toEqual([[0, 1], [1, 2], [2, 0]]);
  });

  it('planRotatingEnrolments: every plan holds enough speech, tests the rest, and the first is planEnrolment\'s', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: 1, maxLength: 12 }), fc.double({ min: 0.1, max: 40, noNaN: true }), (speech, seconds) => {
        const plans = planRotatingEnrolments(speech, seconds);
        const keys = new Set<string>();
        for (const p of plans) {
          expect(p.test.length).toBeGreaterThanOrEqual(1);
          expect(p.enrolSeconds).toBeGreaterThanOrEqual(seconds);
          expect(p.enrolSeconds).toBeCloseTo(p.enrol.reduce((t, i) => t + (speech[i] as number), 0), 9);
          expect([...p.enrol, ...p.test].sort((a, b) => a - b)).toEqual(speech.map((_, i) => i));
          // Consecutive, wrapping round: each next index follows the one before.
          p.enrol.forEach((i, k) => k > 0 && expect(i).toBe(((p.enrol[k - 1] as number) + 1) % speech.length));
          // A shorter run from the same start would not have reached the seconds (summed in the
          // same order as the plan, so the comparison sees the same floating-point sums).
          expect(p.enrol.slice(0, -1).reduce((t, i) => t + (speech[i] as number), 0)).toBeLessThan(seconds);
          const key = [...p.enrol].sort((a, b) => a - b).join(',');
          expect(keys.has(key)).toBe(false);
          keys.add(key);
        }
        const first = planEnrolment(speech, seconds);
        if (first === null) expect(plans.every((p) => p.enrol[0] !== 0)).toBe(true);
        else expect(plans[0]).toEqual(first);
      }),
    );
  });

  it('voiceprint: speech-weighted mean of the unit embeddings, normalised', () => {
    const v = enrolmentVoiceprint([
      { embedding: unit(2, 0), speechSeconds: 3 },
      { embedding: unit(0, 5), speechSeconds: 1 },
    ]);
    expect(Array.from(v, (x) => Number(x.toFixed(6)))).toEqual([0.948683, 0.316228]);
  });
});

describe('reindexSpeakers', () => {
  it('numbers the speakers that appear in the trials 0..k−1, in order of appearance', () => {
    const set = allPairsTrials([
      { speaker: 7, embedding: unit(1, 0) },
      { speaker: 3, embedding: unit(0, 1) },
      { speaker: 7, embedding: unit(1, 1) },
    ]);
    const r = reindexSpeakers(set);
    expect(r.speakers).toBe(2);
    expect(Array.from(r.set.speakerA)).toEqual([0, 0, 1]);
    expect(Array.from(r.set.speakerB)).toEqual([1, 0, 0]);
    expect(r.counts).toEqual({ target: 1, nonTarget: 2 });
    expect(r.set.scores).toBe(set.scores);
  });
});

describe('groupConsecutive (duration segments)', () => {
  it('joins consecutive utterances until the speech reaches S, drops a short tail', () => {
    expect(groupConsecutive([0.6, 0.7, 0.8, 2.5, 0.4, 1.0], 2)).toEqual([[0, 1, 2], [3]]);
    expect(groupConsecutive([5, 5], 3)).toEqual([[0], [1]]);
    expect(groupConsecutive([1], 2)).toEqual([]);
  });
});

describe('speaker trials (sorted, speakers alongside)', () => {
  it('keeps each trial with its own speakers after sorting', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 2, max: 5 }), { minLength: 2, maxLength: 5 }), fc.double({ min: 0, max: 1, noNaN: true }), (sizes, jitter) => {
        const set = allPairsTrials(utterances(sizes, jitter));
        const st = speakerTrials(set, sizes.length);
        for (let i = 0; i < st.sorted.scores.length; i++) {
          expect(st.sorted.isTarget[i]).toBe(st.speakerA[i] === st.speakerB[i] ? 1 : 0);
          if (i > 0) expect(st.sorted.scores[i]!).toBeLessThanOrEqual(st.sorted.scores[i - 1]!);
        }
        const split = splitScores(set);
        expect(split.target.length + split.nonTarget.length).toBe(set.scores.length);
      }),
      { numRuns: 50 },
    );
  });
});

describe('speaker bootstrap', () => {
  it('seededRandom is reproducible and in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, a);
    expect(Array.from({ length: 1000 }, b)).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / 1000 - 0.5)).toBeLessThan(0.05);
  });

  it('quantile (type 7)', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantile([7], 0.975)).toBe(7);
  });

  it('perfectly separated speakers: the interval is [0, 0]', () => {
    const set = allPairsTrials(utterances([4, 4, 4, 4], 0.1));
    const ci = speakerBootstrapEer(speakerTrials(set, 4), { replicates: 200, seed: 3 });
    expect(ci).toMatchObject({ low: 0, high: 0, requested: 200, seed: 3 });
    expect(ci.replicates).toBeGreaterThan(190);
  });

  it('brackets the point EER of overlapping speakers, and the same seed gives the same interval', () => {
    const set = allPairsTrials(utterances([6, 6, 6, 6, 6, 6, 6, 6], 1.2));
    const st = speakerTrials(set, 8);
    const eer = equalErrorRate(operatingPoints(st.sorted)).eer;
    const ci = speakerBootstrapEer(st, { replicates: 300, seed: 9 });
    expect(eer).toBeGreaterThan(0);
    expect(ci.low).toBeLessThanOrEqual(eer);
    expect(ci.high).toBeGreaterThanOrEqual(eer);
    expect(ci.high).toBeGreaterThan(ci.low);
    expect(speakerBootstrapEer(st, { replicates: 300, seed: 9 })).toEqual(ci);
  });
});

describe('speaker bootstrap of FMR and FNMR at fixed thresholds', () => {
  it('perfectly separated speakers: FMR [0, 0] and FNMR [0, 0] between the two score groups; [1, 1] beyond them', () => {
    const set = allPairsTrials(utterances([4, 4, 4, 4], 0.1));
    // Targets score ≥ cos(0.3) ≈ 0.955, non-targets ≤ cos(80°) ≈ 0.17.
    const { intervals, requested, seed } = speakerBootstrapRates(speakerTrials(set, 4), [0.5, 2, -2], { replicates: 200, seed: 3 });
    expect([requested, seed]).toEqual([200, 3]);
    expect(intervals).toEqual([
      { fmr: { low: 0, high: 0 }, fnmr: { low: 0, high: 0 } },
      { fmr: { low: 0, high: 0 }, fnmr: { low: 1, high: 1 } },
      { fmr: { low: 1, high: 1 }, fnmr: { low: 0, high: 0 } },
    ]);
  });

  it('false matches that all involve one speaker: replicates without that speaker have none, so the interval starts at 0', () => {
    // Four speakers; only non-targets against speaker 0 score high.
    const scores: number[] = [];
    const isTarget: number[] = [];
    const speakerA: number[] = [];
    const speakerB: number[] = [];
    for (let a = 0; a < 4; a++) {
      for (let b = a; b < 4; b++) {
        scores.push(a === b ? 0.9 : a === 0 ? 0.8 : 0.1);
        isTarget.push(a === b ? 1 : 0);
        speakerA.push(a);
        speakerB.push(b);
      }
    }
    const set = { scores: Float64Array.from(scores), isTarget: Uint8Array.from(isTarget), speakerA: Uint32Array.from(speakerA), speakerB: Uint32Array.from(speakerB) };
    const { intervals } = speakerBootstrapRates(speakerTrials(set, 4), [0.5], { replicates: 500, seed: 5 });
    // Point FMR 3/6 = 0.5; P(speaker 0 not drawn) = (3/4)^4 ≈ 32 %, so the 2.5th percentile is 0.
    expect(intervals[0]!.fmr.low).toBe(0);
    expect(intervals[0]!.fmr.high).toBeGreaterThan(0.5);
    expect(intervals[0]!.fnmr).toEqual({ low: 0, high: 0 });
  });

  it('property: bounds in [0, 1], low ≤ high, and FMR bounds fall (FNMR bounds rise) as the threshold rises; the same seed repeats', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 2, max: 5 }), { minLength: 2, maxLength: 5 }), fc.double({ min: 0.2, max: 1.5, noNaN: true }), fc.integer({ min: 1, max: 1e6 }), (sizes, jitter, seed) => {
        const st = speakerTrials(allPairsTrials(utterances(sizes, jitter)), sizes.length);
        const thresholds = [-0.5, 0, 0.3, 0.6, 0.9];
        const { intervals } = speakerBootstrapRates(st, thresholds, { replicates: 60, seed });
        intervals.forEach((iv, k) => {
          for (const r of [iv.fmr, iv.fnmr]) expect(0 <= r.low && r.low <= r.high && r.high <= 1).toBe(true);
          if (k > 0) {
            const prev = intervals[k - 1]!;
            expect(iv.fmr.low).toBeLessThanOrEqual(prev.fmr.low);
            expect(iv.fmr.high).toBeLessThanOrEqual(prev.fmr.high);
            expect(iv.fnmr.low).toBeGreaterThanOrEqual(prev.fnmr.low);
            expect(iv.fnmr.high).toBeGreaterThanOrEqual(prev.fnmr.high);
          }
        });
        expect(speakerBootstrapRates(st, thresholds, { replicates: 60, seed }).intervals).toEqual(intervals);
      }),
      { numRuns: 40 },
    );
  });

  it('poolTrialSets: the sets one after another, each set\'s speakers renumbered over those with trials and after the previous set\'s', () => {
    const one = { scores: Float64Array.of(0.9, 0.1), isTarget: Uint8Array.of(1, 0), speakerA: Uint32Array.of(3, 3), speakerB: Uint32Array.of(3, 7) };
    const two = { scores: Float64Array.of(0.2), isTarget: Uint8Array.of(0), speakerA: Uint32Array.of(0), speakerB: Uint32Array.of(5) };
    const { set, speakers } = poolTrialSets([one, two]);
    expect(speakers).toBe(4);
    expect([...set.scores]).toEqual([0.9, 0.1, 0.2]);
    expect([...set.isTarget]).toEqual([1, 0, 0]);
    expect([...set.speakerA]).toEqual([0, 0, 2]);
    expect([...set.speakerB]).toEqual([0, 1, 3]);
  });
});

describe('summary of a trial set', () => {
  it('minDCF whose best point is rejecting every trial has no threshold (null, not Infinity) and quotes its rates', () => {
    // Every trial scores the same: no threshold does better than no system.
    const pairs = [[0, 0], [1, 1], [2, 2], ...Array.from({ length: 12 }, (_, i) => [i % 3, (i % 3) + 1 + (i % 2)])].map(([a, b]) => [a!, b! % 3] as const);
    const set = {
      scores: new Float64Array(pairs.length).fill(0.5),
      isTarget: Uint8Array.from(pairs, (_, i) => (i < 3 ? 1 : 0)),
      speakerA: Uint32Array.from(pairs, (p) => p[0]),
      speakerB: Uint32Array.from(pairs, (p) => p[1]),
    };
    const { summary } = summariseTrials(set, 3, { replicates: 20, seed: 1 });
    expect(summary.minDcf).toEqual({ pTarget: 0.01, cMiss: 1, cFalseAlarm: 1, value: 1, threshold: null, fmr: 0, fnmr: 1, fmrText: '< 3/12 (25.0000 %)', fnmrText: '100.00 %' });
    expect(JSON.parse(JSON.stringify(summary.minDcf)).threshold).toBeNull();
  });

  it('counts, EER, minDCF and policy rates with the rule of three', () => {
    const set = allPairsTrials(utterances([3, 3, 3], 0.1));
    const { summary } = summariseTrials(set, 3, { replicates: 50, seed: 1 });
    expect(summary).toMatchObject({ speakers: 3, targetTrials: 9, nonTargetTrials: 27, eer: { value: 0, percent: 0 }, minDcf: { value: 0, pTarget: 0.01 } });
    // Perfect separation: both rates are 0, which 9 and 27 trials only bound by 3/N.
    expect([summary.minDcf.fmr, summary.minDcf.fnmr, summary.minDcf.fmrText, summary.minDcf.fnmrText]).toEqual([0, 0, '< 3/27 (11.1111 %)', '< 3/9 (33.3333 %)']);
    // Same-speaker cosines are ≥ cos(0.2) ≈ 0.98; different speakers ≤ cos(80°) ≈ 0.17.
    const rates = policyRates(speakerTrials(set, 3), [
      { name: 'standard', threshold: 0.5 },
      { name: 'strict', threshold: 0.99 },
    ], { replicates: 50, seed: 1 });
    expect(rates[0]).toEqual({
      policy: 'standard',
      threshold: 0.5,
      falseMatches: 0,
      nonTargetTrials: 27,
      fmr: null,
      fmrText: '< 3/27 (11.1111 %)',
      falseNonMatches: 0,
      targetTrials: 9,
      fnmr: null,
      fnmrText: '< 3/9 (33.3333 %)',
      // Separated at 0.5 in every resample too.
      fmrInterval: { low: 0, high: 0 },
      fnmrInterval: { low: 0, high: 0 },
      falseMatchPairs: 0,
    });
    // Targets within the same speaker: cos(0.1) = 0.995 (×6) and cos(0.2) = 0.980 (×3) → 3 of 9 rejected.
    expect(rates[1]).toMatchObject({ falseNonMatches: 3, fnmr: 0.333333, fnmrText: '33.33 %' });
    // At 0.99 each speaker's cos(0.2) pair is rejected: one in three of every speaker's targets, in every resample.
    expect(rates[1]!.fnmrInterval).toEqual({ low: 0.333333, high: 0.333333 });
    // Thresholds under some impostors: the pairs of speakers those trials come from. The speakers
    // sit at 0°, 90° and 180°, each utterance within ±0.1 rad: speaker 1 meets 0 and 2 at cosines
    // −sin(d), d the offset difference in {−0.2, −0.1 (×2), 0 (×3), 0.1 (×2), 0.2}, so 3 of each
    // pair's 9 trials reach 0.05 (0.199, 0.0998 ×2); 0 and 2 meet near −1. At −2 all 27 do.
    const open = policyRates(speakerTrials(set, 3), [{ name: 'open', threshold: -2 }, { name: 'near', threshold: 0.05 }], { replicates: 10, seed: 1 });
    expect(open.map((r) => [r.falseMatches, r.falseMatchPairs])).toEqual([
      [27, 3],
      [6, 2],
    ]);
  });
});
