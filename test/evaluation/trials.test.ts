import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { speakerBootstrapEer, quantile, seededRandom } from '../../src/evaluation/confidence.js';
import { equalErrorRate, operatingPoints } from '../../src/evaluation/metrics.js';
import { policyRates, summariseTrials } from '../../src/evaluation/summary.js';
import {
  allPairsTrials,
  enrolmentTrials,
  enrolmentVoiceprint,
  groupConsecutive,
  planEnrolment,
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

describe('enrolment trials', () => {
  it('planEnrolment: first utterances until the speech reaches S, at least one left to test', () => {
    expect(planEnrolment([4, 3, 5, 2], 7)).toEqual({ enrol: [0, 1], test: [2, 3], enrolSeconds: 7 });
    expect(planEnrolment([4, 3, 5, 2], 12)).toEqual({ enrol: [0, 1, 2], test: [3], enrolSeconds: 12 });
    expect(planEnrolment([4, 3, 5, 2], 12.5)).toBeNull(); // would leave nothing to test
    expect(planEnrolment([30], 1)).toBeNull();
  });

  it('never tests an utterance against the enrolment it is part of', () => {
    const voiceprints = [
      { speaker: 0, embedding: unit(1, 0) },
      { speaker: 1, embedding: unit(0, 1) },
    ];
    const tests = [
      { speaker: 0, embedding: unit(1, 0), enrolledIn: 0 },
      { speaker: 0, embedding: unit(1, 1), enrolledIn: null },
      { speaker: 1, embedding: unit(0, 1), enrolledIn: 1 },
      { speaker: 1, embedding: unit(1, 1), enrolledIn: null },
    ];
    const set = enrolmentTrials(voiceprints, tests);
    // Voiceprint 0: tests 1 (target), 2, 3. Voiceprint 1: tests 0, 1, 3 (target).
    expect(Array.from(set.isTarget)).toEqual([1, 0, 0, 0, 0, 1]);
    expect(Array.from(set.speakerB)).toEqual([0, 1, 1, 0, 0, 1]);
    expect(Array.from(set.scores, (s) => Number(s.toFixed(6)))).toEqual([0.707107, 0, 0.707107, 0, 0.707107, 0.707107]);
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

describe('summary of a trial set', () => {
  it('counts, EER, minDCF and policy rates with the rule of three', () => {
    const set = allPairsTrials(utterances([3, 3, 3], 0.1));
    const { summary } = summariseTrials(set, 3, { replicates: 50, seed: 1 });
    expect(summary).toMatchObject({ speakers: 3, targetTrials: 9, nonTargetTrials: 27, eer: { value: 0, percent: 0 }, minDcf: { value: 0, pTarget: 0.01 } });
    // Same-speaker cosines are ≥ cos(0.2) ≈ 0.98; different speakers ≤ cos(80°) ≈ 0.17.
    const rates = policyRates(set, [
      { name: 'standard', threshold: 0.5 },
      { name: 'strict', threshold: 0.99 },
    ]);
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
    });
    // Targets within the same speaker: cos(0.1) = 0.995 (×6) and cos(0.2) = 0.980 (×3) → 3 of 9 rejected.
    expect(rates[1]).toMatchObject({ falseNonMatches: 3, fnmr: 0.333333, fnmrText: '33.33 %' });
  });
});
