/**
 * Per-key rate limiting: a token bucket in memory (capacity = the per-minute rate, refilled
 * continuously). In memory is enough for one process; behind several replicas each enforces its own
 * share. Excess requests get 429 `rate-limited` with Retry-After (RFC 6585 §4).
 */
import type { RequestHandler } from 'express';
import { VoicePassportError } from '../errors.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perMinute > 0)) throw new RangeError('perMinute must be positive');
    this.perMs = perMinute / 60_000;
  }

  take(key: string): TakeResult {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, updatedAt: now };
    b.tokens = Math.min(this.perMinute, b.tokens + Math.max(0, now - b.updatedAt) * this.perMs);
    b.updatedAt = now;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.prune(now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)) };
  }

  /** Full buckets carry no information: drop them so the map stays small. */
  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.updatedAt) * this.perMs >= this.perMinute) this.buckets.delete(k);
  }
}

/** Limits per authenticated key (after `authenticate`). */
export function rateLimit(buckets: TokenBuckets): RequestHandler {
  return (_req, res, next) => {
    const key = res.locals.actor?.keyId;
    if (key === undefined) {
      next();
      return;
    }
    const r = buckets.take(key);
    if (r.allowed) next();
    else next(new VoicePassportError('rate-limited', 'This API key sent too many requests; slow down.', undefined, r.retryAfterSeconds));
  };
}
