/**
 * How verification trials are formed from embedded utterances. Pure: embeddings in, scored
 * trials out. By default every score is the cosine of two L2-normalised embeddings
 * (src/scoring/cosine.ts); eval passes the service's comparison scorer (src/scoring/scorer.ts:
 * the cosine, or its AS-norm score when the model enables it), so trials are on the scale the
 * service decides on.
 *
 * Two protocols:
 *  - all pairs: every unordered pair of single utterances; same speaker = target. The protocol
 *    of ../shared/models/reference/README.md, so figures are comparable with that table.
 *  - enrolment: per speaker, a voiceprint from its first utterances (see planEnrolment), or one
 *    from each run of consecutive utterances in turn (planRotatingEnrolments), tested against that
 *    speaker's other utterances (target) and every other speaker's utterances (non-target). An
 *    utterance is never tested against an enrolment it is part of.
 * Across channels (enrolled in an app, verified on the phone) all pairs become ordered pairs of two
 * renderings of the recordings (crossPairsTrials); enrolment trials need no change.
 */
import { combineEmbeddings, dot, l2Normalise } from '../scoring/cosine.js';
import { sortTrials, type TrialScores } from './metrics.js';
import type { SpeakerTrials } from './confidence.js';

/** Scored trials with the speakers on each side (for the speaker bootstrap). */
export interface TrialSet {
  scores: Float64Array;
  isTarget: Uint8Array;
  /** Enrolment side (all pairs: the earlier utterance). */
  speakerA: Uint32Array;
  /** Test side. */
  speakerB: Uint32Array;
}

export interface SpeakerEmbedding {
  /** Speaker index, 0-based. */
  speaker: number;
  embedding: Float32Array;
}

/** Grows a TrialSet without knowing its size in advance (sc all-pairs: ~180 000 trials). */
class TrialBuilder {
  private scores = new Float64Array(1024);
  private isTarget = new Uint8Array(1024);
  private speakerA = new Uint32Array(1024);
  private speakerB = new Uint32Array(1024);
  private n = 0;

  add(score: number, a: number, b: number): void {
    if (this.n === this.scores.length) this.grow();
    this.scores[this.n] = score;
    this.isTarget[this.n] = a === b ? 1 : 0;
    this.speakerA[this.n] = a;
    this.speakerB[this.n] = b;
    this.n++;
  }

  build(): TrialSet {
    return {
      scores: this.scores.slice(0, this.n),
      isTarget: this.isTarget.slice(0, this.n),
      speakerA: this.speakerA.slice(0, this.n),
      speakerB: this.speakerB.slice(0, this.n),
    };
  }

  private grow(): void {
    const size = this.scores.length * 2;
    const grow = <T extends Float64Array | Uint8Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a as never);
      return b;
    };
    this.scores = grow(this.scores, (k) => new Float64Array(k));
    this.isTarget = grow(this.isTarget, (k) => new Uint8Array(k));
    this.speakerA = grow(this.speakerA, (k) => new Uint32Array(k));
    this.speakerB = grow(this.speakerB, (k) => new Uint32Array(k));
  }
}

/**
 * How a trial is scored: each embedding is prepared once (unit length; cohort statistics under
 * AS-norm), then pairs of prepared embeddings are scored.
 */
export interface PairScorer<P> {
  prepare(embedding: Float32Array): P;
  score(a: P, b: P): number;
}

/** The cosine of the L2-normalised embeddings. */
export const cosinePairScorer: PairScorer<Float32Array> = { prepare: l2Normalise, score: dot };

/** Every unordered pair {i, j}, i < j, of the utterances. */
export function allPairsTrials<P = Float32Array>(utterances: readonly SpeakerEmbedding[], scorer: PairScorer<P> = cosinePairScorer as unknown as PairScorer<P>): TrialSet {
  const prepared = utterances.map((u) => scorer.prepare(u.embedding));
  const out = new TrialBuilder();
  for (let i = 0; i < utterances.length; i++) {
    for (let j = i + 1; j < utterances.length; j++) {
      out.add(scorer.score(prepared[i] as P, prepared[j] as P), (utterances[i] as SpeakerEmbedding).speaker, (utterances[j] as SpeakerEmbedding).speaker);
    }
  }
  return out.build();
}

/**
 * Cross-channel all pairs: every ordered pair (i, j), i ≠ j, of utterance i as heard through the
 * enrolment channel and utterance j through the test channel (`enrol[k]` and `test[k]` are one
 * recording). Both orders count, since the two sides differ; a recording is never tested against
 * itself. `keep`, when given, says which pairs to form (eval: those whose two sides pass the
 * service's quality gate).
 */
export function crossPairsTrials<P = Float32Array>(
  enrol: readonly SpeakerEmbedding[],
  test: readonly SpeakerEmbedding[],
  scorer: PairScorer<P> = cosinePairScorer as unknown as PairScorer<P>,
  keep: (enrolIndex: number, testIndex: number) => boolean = () => true,
): TrialSet {
  if (enrol.length !== test.length) throw new RangeError(`cross-channel pairs need one test side per enrolment side, got ${enrol.length} and ${test.length}`);
  enrol.forEach((e, k) => {
    if (e.speaker !== (test[k] as SpeakerEmbedding).speaker) throw new RangeError(`cross-channel pair ${k}: the two sides are different speakers`);
  });
  const a = enrol.map((u) => scorer.prepare(u.embedding));
  const b = test.map((u) => scorer.prepare(u.embedding));
  const out = new TrialBuilder();
  for (let i = 0; i < enrol.length; i++) {
    for (let j = 0; j < test.length; j++) {
      if (i !== j && keep(i, j)) out.add(scorer.score(a[i] as P, b[j] as P), (enrol[i] as SpeakerEmbedding).speaker, (test[j] as SpeakerEmbedding).speaker);
    }
  }
  return out.build();
}

export interface EnrolmentPlan {
  /** Indices (into the speaker's sorted utterances) that make the voiceprint. */
  enrol: number[];
  /** The speaker's other utterances: its target tests. */
  test: number[];
  /** Net speech in the enrolment. */
  enrolSeconds: number;
}

/**
 * The first utterances, in the given (sorted) order, until their speech reaches `enrolSeconds`
 * — as a caller would enrol — leaving at least one utterance to test. Null when the speaker does
 * not have enough speech for that.
 */
export function planEnrolment(speechSeconds: readonly number[], enrolSeconds: number): EnrolmentPlan | null {
  let total = 0;
  for (let k = 0; k < speechSeconds.length - 1; k++) {
    total += speechSeconds[k] as number;
    if (total >= enrolSeconds) {
      return {
        enrol: Array.from({ length: k + 1 }, (_, i) => i),
        test: Array.from({ length: speechSeconds.length - k - 1 }, (_, i) => k + 1 + i),
        enrolSeconds: total,
      };
    }
  }
  return null;
}

/**
 * One plan per utterance of the speaker: starting there, the consecutive utterances (wrapping
 * round to the first after the last) until their speech reaches `enrolSeconds`, leaving at least
 * one to test, so no two plans hold the same utterances; in order of their first utterance. Each
 * utterance is then tested against the voiceprints it is not part of: a speaker with n utterances
 * gives up to n voiceprints instead of one, and a small set's enrolment trials multiply (not
 * independently: each utterance sits in several voiceprints, which is why the intervals resample
 * speakers, confidence.ts). Empty when no run holds enough speech.
 */
export function planRotatingEnrolments(speechSeconds: readonly number[], enrolSeconds: number): EnrolmentPlan[] {
  const n = speechSeconds.length;
  const plans: EnrolmentPlan[] = [];
  for (let start = 0; start < n; start++) {
    const enrol: number[] = [];
    let total = 0;
    for (let k = 0; k < n - 1 && total < enrolSeconds; k++) {
      const i = (start + k) % n;
      enrol.push(i);
      total += speechSeconds[i] as number;
    }
    if (total < enrolSeconds) continue;
    const members = new Set(enrol);
    plans.push({ enrol, test: speechSeconds.flatMap((_, i) => (members.has(i) ? [] : [i])), enrolSeconds: total });
  }
  return plans;
}

/** A voiceprint: the speech-weighted mean of the enrolment embeddings (the service's own rule). */
export function enrolmentVoiceprint(samples: readonly { embedding: Float32Array; speechSeconds: number }[]): Float32Array {
  return combineEmbeddings(samples.map((s) => ({ embedding: s.embedding, weight: s.speechSeconds })));
}

export interface Voiceprint extends SpeakerEmbedding {
  /** The recordings (by any key, eval uses file paths) it was formed from. */
  members: ReadonlySet<string>;
}

export interface TestItem extends SpeakerEmbedding {
  /** The recordings it holds: one utterance, or the utterances joined into a duration segment. */
  sources: readonly string[];
}

/**
 * Every voiceprint against every test item, except items that hold a recording of that
 * voiceprint's enrolment. Same speaker = target.
 */
export function enrolmentTrials<P = Float32Array>(voiceprints: readonly Voiceprint[], tests: readonly TestItem[], scorer: PairScorer<P> = cosinePairScorer as unknown as PairScorer<P>): TrialSet {
  const prepared = tests.map((t) => scorer.prepare(t.embedding));
  const out = new TrialBuilder();
  for (const v of voiceprints) {
    const enrolment = scorer.prepare(v.embedding);
    tests.forEach((t, j) => {
      if (t.sources.some((s) => v.members.has(s))) return;
      out.add(scorer.score(enrolment, prepared[j] as P), v.speaker, t.speaker);
    });
  }
  return out.build();
}

/** Consecutive groups of items whose speech adds up to at least `seconds`; a short tail is dropped. */
export function groupConsecutive(speechSeconds: readonly number[], seconds: number): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let total = 0;
  speechSeconds.forEach((s, i) => {
    current.push(i);
    total += s;
    if (total >= seconds) {
      groups.push(current);
      current = [];
      total = 0;
    }
  });
  return groups;
}

export function trialCounts(set: TrialSet): { target: number; nonTarget: number } {
  let target = 0;
  for (const t of set.isTarget) target += t;
  return { target, nonTarget: set.isTarget.length - target };
}

/** Target and non-target score lists (metrics.ts). */
export function splitScores(set: TrialSet): { target: Float64Array; nonTarget: Float64Array } {
  const { target } = trialCounts(set);
  const t = new Float64Array(target);
  const n = new Float64Array(set.scores.length - target);
  let i = 0;
  let j = 0;
  set.scores.forEach((s, k) => {
    if (set.isTarget[k] === 1) t[i++] = s;
    else n[j++] = s;
  });
  return { target: t, nonTarget: n };
}

/** The trials sorted by score with their speakers alongside (confidence.ts). */
export function speakerTrials(set: TrialSet, speakers: number): SpeakerTrials {
  const scores = splitScores(set);
  const sorted = sortTrials(scores);
  // sortTrials numbers targets first, then non-targets, in their order in `set`.
  const speakerA = new Uint32Array(set.scores.length);
  const speakerB = new Uint32Array(set.scores.length);
  let ti = 0;
  let ni = scores.target.length;
  set.isTarget.forEach((isT, k) => {
    const from = isT === 1 ? ti++ : ni++;
    const to = sorted.order[from] as number;
    speakerA[to] = set.speakerA[k] as number;
    speakerB[to] = set.speakerB[k] as number;
  });
  return { sorted, speakerA, speakerB, speakers };
}

/**
 * The same trials with speakers renumbered 0..k−1 over those that appear in them, so that the
 * speaker bootstrap draws only speakers that have trials (a speaker left out by --test-seconds
 * would otherwise be drawn for nothing and shrink every replicate).
 */
export function reindexSpeakers(set: TrialSet): { set: TrialSet; speakers: number; counts: { target: number; nonTarget: number } } {
  const index = new Map<number, number>();
  const id = (s: number) => {
    let k = index.get(s);
    if (k === undefined) {
      k = index.size;
      index.set(s, k);
    }
    return k;
  };
  const speakerA = set.speakerA.map(id);
  const speakerB = set.speakerB.map(id);
  return { set: { ...set, speakerA, speakerB }, speakers: index.size, counts: trialCounts(set) };
}

/**
 * Several folders' trial sets as one, each folder's speakers (renumbered over those with trials)
 * numbered after the previous folder's: the folders hold different people, so the speaker
 * bootstrap must resample them as such.
 */
export function poolTrialSets(sets: readonly TrialSet[]): { set: TrialSet; speakers: number } {
  const n = sets.reduce((k, s) => k + s.scores.length, 0);
  const set: TrialSet = { scores: new Float64Array(n), isTarget: new Uint8Array(n), speakerA: new Uint32Array(n), speakerB: new Uint32Array(n) };
  let at = 0;
  let speakers = 0;
  for (const part of sets) {
    const indexed = reindexSpeakers(part);
    set.scores.set(part.scores, at);
    set.isTarget.set(part.isTarget, at);
    set.speakerA.set(indexed.set.speakerA.map((s) => s + speakers), at);
    set.speakerB.set(indexed.set.speakerB.map((s) => s + speakers), at);
    at += part.scores.length;
    speakers += indexed.speakers;
  }
  return { set, speakers };
}
