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
  it('counts reported calls per policy, in all and per channel, and rates errors among the decided ones only', () => {
    const out = outcomesByPolicy([
      { policy: 'high', channel: 'telephone', decision: 'reject', truth: 'genuine', count: 3 },
      { policy: 'standard', channel: 'wideband', decision: 'accept', truth: 'genuine', count: 10 },
      { policy: 'standard', channel: 'telephone', decision: 'accept', truth: 'genuine', count: 8 },
      { policy: 'standard', channel: 'telephone', decision: 'reject', truth: 'genuine', count: 2 },
      { policy: 'standard', channel: 'wideband', decision: 'inconclusive', truth: 'genuine', count: 5 },
      { policy: 'standard', channel: 'telephone', decision: 'reject', truth: 'impostor', count: 10 },
      // Recorded before the channel was: in the policy's totals only.
      { policy: 'standard', channel: null, decision: 'accept', truth: 'impostor', count: 1 },
    ]);
    const none = { reported: 0, accepted: 0, rejected: 0, inconclusive: 0 };
    const nothing = { genuine: { ...none, falseNonMatchRate: null }, impostor: { ...none, falseMatchRate: null } };
    const threeOfThree = { reported: 3, accepted: 0, rejected: 3, inconclusive: 0, falseNonMatchRate: { errors: 3, decided: 3, rate: 1, low95: 0.4384, high95: 1 } };
    expect(out).toEqual({
      high: {
        genuine: threeOfThree,
        impostor: { ...none, falseMatchRate: null },
        byChannel: { wideband: nothing, telephone: { genuine: threeOfThree, impostor: { ...none, falseMatchRate: null } } },
      },
      standard: {
        // 2 of the 20 decided; the 5 inconclusive calls are reported but neither error.
        genuine: { reported: 25, accepted: 18, rejected: 2, inconclusive: 5, falseNonMatchRate: { errors: 2, decided: 20, rate: 0.1, low95: 0.0278, high95: 0.3011 } },
        impostor: { reported: 11, accepted: 1, rejected: 10, inconclusive: 0, falseMatchRate: { errors: 1, decided: 11, rate: 0.09091, low95: 0.0162, high95: 0.3774 } },
        byChannel: {
          wideband: {
            genuine: { reported: 15, accepted: 10, rejected: 0, inconclusive: 5, falseNonMatchRate: { errors: 0, decided: 10, rate: 0, low95: 0, high95: 0.2776 } },
            impostor: { ...none, falseMatchRate: null },
          },
          telephone: {
            genuine: { reported: 10, accepted: 8, rejected: 2, inconclusive: 0, falseNonMatchRate: { errors: 2, decided: 10, rate: 0.2, low95: 0.0566, high95: 0.5099 } },
            impostor: { reported: 10, accepted: 0, rejected: 10, inconclusive: 0, falseMatchRate: { errors: 0, decided: 10, rate: 0, low95: 0, high95: 0.2776 } },
          },
        },
      },
    });
    expect(outcomesByPolicy([])).toEqual({});
  });

  it('a rare error keeps its rate: four significant figures, not four decimals', () => {
    const out = outcomesByPolicy([
      { policy: 'standard', channel: 'wideband', decision: 'accept', truth: 'impostor', count: 1 },
      { policy: 'standard', channel: 'wideband', decision: 'reject', truth: 'impostor', count: 29_999 },
    ]);
    expect(out.standard!.impostor.falseMatchRate).toMatchObject({ errors: 1, decided: 30_000, rate: 0.00003333 });
    expect(out.standard!.impostor.falseMatchRate!.high95).toBeGreaterThan(0.00003333);
  });
});
