import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { giveConsent } from '../../src/passport/consent.js';
import { defaultEnrolmentSettings } from '../../src/passport/context.js';
import type { Embedder, ReadAudio } from '../../src/passport/embedder.js';
import { assessEnrolmentSample, enrol } from '../../src/passport/enrolment.js';
import { eraseSubject } from '../../src/passport/subjects.js';
import { defaultQualityLimits } from '../../src/scoring/decision.js';
import { consent, createHarness, type Harness } from '../http/harness.js';
import { gatedEmbedder, toneWav } from './fakes.js';

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

describe('enrol: the consent ends while a sample is analysed (a withdrawal: test/http/enrolment.test.ts)', () => {
  let h: Harness;
  afterEach(() => h?.close());
  const enrolment = () => ({ keyId: h.keyIds.enrolment, role: 'enrolment' as const });
  const read: ReadAudio = () => Promise.resolve({ bytes: toneWav({ freq: 200, seconds: 5 }), contentType: 'audio/wav' });
  const given = { noticeVersion: 'v2', channel: 'web', locale: 'en' } as const;

  it('erased and consented again: the sample is not taken into the new enrolment', async () => {
    h = createHarness();
    giveConsent(h.ctx, enrolment(), 'cust-1', given);
    const g = gatedEmbedder(h.embedder);
    const pending = enrol({ ...h.ctx, embedder: g.embedder }, enrolment(), 'cust-1', read).then(
      () => 'stored',
      (e: { code: string }) => e.code,
    );
    await g.started;
    eraseSubject(h.ctx, enrolment(), 'cust-1');
    giveConsent(h.ctx, enrolment(), 'cust-1', given);
    g.release();
    expect(await pending).toBe('consent-required');
    expect(h.store.voiceprints.enrolmentProgress(h.store.pseudonymise('cust-1'))).toEqual({ sampleCount: 0, netSpeechSeconds: 0 });
  });

  it('given again while active (renewed) continues the same consent: the sample is stored', async () => {
    h = createHarness();
    giveConsent(h.ctx, enrolment(), 'cust-1', given);
    const g = gatedEmbedder(h.embedder);
    const pending = enrol({ ...h.ctx, embedder: g.embedder }, enrolment(), 'cust-1', read);
    await g.started;
    giveConsent(h.ctx, enrolment(), 'cust-1', { ...given, channel: 'app' });
    g.release();
    expect((await pending).status).toBe('enrolling');
  });
});
