/** The service's one comparison (src/scoring/scorer.ts): cosine, or AS-norm per the manifest. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asNormScore, cohortStats, type CohortMatrix } from '../../src/scoring/as-norm.js';
import { cosine, l2Normalise } from '../../src/scoring/cosine.js';
import { Scorer } from '../../src/scoring/scorer.js';

const DIM = 6;
const vec = fc.float32Array({ minLength: DIM, maxLength: DIM, min: -1, max: 1, noNaN: true, noDefaultInfinity: true }).filter((v) => v.some((x) => Math.abs(x) > 1e-3));

function cohort(seed: number, size: number, sha = String(seed).repeat(64).slice(0, 64)): CohortMatrix & { sha256: string } {
  const rows = new Float32Array(size * DIM);
  let x = seed;
  for (let i = 0; i < rows.length; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    rows[i] = x / 2 ** 30 - 1;
  }
  for (let r = 0; r < size; r++) rows.set(l2Normalise(rows.subarray(r * DIM, (r + 1) * DIM)), r * DIM);
  return { rows, size, dim: DIM, sha256: sha.replace(/[^0-9a-f]/g, 'a') };
}

const manifestBase = { id: 'm' };
const setting = (enabled: boolean) => ({
  method: 'as-norm' as const,
  enabled,
  topK: 4,
  // 10 rows: a row per utterance of 4 speakers.
  cohorts: { wideband: { file: 'm.cohort-wideband.f32', sha256: '1'.repeat(64), speakers: 4, rows: 10 } },
});

describe('Scorer', () => {
  it('without normalisation: score = cosine, exactly scoring/cosine.ts', () => {
    fc.assert(
      fc.property(vec, vec, (a, b) => {
        const c = Scorer.cosine.compare(a, b, 'wideband');
        expect(c.cosine).toBe(cosine(a, b));
        expect(c.score).toBe(c.cosine);
      }),
    );
    expect(Scorer.cosine.scale).toBe('cosine');
    expect(Scorer.cosine.declared).toBeNull();
    expect(Scorer.cosine.describe('telephone')).toEqual({ scoreNormalisation: 'none' });
    expect(Scorer.cosine.scaleRecord('wideband')).toEqual({ method: 'none' });
  });

  it('fromManifest: absent → cosine; disabled → cosine but declared; mode overrides; as-norm without cohorts refused', () => {
    const wb = { ...cohort(3, 10, '1'.repeat(64)), file: '/x/m.cohort-wideband.f32' };
    expect(Scorer.fromManifest(manifestBase)).toBe(Scorer.cosine);
    const off = Scorer.fromManifest({ ...manifestBase, scoreNormalisation: setting(false), cohorts: { wideband: wb } });
    expect([off.scale, off.declared?.enabled]).toEqual(['cosine', false]);
    expect(Scorer.fromManifest({ ...manifestBase, scoreNormalisation: setting(false), cohorts: { wideband: wb } }, 'as-norm').scale).toBe('as-norm');
    const on = Scorer.fromManifest({ ...manifestBase, scoreNormalisation: setting(true), cohorts: { wideband: wb } });
    expect(on.scale).toBe('as-norm');
    expect(Scorer.fromManifest({ ...manifestBase, scoreNormalisation: setting(true), cohorts: { wideband: wb } }, 'none').scale).toBe('cosine');
    expect(on.describe('telephone')).toEqual({ scoreNormalisation: 'as-norm', topK: 4, cohort: { channel: 'wideband', speakers: 4, rows: 10, file: 'm.cohort-wideband.f32', sha256: '1'.repeat(64) } });
    expect(on.scaleRecord('telephone')).toEqual({ method: 'as-norm', topK: 4, cohortSha256: '1'.repeat(64) });
    expect(() => Scorer.fromManifest(manifestBase, 'as-norm')).toThrow(/model "m" has no scoreNormalisation cohorts/);
  });

  it('AS-norm: the normalised score of the cosine with each side\'s top-K statistics; telephone uses its own cohort, else wideband', () => {
    const wb = cohort(7, 12);
    const tel = cohort(11, 9);
    const both = Scorer.asNorm(4, { wideband: wb, telephone: tel });
    const wideOnly = Scorer.asNorm(4, { wideband: wb });
    fc.assert(
      fc.property(vec, vec, (a, b) => {
        const ua = l2Normalise(a);
        const ub = l2Normalise(b);
        const cos = cosine(a, b);
        const expected = (c: CohortMatrix) => asNormScore(cos, cohortStats(ua, c, 4), cohortStats(ub, c, 4));
        expect(both.compare(a, b, 'wideband')).toEqual({ cosine: cos, score: expected(wb) });
        expect(both.compare(a, b, 'telephone')).toEqual({ cosine: cos, score: expected(tel) });
        expect(wideOnly.compare(a, b, 'telephone')).toEqual({ cosine: cos, score: expected(wb) });
        // Symmetric, like the formula.
        expect(both.compare(b, a, 'wideband').score).toBeCloseTo(both.compare(a, b, 'wideband').score, 9);
      }),
      { numRuns: 50 },
    );
    expect(both.cohortFor('telephone')?.channel).toBe('telephone');
    expect(wideOnly.cohortFor('telephone')?.channel).toBe('wideband');
  });

  it('trialScorer prepares each embedding once and scores pairs like compare', () => {
    const s = Scorer.asNorm(3, { wideband: cohort(5, 8) });
    const a = new Float32Array([1, 2, 0, 0, 1, 0]);
    const b = new Float32Array([1, 1, 1, 0, 0, 0]);
    const t = s.trialScorer('wideband');
    expect(t.score(t.prepare(a), t.prepare(b))).toBe(s.compare(a, b, 'wideband').score);
  });
});
