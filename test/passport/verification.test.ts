/** verify as a use case: what happens when the subject's consent changes while the audio is analysed (streams: test/http/verification-stream.test.ts). */
import { afterEach, describe, expect, it } from 'vitest';
import { withdrawConsent } from '../../src/passport/consent.js';
import type { ReadAudio } from '../../src/passport/embedder.js';
import { eraseSubject } from '../../src/passport/subjects.js';
import { verify } from '../../src/passport/verification.js';
import request from 'supertest';
import { consentAndEnrol, createHarness, exportSubject, type Harness } from '../http/harness.js';
import { gatedEmbedder, toneWav } from './fakes.js';

let h: Harness;
afterEach(() => h?.close());

const telephony = () => ({ keyId: h.keyIds.telephony, role: 'telephony' as const });
const enrolment = () => ({ keyId: h.keyIds.enrolment, role: 'enrolment' as const });
const read = (seconds = 4): ReadAudio => {
  const bytes = toneWav({ freq: 200, seconds });
  return () => Promise.resolve({ bytes, contentType: 'audio/wav' });
};

const verificationAudits = () => h.store.audit.list({ limit: 1000 }).filter((e) => e.action === 'verification');

describe('verify: the consent ends while the audio is analysed', () => {
  it('the consent holds: scored as usual (the control for the cases below)', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const g = gatedEmbedder(h.embedder);
    const pending = verify({ ...h.ctx, embedder: g.embedder }, telephony(), 'cust-1', undefined, read());
    await g.started;
    g.release();
    expect(await pending).toMatchObject({ decision: 'accept', netSpeechSeconds: 4 });
    expect(verificationAudits().at(-1)!.details).not.toHaveProperty('analysisDiscarded');
  });

  it('withdrawn: decided no-consent, the analysis discarded (no figures), the attempt audited as such', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const g = gatedEmbedder(h.embedder);
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
    const g = gatedEmbedder(h.embedder);
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

describe('verify: an operator changes the policies while the audio is analysed', () => {
  const operatorPut = (policies: object[]) => request(h.app).put('/v1/operator/policies').set(h.auth('operator')).send({ policies });

  it('the threshold set during the analysis decides, and is the one recorded', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const g = gatedEmbedder(h.embedder);
    // 230 Hz against a 200 Hz voiceprint: a cosine near 0.97, over 0.5, under 0.999.
    const bytes = toneWav({ freq: 230, seconds: 4 });
    const pending = verify({ ...h.ctx, embedder: g.embedder }, telephony(), 'cust-1', undefined, () => Promise.resolve({ bytes, contentType: 'audio/wav' }));
    await g.started;
    const changed = await operatorPut([
      { name: 'standard', threshold: 0.999, minNetSpeechSeconds: 2 },
      { name: 'high', threshold: 0.999, minNetSpeechSeconds: 5 },
    ]);
    expect(changed.status).toBe(200);
    g.release();
    const r = await pending;
    expect(r).toMatchObject({ decision: 'reject', policy: 'standard', threshold: 0.999, reasons: ['score-below-threshold'] });
    expect(r.rawScore).toBeGreaterThan(0.5);
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([expect.objectContaining({ id: r.verificationId, decision: 'reject', threshold: 0.999 })]);
  });

  it('the policy asked for was removed during the analysis: refused (validation-failed), nothing decided or recorded', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1');
    const g = gatedEmbedder(h.embedder);
    const pending = verify({ ...h.ctx, embedder: g.embedder }, telephony(), 'cust-1', 'high', read());
    await g.started;
    expect((await operatorPut([{ name: 'standard', threshold: 0.5, minNetSpeechSeconds: 2 }])).status).toBe(200);
    g.release();
    await expect(pending).rejects.toMatchObject({
      code: 'validation-failed',
      message: 'The policy "high" was removed while the audio was analysed; verify again with one of the policies now set.',
      details: { availablePolicies: ['standard'] },
    });
    expect(verificationAudits()).toEqual([]);
    expect((await exportSubject(h, 'cust-1')).body.verifications).toEqual([]);
  });
});
