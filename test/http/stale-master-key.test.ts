/**
 * A service whose store another process rotated to a new master key (store-key-ring.ts): it must
 * say it is not ready and refuse biometric work with 503, never wrap a data key under the old key
 * (that voiceprint could not be opened after the restart) nor call good voiceprints damaged.
 */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { toneWav } from '../passport/fakes.js';
import { testMasterKey } from '../store/helpers.js';
import { consent, consentAndEnrol, createHarness, enrolSample, verifyCall, type Harness } from './harness.js';

const newKey = Buffer.alloc(32, 0x5e).toString('base64');

let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(async () => {
  await h.close();
});

describe('a store rotated under a running service', () => {
  it('makes /readyz and every voiceprint operation answer 503 not-ready, and writes no key under the old master key', async () => {
    await consentAndEnrol(h, 'alice');
    expect((await consent(h, 'bob')).status).toBe(200);
    expect((await enrolSample(h, 'bob', toneWav({ freq: 300, seconds: 5 }))).body.status).toBe('enrolling');
    expect((await consent(h, 'carol')).status).toBe(200);
    const alice = h.store.voiceprints.voiceprint(h.store.pseudonymise('alice'))!.embedding;
    const embedderCalls = h.embedder.calls;
    expect((await request(h.app).get('/readyz')).body).toEqual({ status: 'ready', checks: { database: true, masterKey: true } });

    // Another process (a second start with VP_PREVIOUS_MASTER_KEY) rotates the store.
    openStore({ dataDir: h.dataDir, env: { VP_MASTER_KEY: newKey, VP_PREVIOUS_MASTER_KEY: testMasterKey } }).close();

    const ready = await request(h.app).get('/readyz');
    expect([ready.status, ready.body]).toEqual([503, { status: 'not-ready', checks: { database: true, masterKey: false } }]);
    const notReady = (instance: string) => ({
      type: expect.stringMatching(/\/problems\/not-ready$/),
      title: 'The service is not ready',
      status: 503,
      code: 'not-ready',
      detail: 'The master key of the store was rotated by another process; restart the service with the new key.',
      requestId: expect.any(String),
      instance,
    });
    for (const [res, instance] of [
      [await verifyCall(h, 'alice', toneWav({ freq: 200, seconds: 4 })), '/v1/subjects/alice/verifications'],
      [await enrolSample(h, 'bob', toneWav({ freq: 300, seconds: 5, amplitude: 0.29 })), '/v1/subjects/bob/enrolments'],
      [await enrolSample(h, 'carol', toneWav({ freq: 400, seconds: 5 })), '/v1/subjects/carol/enrolments'],
    ] as const) {
      expect([res.status, res.headers['content-type'], res.body]).toEqual([503, expect.stringMatching(/^application\/problem\+json/), notReady(instance)]);
    }
    // Nothing recorded (the audio was analysed, then refused at the key): no verification, no
    // sample, and the audit log ends with the rotation.
    expect(h.embedder.calls).toBe(embedderCalls + 3);
    expect(h.store.db.all('SELECT decision FROM verifications')).toEqual([]);
    expect(h.store.audit.list().slice(-4).map((e) => [e.action, e.outcome])).toEqual([
      ['consent.given', 'given'],
      ['enrolment.sample', 'accepted'],
      ['consent.given', 'given'],
      ['master-key.rotated', 'ok'],
    ]);

    // After the restart with the new key: alice and bob as they were, carol still without a data key.
    const restarted = openStore({ dataDir: h.dataDir, env: { VP_MASTER_KEY: newKey } });
    try {
      expect(restarted.voiceprints.voiceprint(restarted.pseudonymise('alice'))?.embedding).toEqual(alice);
      expect(restarted.voiceprints.enrolmentProgress(restarted.pseudonymise('bob')).sampleCount).toBe(1);
      expect(restarted.voiceprints.enrolmentSamples(restarted.pseudonymise('bob'))).toHaveLength(1);
      expect(restarted.db.get('SELECT count(*) AS n FROM subject_keys')).toEqual({ n: 2 });
    } finally {
      restarted.close();
    }
  });
});
