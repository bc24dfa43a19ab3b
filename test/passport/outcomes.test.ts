import { describe, expect, it } from 'vitest';
import { assess, outcomesByPolicy } from '../../src/passport/outcomes.js';

describe('assess', () => {
  it('an accepted impostor is a false match, a rejected customer a false non-match, an inconclusive call neither', () => {
    expect(assess('accept', 'genuine')).toBe('correct');
    expect(assess('accept', 'impostor')).toBe('false-match');
    expect(assess('reject', 'genuine')).toBe('false-non-match');
    expect(assess('reject', 'impostor')).toBe('correct');
    expect(assess('inconclusive', 'genuine')).toBe('undecided');
    expect(assess('inconclusive', 'impostor')).toBe('undecided');
  });
});

describe('outcomesByPolicy', () => {
  it('counts reported calls per policy and truth, and rates errors among the decided ones only', () => {
    const out = outcomesByPolicy([
      { policy: 'high', decision: 'reject', truth: 'genuine', count: 3 },
      { policy: 'standard', decision: 'accept', truth: 'genuine', count: 18 },
      { policy: 'standard', decision: 'reject', truth: 'genuine', count: 2 },
      { policy: 'standard', decision: 'inconclusive', truth: 'genuine', count: 5 },
      { policy: 'standard', decision: 'reject', truth: 'impostor', count: 10 },
    ]);
    expect(out).toEqual({
      high: {
        genuine: { reported: 3, accepted: 0, rejected: 3, inconclusive: 0, falseNonMatchRate: { errors: 3, decided: 3, rate: 1, low95: 0.4385, high95: 1 } },
        impostor: { reported: 0, accepted: 0, rejected: 0, inconclusive: 0, falseMatchRate: null },
      },
      standard: {
        // 2 of the 20 decided; the 5 inconclusive calls are reported but neither error.
        genuine: { reported: 25, accepted: 18, rejected: 2, inconclusive: 5, falseNonMatchRate: { errors: 2, decided: 20, rate: 0.1, low95: 0.0279, high95: 0.3010 } },
        impostor: { reported: 10, accepted: 0, rejected: 10, inconclusive: 0, falseMatchRate: { errors: 0, decided: 10, rate: 0, low95: 0, high95: 0.2775 } },
      },
    });
    expect(outcomesByPolicy([])).toEqual({});
  });
});
