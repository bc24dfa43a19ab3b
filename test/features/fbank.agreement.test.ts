/**
 * Agreement with torchaudio.compliance.kaldi.fbank (issue 2 §3): max |ours − torchaudio| ≤ 1e-3
 * on log-mel values. Synthetic fixtures always run; real-speech fixtures need ../shared.
 *
 * torchaudio computes in float32, we in float64. Synthetic fixtures also carry torchaudio's
 * float64 output; against that we hold a 10× tighter bound (1e-4), which shows the remaining
 * difference to the float32 reference is torchaudio's own rounding, and catches small bugs a
 * 1e-3 bound would hide. That rounding is largest in low bins of near-silent frames at ±1
 * scale, just above the log floor: torchaudio float32 and float64 differed by 1.3e-3 there on a
 * 0.6-s variant of the synthetic signal (the committed 0.5-s one stays within 1e-3).
 */
import { describe, expect, it } from 'vitest';
import { computeFbank, FLOAT32_EPSILON } from '../../src/features/fbank.js';
import { fixtureInt16, loadFixtures, sharedDataAvailable, sharedDataDir, type FbankFixture } from './fbank-fixtures.js';
import { int16ToUnit } from './synthetic-signal.js';

const TOLERANCE = 1e-3;
const FLOAT64_TOLERANCE = 1e-4;
const fixtures = loadFixtures();
const haveShared = sharedDataAvailable();

interface Agreement {
  /** Max |ours − torchaudio float32|. */
  max: number;
  /** Max |ours − torchaudio float64| over all values (synthetic fixtures). */
  maxFloat64: number | null;
}
const report: Record<string, Agreement> = {};

/** Linear outputs (use_log_fbank false) are compared in the log domain, i.e. relatively. */
function comparable(v: number, fx: FbankFixture, column: number): number {
  const isEnergy = fx.options.useEnergy && column === 0;
  return fx.options.useLogFbank || isEnergy ? v : Math.log(Math.max(v, FLOAT32_EPSILON));
}

async function agreement(fx: FbankFixture): Promise<Agreement> {
  const samples = int16ToUnit(await fixtureInt16(fx));
  const ours = computeFbank(samples, fx.sampleRate, fx.options, fx.sampleScale);
  expect(ours.frames).toBe(fx.frames);
  expect(ours.bins).toBe(fx.bins);
  expect(ours.data.length).toBe(fx.values.length);
  const result: Agreement = { max: 0, maxFloat64: fx.float64Values ? 0 : null };
  for (let i = 0; i < fx.values.length; i++) {
    const col = i % fx.bins;
    const mine = comparable(ours.data[i]!, fx, col);
    const ref = comparable(fx.values[i]!, fx, col);
    const d = Math.abs(mine - ref);
    if (Number.isNaN(d)) throw new Error(`${fx.name}: NaN at value ${i}`);
    result.max = Math.max(result.max, d);
    if (fx.float64Values && result.maxFloat64 !== null) {
      const d64 = Math.abs(mine - comparable(fx.float64Values[i]!, fx, col));
      if (Number.isNaN(d64)) throw new Error(`${fx.name}: NaN at value ${i}`);
      result.maxFloat64 = Math.max(result.maxFloat64, d64);
    }
  }
  return result;
}

async function checkAgreement(fx: FbankFixture): Promise<void> {
  const a = await agreement(fx);
  report[fx.name] = a;
  expect(a.max).toBeLessThanOrEqual(TOLERANCE);
  if (a.maxFloat64 !== null) expect(a.maxFloat64).toBeLessThanOrEqual(FLOAT64_TOLERANCE);
}

describe('computeFbank agrees with torchaudio', () => {
  it('has fixtures for both conventions at both rates, on speech and on the synthetic signal', () => {
    const names = fixtures.map((f) => f.name);
    for (const conv of ['wespeaker', 'sherpa']) {
      for (const rate of ['8k', '16k']) {
        expect(names).toContain(`speech-${conv}-${rate}`);
        expect(names).toContain(`synthetic-${conv}-${rate}`);
      }
    }
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    for (const fx of fixtures) expect(fx.values.length).toBe(fx.frames * fx.bins);
  });

  for (const fx of fixtures.filter((f) => f.input.kind === 'synthetic')) {
    it(`${fx.name}: ${fx.description}`, async () => {
      await checkAgreement(fx);
    });
  }

  const speech = fixtures.filter((f) => f.input.kind === 'shared-flac');
  describe.skipIf(!haveShared)('real speech from ../shared/data (skipped when it is absent)', () => {
    for (const fx of speech) {
      it(`${fx.name}: ${fx.description}`, async () => {
        await checkAgreement(fx);
      });
    }
  });
  it.skipIf(haveShared)('says why the real-speech agreement tests were skipped', () => {
    console.warn(`fbank: ${speech.length} real-speech agreement tests skipped: ${sharedDataDir} is absent (the shared data set sits beside the checkout).`);
    expect(haveShared).toBe(false);
  });

  it('reports the largest differences', () => {
    // Printed so the figures can be quoted; the per-fixture tests above are the assertions.
    const e = (x: number | null): string => (x === null ? '   -    ' : x.toExponential(2));
    const lines = Object.entries(report).map(
      ([name, a]) =>
        `${name.padEnd(36)} vs torchaudio float32 ${e(a.max)}  vs torchaudio float64 ${e(a.maxFloat64)}`,
    );
    console.log(`fbank max |ours - torchaudio|:\n${lines.join('\n')}`);
  });
});
