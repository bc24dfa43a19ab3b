import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../src/http/rate-limit.js';
import { createHarness, type Harness } from './harness.js';

describe('TokenBuckets', () => {
  it('allows a burst of the per-minute rate, then refills continuously', () => {
    let now = 0;
    const b = new TokenBuckets(6, () => now);
    for (let i = 0; i < 6; i++) expect(b.take('k')).toEqual({ allowed: true });
    expect(b.take('k')).toEqual({ allowed: false, retryAfterSeconds: 10 });
    // Buckets are per key.
    expect(b.take('other')).toEqual({ allowed: true });
    now = 4_000;
    expect(b.take('k')).toEqual({ allowed: false, retryAfterSeconds: 6 });
    now = 10_000;
    expect(b.take('k')).toEqual({ allowed: true });
    expect(b.take('k')).toEqual({ allowed: false, retryAfterSeconds: 10 });
    now = 10_000 + 3_600_000;
    for (let i = 0; i < 6; i++) expect(b.take('k').allowed).toBe(true);
    expect(b.take('k').allowed).toBe(false);
  });

  it('refuses a non-positive rate', () => {
    expect(() => new TokenBuckets(0)).toThrow(RangeError);
  });
});

describe('rate limiting over HTTP', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('429 rate-limited with Retry-After once a key has spent its bucket; other keys are unaffected', async () => {
    h = createHarness({ rateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).status).toBe(200);
    const res = await request(h.app).get('/v1/operator/policies').set(h.auth('operator'));
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(19);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(20);
    expect(res.body).toEqual({
      type: 'https://voice-passport.dev/problems/rate-limited',
      title: 'Too many requests',
      status: 429,
      code: 'rate-limited',
      detail: 'This API key sent too many requests; slow down.',
      instance: '/v1/operator/policies',
      requestId: res.headers['x-request-id'],
    });
    expect((await request(h.app).get('/v1/admin/keys').set(h.auth('admin'))).status).toBe(200);
  });
});
