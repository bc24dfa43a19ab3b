/** runIdempotent (src/passport/idempotency.ts): a retry while the first request runs, an abandoned reservation, and a run that fails. */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { abandonedAfterSeconds, runIdempotent, type IdempotentRequest } from '../../src/passport/idempotency.js';
import type { ReadAudio } from '../../src/passport/embedder.js';
import { VoicePassportError } from '../../src/errors.js';
import { createHarness, type Harness } from '../http/harness.js';

let h: Harness;
afterEach(() => h?.close());

const audio: ReadAudio = () => Promise.resolve({ bytes: new Uint8Array([1, 2, 3]), contentType: 'audio/wav' });
const request: IdempotentRequest = { key: 'k1', operation: 'verify', customerId: 'cust-1', parameters: 'policy=' };

const keySha256 = (key: string) => createHash('sha256').update(key).digest('hex');

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('runIdempotent', () => {
  it('tells a retry that comes while the first request runs to wait (409, Retry-After 1), then replays the answer', async () => {
    h = createHarness();
    const actor = { keyId: h.keyIds.telephony, role: 'telephony' as const };
    const gate = deferred<{ n: number }>();
    let runs = 0;
    const first = runIdempotent(h.ctx, actor, request, audio, async (read) => {
      runs++;
      await read();
      return gate.promise;
    });
    const during = runIdempotent(h.ctx, actor, request, audio, () => Promise.resolve({ n: -1 }));
    await expect(during).rejects.toMatchObject({ code: 'idempotency-key-in-use', retryAfterSeconds: 1 });
    gate.resolve({ n: 1 });
    expect(await first).toEqual({ result: { n: 1 }, replayed: false });
    expect(await runIdempotent(h.ctx, actor, request, audio, () => Promise.resolve({ n: 2 }))).toEqual({ result: { n: 1 }, replayed: true });
    expect(runs).toBe(1);
  });

  it('takes over a reservation abandoned by a request that never finished', async () => {
    h = createHarness();
    const actor = { keyId: h.keyIds.telephony, role: 'telephony' as const };
    // A reservation as a crashed process leaves it.
    h.store.idempotency.reserve(actor.keyId, keySha256(request.key), 'verify', h.store.pseudonymise('cust-1'));
    await expect(runIdempotent(h.ctx, actor, request, audio, () => Promise.resolve('x'))).rejects.toMatchObject({ code: 'idempotency-key-in-use' });
    h.clock.advance(abandonedAfterSeconds * 1000 + 1);
    expect(await runIdempotent(h.ctx, actor, request, audio, () => Promise.resolve('fresh'))).toEqual({ result: 'fresh', replayed: false });
  });

  it('frees the key when the run fails, and runs without a key every time', async () => {
    h = createHarness();
    const actor = { keyId: h.keyIds.telephony, role: 'telephony' as const };
    await expect(runIdempotent(h.ctx, actor, request, audio, () => Promise.reject(new VoicePassportError('overloaded', 'busy', undefined, 2)))).rejects.toMatchObject({ code: 'overloaded' });
    expect(h.store.idempotency.find(actor.keyId, keySha256('k1'))).toBeUndefined();
    expect(await runIdempotent(h.ctx, actor, request, audio, () => Promise.resolve(1))).toEqual({ result: 1, replayed: false });

    let n = 0;
    for (let i = 0; i < 2; i++) expect(await runIdempotent(h.ctx, actor, undefined, audio, () => Promise.resolve(++n))).toEqual({ result: i + 1, replayed: false });
  });
});
