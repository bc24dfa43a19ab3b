/** POST /v1/subjects/{id}/enrolments: consent gate, accumulation, feedback, replacement, limits. */
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { VoicePassportError } from '../../src/errors.js';
import { fakeModelId, toneWav } from '../passport/fakes.js';
import { auditEntries, consent, consentAndEnrol, createHarness, enrolSample, exportSubject, getSubject, verifyCall, type Harness } from './harness.js';

const T0 = '2026-03-01T09:00:00.000Z';
let h: Harness;
afterEach(() => h?.close());

const sample = (freq = 200, seconds = 5, silenceSeconds = 0) => toneWav({ freq, seconds, silenceSeconds });

describe('consent gate (GDPR Art. 9(2)(a))', () => {
  it('403 consent-required without consent; the embedder is never called and nothing is stored', async () => {
    h = createHarness();
    const res = await enrolSample(h, 'cust-1', sample());
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      type: 'https://voice-passport.dev/problems/consent-required',
      title: 'The subject has not given active consent',
      status: 403,
      code: 'consent-required',
      detail: 'The subject has no active consent; record it (PUT /v1/subjects/{id}/consent) before enrolling.',
      instance: '/v1/subjects/cust-1/enrolments',
      requestId: res.headers['x-request-id'],
    });
    // Even an unacceptable body is not looked at: consent comes first.
    const junk = await enrolSample(h, 'cust-1', new Uint8Array([1, 2, 3]), 'text/plain');
    expect(junk.status).toBe(403);
    expect(h.embedder.calls).toBe(0);
    expect((await getSubject(h, 'cust-1')).status).toBe(404);
  });

  it('after withdrawal, enrolment is refused again', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    await request(h.app).delete('/v1/subjects/cust-1/consent').set(h.auth('enrolment'));
    const res = await enrolSample(h, 'cust-1', sample());
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('consent-required');
    expect(h.embedder.calls).toBe(0);
  });
});

describe('accumulation', () => {
  it('collects samples until enough net speech and samples, then makes the voiceprint', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    const first = await enrolSample(h, 'cust-1', sample(200, 5, 1));
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      status: 'enrolling',
      netSpeechSeconds: 5,
      requiredSeconds: 8,
      samples: 1,
      requiredSamples: 2,
      feedback: ['ok'],
      sample: { netSpeechSeconds: 5, snrDb: 30, clippedRatio: 0, durationSeconds: 6 },
      model: fakeModelId,
    });
    const mid = await getSubject(h, 'cust-1');
    expect(mid.body.enrolment).toEqual({
      state: 'enrolling',
      model: fakeModelId,
      modelCurrent: true,
      enrolledAt: null,
      voiceprint: null,
      inProgress: { samples: 1, netSpeechSeconds: 5, requiredSeconds: 8, requiredSamples: 2 },
    });

    const second = await enrolSample(h, 'cust-1', sample(205, 4));
    expect(second.body).toEqual({
      status: 'enrolled',
      netSpeechSeconds: 9,
      requiredSeconds: 8,
      samples: 2,
      requiredSamples: 2,
      feedback: ['ok'],
      sample: { netSpeechSeconds: 4, snrDb: 30, clippedRatio: 0, durationSeconds: 4 },
      model: fakeModelId,
    });
    const view = await getSubject(h, 'cust-1');
    expect(view.body.enrolment).toEqual({
      state: 'enrolled',
      model: fakeModelId,
      modelCurrent: true,
      enrolledAt: T0,
      voiceprint: { sampleCount: 2, netSpeechSeconds: 9, createdAt: T0 },
      inProgress: { samples: 0, netSpeechSeconds: 0, requiredSeconds: 8, requiredSamples: 2 },
    });
    const exported = await exportSubject(h, 'cust-1');
    expect(exported.body.voiceprint).toEqual({
      modelId: fakeModelId,
      sampleCount: 2,
      netSpeechSeconds: 9,
      formatVersion: 1,
      createdAt: T0,
      note: 'The voiceprint is an encrypted list of numbers derived from your speech; it is not a recording and is not included here.',
    });
    // The export describes the voiceprint; it never contains it.
    expect(JSON.stringify(exported.body)).not.toMatch(/embedding|ciphertext/);
    const audit = (await auditEntries(h)).filter((e) => e.action.startsWith('enrolment.'));
    expect(audit.map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['enrolment.sample', 'accepted', { feedback: ['ok'], netSpeechSeconds: 5, sampleCount: 1, model: fakeModelId }],
      ['enrolment.sample', 'accepted', { feedback: ['ok'], netSpeechSeconds: 4, sampleCount: 2, model: fakeModelId }],
      ['enrolment.completed', 'enrolled', { sampleCount: 2, netSpeechSeconds: 9, model: fakeModelId }],
    ]);
  });

  it('one long sample is not enough when two samples are required; the thresholds are configurable', async () => {
    h = createHarness({ enrolment: { requiredSeconds: 12, requiredSamples: 3 } });
    await consent(h, 'cust-1');
    expect((await enrolSample(h, 'cust-1', sample(200, 14))).body).toMatchObject({ status: 'enrolling', netSpeechSeconds: 14, requiredSeconds: 12, samples: 1, requiredSamples: 3 });
    expect((await enrolSample(h, 'cust-1', sample(200, 3))).body).toMatchObject({ status: 'enrolling', samples: 2 });
    expect((await enrolSample(h, 'cust-1', toneWav({ freq: 200, seconds: 3, amplitude: 0.29 }))).body).toMatchObject({ status: 'enrolled', netSpeechSeconds: 20, samples: 3 });
  });

  it('re-enrolment replaces the voiceprint (and resets attempt limiting)', async () => {
    h = createHarness();
    await consentAndEnrol(h, 'cust-1', 200);
    for (let i = 0; i < 3; i++) expect((await verifyCall(h, 'cust-1', sample(400, 4))).body.decision).toBe('reject');
    expect((await getSubject(h, 'cust-1')).body.attempts.consecutiveRejects).toBe(3);

    h.clock.advance(3_600_000);
    expect((await enrolSample(h, 'cust-1', sample(400, 5))).body.status).toBe('enrolling');
    // While re-enrolling, the old voiceprint is still the one in use.
    expect((await verifyCall(h, 'cust-1', sample(200, 4))).body.decision).toBe('accept');
    expect((await enrolSample(h, 'cust-1', toneWav({ freq: 400, seconds: 5, amplitude: 0.29 }))).body.status).toBe('enrolled');

    const view = await getSubject(h, 'cust-1');
    expect(view.body.enrolment).toMatchObject({ state: 'enrolled', enrolledAt: '2026-03-01T10:00:00.000Z', voiceprint: { sampleCount: 2, netSpeechSeconds: 10, createdAt: '2026-03-01T10:00:00.000Z' } });
    expect(view.body.attempts).toEqual({ consecutiveRejects: 0, locked: false, retryAfterSeconds: null, disabled: false });
    expect((await verifyCall(h, 'cust-1', sample(400, 4))).body.decision).toBe('accept');
    expect((await verifyCall(h, 'cust-1', sample(200, 4))).body.decision).toBe('reject');
    expect((await auditEntries(h)).filter((e) => e.action === 'enrolment.completed').map((e) => e.outcome)).toEqual(['enrolled', 'replaced']);
  });
});

describe('feedback', () => {
  it('the same recording again counts once: 409 duplicate-sample before any analysis, audited, nothing stored', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    expect((await enrolSample(h, 'cust-1', sample(200, 5))).body).toMatchObject({ status: 'enrolling', samples: 1, netSpeechSeconds: 5 });
    const calls = h.embedder.calls;
    const again = await enrolSample(h, 'cust-1', sample(200, 5));
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      type: 'https://voice-passport.dev/problems/duplicate-sample',
      title: 'This recording is already a sample of the enrolment',
      status: 409,
      code: 'duplicate-sample',
      detail: 'This recording is already a sample of this enrolment and counts once; record another.',
      instance: '/v1/subjects/cust-1/enrolments',
      requestId: expect.any(String),
      feedback: ['duplicate-sample'],
      samples: 1,
      enrolledNetSpeechSeconds: 5,
      requiredSeconds: 8,
      requiredSamples: 2,
    });
    expect(h.embedder.calls).toBe(calls);
    expect(await h.metrics.registry.metrics()).toContain('voice_passport_enrolment_samples_total{outcome="rejected"} 1');
    expect((await getSubject(h, 'cust-1')).body.enrolment.inProgress).toEqual({ samples: 1, netSpeechSeconds: 5, requiredSamples: 2, requiredSeconds: 8 });
    expect((await auditEntries(h)).filter((e) => e.action === 'enrolment.sample').map((e) => [e.outcome, e.details.feedback])).toEqual([
      ['accepted', ['ok']],
      ['rejected', ['duplicate-sample']],
    ]);
    // Another recording completes it; once enrolled, the samples (and their hashes) are gone, so a later re-enrolment may use the first again.
    expect((await enrolSample(h, 'cust-1', toneWav({ freq: 200, seconds: 5, amplitude: 0.29 }))).body.status).toBe('enrolled');
    expect(h.store.db.get<{ n: number }>('SELECT count(*) AS n FROM enrolment_samples')!.n).toBe(0);
    expect((await enrolSample(h, 'cust-1', sample(200, 5))).body.status).toBe('enrolling');
  });

  it('the same recording sent twice at once is stored once', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    const both = await Promise.all([enrolSample(h, 'cust-1', sample(200, 5)), enrolSample(h, 'cust-1', sample(200, 5))]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await getSubject(h, 'cust-1')).body.enrolment.inProgress).toMatchObject({ samples: 1, netSpeechSeconds: 5 });
  });

  it('a sample from another speaker restarts the enrolment with not-same-speaker', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    await enrolSample(h, 'cust-1', sample(200, 5));
    const other = await enrolSample(h, 'cust-1', sample(400, 5));
    expect(other.status).toBe(200);
    expect(other.body).toEqual({
      status: 'enrolling',
      netSpeechSeconds: 0,
      requiredSeconds: 8,
      samples: 0,
      requiredSamples: 2,
      feedback: ['not-same-speaker'],
      sample: { netSpeechSeconds: 5, snrDb: 30, clippedRatio: 0, durationSeconds: 5 },
      model: fakeModelId,
    });
    const view = await getSubject(h, 'cust-1');
    expect(view.body.enrolment).toMatchObject({ state: 'none', voiceprint: null, inProgress: { samples: 0, netSpeechSeconds: 0 } });
    expect((await auditEntries(h)).filter((e) => e.action === 'enrolment.discarded').map((e) => [e.outcome, e.details])).toEqual([
      ['not-same-speaker', { samplesDiscarded: 1, model: fakeModelId }],
    ]);
  });

  it.each([
    ['too-short', () => sample(200, 2), {}, 'insufficient-speech', 'The sample was not used: the sample holds less than 3 s of speech. Record it again; nothing was stored.', { netSpeechSeconds: 2, snrDb: 30, clippedRatio: 0, durationSeconds: 2 }],
    ['no-speech', () => toneWav({ freq: 200, seconds: 0, silenceSeconds: 3 }), {}, 'insufficient-speech', 'The sample was not used: no speech was found. Record it again; nothing was stored.', { netSpeechSeconds: 0, snrDb: 30, clippedRatio: 0, durationSeconds: 3 }],
    ['too-noisy', () => toneWav({ freq: 200, seconds: 5, amplitude: 0.29 }), { snrDb: 2.04 }, 'poor-audio-quality', 'The sample was not used: there is too much background noise. Record it again; nothing was stored.', { netSpeechSeconds: 5, snrDb: 2, clippedRatio: 0, durationSeconds: 5 }],
    ['clipped', () => toneWav({ freq: 200, seconds: 5, amplitude: 1 }), {}, 'poor-audio-quality', 'The sample was not used: the audio is clipped (too loud); lower the input level. Record it again; nothing was stored.', { netSpeechSeconds: 5, snrDb: 30, clippedRatio: 0.025, durationSeconds: 5 }],
    // (clipped: at 16 kHz a full-scale 200 Hz tone has 2 of every 80 samples at |x| ≥ 0.999.)
  ] as const)('%s → 422 with the quality figures; nothing stored', async (feedback, audio, override, code, detail, figures) => {
    h = createHarness();
    await consent(h, 'cust-1');
    await enrolSample(h, 'cust-1', sample(200, 5));
    h.embedder.overrides.push(override);
    const res = await enrolSample(h, 'cust-1', audio());
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      type: `https://voice-passport.dev/problems/${code}`,
      title: code === 'insufficient-speech' ? 'Not enough speech in the audio' : 'The audio quality is too poor to use',
      status: 422,
      code,
      detail,
      feedback: [feedback],
      ...figures,
      minSampleSeconds: 3,
      samples: 1,
      enrolledNetSpeechSeconds: 5,
      requiredSeconds: 8,
      requiredSamples: 2,
      instance: '/v1/subjects/cust-1/enrolments',
      requestId: res.headers['x-request-id'],
    });
    expect((await getSubject(h, 'cust-1')).body.enrolment.inProgress).toEqual({ samples: 1, netSpeechSeconds: 5, requiredSeconds: 8, requiredSamples: 2 });
    const rejected = (await auditEntries(h)).filter((e) => e.outcome === 'rejected');
    expect(rejected.map((e) => e.details)).toEqual([{ feedback: [feedback], netSpeechSeconds: figures.netSpeechSeconds, model: fakeModelId }]);
  });
});

describe('request limits', () => {
  it('415 for a type that is not audio, 400 for an empty body or broken audio; the embedder sees none of them', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    const json = await enrolSample(h, 'cust-1', new TextEncoder().encode('{}'), 'application/json');
    expect(json.status).toBe(415);
    expect(json.body).toMatchObject({ code: 'audio-unsupported', contentType: 'application/json' });
    const l16 = await enrolSample(h, 'cust-1', new Uint8Array(320), 'audio/L16');
    expect(l16.status).toBe(415);
    expect(l16.body.detail).toContain('needs a "rate" parameter');
    const empty = await request(h.app).post('/v1/subjects/cust-1/enrolments').set(h.auth('enrolment')).set('Content-Type', 'audio/wav');
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ code: 'audio-empty', detail: 'The request body is empty; send the sample as the body.' });
    expect(h.embedder.calls).toBe(0);
    const broken = await enrolSample(h, 'cust-1', new TextEncoder().encode('RIFF....WAVEjunk'));
    expect(broken.status).toBe(400);
    expect(broken.body.code).toBe('audio-malformed');
  });

  it('413 for a body beyond VP_MAX_AUDIO_SECONDS at 48 kHz × 8 bytes', async () => {
    h = createHarness({ maxAudioSeconds: 1 });
    await consent(h, 'cust-1');
    const limit = 48_000 * 8 + 64 * 1024;
    const res = await enrolSample(h, 'cust-1', new Uint8Array(limit + 1));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({
      code: 'payload-too-large',
      detail: `The audio body exceeds ${limit} bytes, the most VP_MAX_AUDIO_SECONDS of 48 kHz audio at 8 bytes a frame (stereo 32-bit) takes; send the caller's audio as mono 16-bit PCM or G.711.`,
      limitBytes: limit,
    });
    expect(h.embedder.calls).toBe(0);
  });

  it('415 for a compressed body (Content-Encoding), audio or JSON: a few kilobytes of gzip are never unpacked towards the limit', async () => {
    h = createHarness();
    const gzipped = (bytes: Uint8Array) => gzipSync(bytes);
    const consentJson = gzipped(new TextEncoder().encode(JSON.stringify({ noticeVersion: 'v2', channel: 'web', locale: 'en' })));
    const json = await request(h.app).put('/v1/subjects/cust-1/consent').set(h.auth('enrolment')).set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send(consentJson);
    expect(json.status).toBe(415);
    expect(json.body).toMatchObject({ code: 'unsupported-media-type', detail: 'The request body must not be compressed: send it without a Content-Encoding.' });
    expect((await getSubject(h, 'cust-1')).status).toBe(404);

    await consent(h, 'cust-1');
    // 30 s of silence at 48 kHz (2.9 MB) packs into a few kilobytes.
    const audio = gzipped(toneWav({ freq: 0, seconds: 30, sampleRate: 48_000 }));
    expect(audio.byteLength).toBeLessThan(20_000);
    const res = await request(h.app).post('/v1/subjects/cust-1/enrolments').set(h.auth('enrolment')).set('Content-Type', 'audio/wav').set('Content-Encoding', 'gzip').send(audio);
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: 'unsupported-media-type', detail: 'The request body must not be compressed: send it without a Content-Encoding.' });
    expect(h.embedder.calls).toBe(0);
  });

  it('503 overloaded with Retry-After when the inference queue is full', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    h.embedder.nextError = new VoicePassportError('overloaded', 'all 2 embedding workers are busy and 32 requests are waiting; retry later', { queued: 32, workers: 2 }, 1.5);
    const res = await enrolSample(h, 'cust-1', sample());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body).toMatchObject({ code: 'overloaded', queued: 32, workers: 2 });
    expect((await getSubject(h, 'cust-1')).body.enrolment.inProgress.samples).toBe(0);
  });

  it('consent withdrawn while the audio was being analysed: nothing is stored', async () => {
    h = createHarness();
    await consent(h, 'cust-1');
    const original = h.embedder.analyse.bind(h.embedder);
    h.embedder.analyse = async (req) => {
      const r = await original(req);
      await request(h.app).delete('/v1/subjects/cust-1/consent').set(h.auth('enrolment'));
      return r;
    };
    const res = await enrolSample(h, 'cust-1', sample());
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'consent-required', detail: 'The consent ended while the sample was being analysed; nothing was stored.' });
    expect((await getSubject(h, 'cust-1')).body.enrolment.state).toBe('none');
    // The analysis happened all the same, and is audited.
    expect((await auditEntries(h)).filter((e) => e.action === 'enrolment.sample')).toEqual([
      expect.objectContaining({ outcome: 'consent-ended', details: { netSpeechSeconds: expect.any(Number), model: fakeModelId } }),
    ]);
  });
});
