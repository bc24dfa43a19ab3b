/** verify as a use case: what happens when the subject's consent changes while the audio is analysed. */
import { afterEach, describe, expect, it } from 'vitest';
import { giveConsent, withdrawConsent } from '../../src/passport/consent.js';
import type { Embedder, ReadAudio } from '../../src/passport/embedder.js';
import { enrol } from '../../src/passport/enrolment.js';
import { eraseSubject } from '../../src/passport/subjects.js';
import { verify } from '../../src/passport/verification.js';
import { consentAndEnrol, createHarness, exportSubject, type Harness } from '../http/harness.js';
import { toneWav } from './fakes.js';

let h: Harness;
afterEach(() => h?.close());

const telephony = () => ({ keyId: h.keyIds.telephony, role: 'telephony' as const });
const enrolment = () => ({ keyId: h.keyIds.enrolment, role: 'enrolment' as const });
const read = (seconds = 4): ReadAudio => {
  const bytes = toneWav({ freq: 200, seconds });
  return () => Promise.resolve({ bytes, contentType: 'audio/wav' });
};

/** The harness's embedder, held at each analysis until `release()`. */
function gatedEmbedder(): { embedder: Embedder; started: Promise<void>; release: () => void } {
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const startedP = new Promise<void>((r) => (started = r));
  const embedder: Embedder = {
    modelId: h.embedder.modelId,
    analyse: async (req) => {
      started();
      await gate;
      return h.embedder.analyse(req);
    },
  };
  return { embedder, started: startedP, release };
}

const verificationAudits = () => h.store.audit.list({ limit: 1000 }).filter((e) => e.action === 'verification');

describe('verify: the consent ends while the audio is analysed', () => {
  it('the consent holds: scored as usual (the control for the cases below)', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const g = gatedEmbedder();
    const pending = verify({ ...h.ctx, embedder: g.embedder }, telephony(), 'cust-1', undefined, read());
    await g.started;
    g.release();
    expect(await pending).toMatchObject({ decision: 'accept', netSpeechSeconds: 4 });
    expect(verificationAudits().at(-1)!.details).not.toHaveProperty('analysisDiscarded');
  });

  it('withdrawn: decided no-consent, the analysis discarded (no figures), the attempt audited as such', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const g = gatedEmbedder();
    const pending = verify({ ...h.ctx, embedder: g.embedder }, telephony(), 'cust-1', undefined, read());
    await g.started;
    withdrawConsent(h.ctx, enrolment(), 'cust-1');
    g.release();
    const r = await pending;
    expect(r).toMatchObject({ decision: 'no-consent', reasons: ['consent-not-active'], score: null, rawScore: null, channel: null, netSpeechSeconds: null });
    expect(verificationAudits().at(-1)).toMatchObject({ outcome: 'no-consent', details: { verificationId: r.verificationId, analysisDiscarded: true } });
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([expect.objectContaining({ id: r.verificationId, decision: 'no-consent', netSpeechSeconds: null, channel: null })]);
  });

  it('erased, then consented and enrolled again before the analysis ends: not scored against the new voiceprint, decided not-enrolled without figures', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const g = gatedEmbedder();
    const pending = verify({ ...h.ctx, embedder: g.embedder }, telephony(), 'cust-1', undefined, read());
    await g.started;
    eraseSubject(h.ctx, enrolment(), 'cust-1');
    await consentAndEnrol(h, 'cust-1');
    g.release();
    const r = await pending;
    expect(r).toMatchObject({ decision: 'not-enrolled', reasons: ['no-voiceprint'], rawScore: null, netSpeechSeconds: null });
    // The new enrolment's attempt state is untouched by the discarded attempt.
    expect(h.store.subjects.attemptState(h.store.pseudonymise('cust-1')).consecutiveRejects).toBe(0);
  });
});

describe('enrol: the consent ends while a sample is analysed (withdrawal: test/http/enrolment.test.ts)', () => {
  it('erased and consented again: the sample is not taken into the new enrolment', async () => {
    h = createHarness();
    giveConsent(h.ctx, enrolment(), 'cust-1', { noticeVersion: 'v1', channel: 'web', locale: 'en' });
    const g = gatedEmbedder();
    const pending = enrol({ ...h.ctx, embedder: g.embedder }, enrolment(), 'cust-1', read(5)).then(
      () => 'stored',
      (e: { code: string }) => e.code,
    );
    await g.started;
    eraseSubject(h.ctx, enrolment(), 'cust-1');
    giveConsent(h.ctx, enrolment(), 'cust-1', { noticeVersion: 'v1', channel: 'web', locale: 'en' });
    g.release();
    expect(await pending).toBe('consent-required');
    expect(h.store.voiceprints.enrolmentProgress(h.store.pseudonymise('cust-1'))).toEqual({ sampleCount: 0, netSpeechSeconds: 0 });
  });

  it('given again while active (a newer notice) continues the same consent: the sample is stored', async () => {
    h = createHarness();
    giveConsent(h.ctx, enrolment(), 'cust-1', { noticeVersion: 'v1', channel: 'web', locale: 'en' });
    const g = gatedEmbedder();
    const pending = enrol({ ...h.ctx, embedder: g.embedder }, enrolment(), 'cust-1', read(5));
    await g.started;
    giveConsent(h.ctx, enrolment(), 'cust-1', { noticeVersion: 'v2', channel: 'web', locale: 'en' });
    g.release();
    expect((await pending).status).toBe('enrolling');
  });
});
