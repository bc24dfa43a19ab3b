import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultEnrolmentSettings } from '../../src/passport/context.js';
import type { Embedder, ReadAudio } from '../../src/passport/embedder.js';
import { assessEnrolmentSample, enrol } from '../../src/passport/enrolment.js';
import { defaultQualityLimits } from '../../src/scoring/decision.js';
import { consent, createHarness } from '../http/harness.js';
import { toneWav } from './fakes.js';

const assess = (q: Partial<Parameters<typeof assessEnrolmentSample>[0]>) =>
  assessEnrolmentSample({ netSpeechSeconds: 5, snrDb: 20, clippedRatio: 0, durationSeconds: 6, ...q }, defaultEnrolmentSettings, defaultQualityLimits);

describe('assessEnrolmentSample', () => {
  it.each([
    [{}, ['ok']],
    [{ netSpeechSeconds: 0 }, ['no-speech']],
    [{ netSpeechSeconds: 2.99 }, ['too-short']],
    [{ netSpeechSeconds: 3 }, ['ok']],
    [{ snrDb: 4.9 }, ['too-noisy']],
    [{ snrDb: 5 }, ['ok']],
    [{ snrDb: null }, ['ok']],
    [{ clippedRatio: 0.011 }, ['clipped']],
    [{ clippedRatio: 0.01 }, ['ok']],
    [{ netSpeechSeconds: 1, snrDb: 0, clippedRatio: 0.5 }, ['too-short', 'too-noisy', 'clipped']],
  ] as const)('%j → %j', (q, expected) => {
    expect(assess(q)).toEqual(expected);
  });

  it('"ok" exactly when no rule objects, and each rule fires exactly at its own bar', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 60, noNaN: true }), fc.option(fc.double({ min: -20, max: 60, noNaN: true }), { nil: null }), fc.double({ min: 0, max: 1, noNaN: true }), (net, snr, clipped) => {
        const f = assess({ netSpeechSeconds: net, snrDb: snr, clippedRatio: clipped });
        expect(f.includes('no-speech')).toBe(net === 0);
        expect(f.includes('too-short')).toBe(net > 0 && net < 3);
        expect(f.includes('too-noisy')).toBe(snr !== null && snr < 5);
        expect(f.includes('clipped')).toBe(clipped > 0.01);
        expect(f.includes('ok')).toBe(f.length === 1 && f[0] === 'ok');
        expect(f.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('enrol: the same recording twice', () => {
  it('stores it once when the second arrives while the first is being analysed', async () => {
    const h = createHarness();
    try {
      expect((await consent(h, 'cust-1')).status).toBe(200);
      const actor = { keyId: h.keyIds.enrolment, role: 'enrolment' as const };
      const bytes = toneWav({ freq: 200, seconds: 5 });
      const read: ReadAudio = () => Promise.resolve({ bytes, contentType: 'audio/wav' });
      // Both pass the check before analysis; the analyses finish one after the other.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const gated: Embedder = { modelId: h.embedder.modelId, analyse: async (req) => (await gate, h.embedder.analyse(req)) };
      const ctx = { ...h.ctx, embedder: gated };
      const both = [enrol(ctx, actor, 'cust-1', read), enrol(ctx, actor, 'cust-1', read)].map((p) => p.then((r) => r.status, (e: { code: string }) => e.code));
      release();
      expect(await Promise.all(both)).toEqual(['enrolling', 'duplicate-sample']);
      expect(h.store.voiceprints.enrolmentProgress(h.store.pseudonymise('cust-1'))).toEqual({ sampleCount: 1, netSpeechSeconds: 5 });
      expect(h.store.audit.list({ limit: 100 }).filter((e) => e.action === 'enrolment.sample').map((e) => e.outcome)).toEqual(['accepted', 'rejected']);
    } finally {
      await h.close();
    }
  });
});
