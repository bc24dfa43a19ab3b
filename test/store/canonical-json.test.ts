/** Canonical JSON for audit hashes: same entry, same bytes (GDPR Art. 5(2) accountability). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/store/canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys recursively and drops whitespace and undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null, 'x'], c: undefined, b: -0 } })).toBe('{"a":{"b":0,"d":[true,null,"x"]},"b":1}');
  });

  it('is independent of key insertion order and parses back to the same value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        // jsonValue may contain -0, which JSON writes as 0.
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        const reversed = JSON.parse(JSON.stringify(v), (_k, val: unknown) =>
          val !== null && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).reverse()) : val,
        ) as unknown;
        expect(canonicalJson(reversed)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses values JSON cannot carry faithfully', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1n, () => 1, new Date(0), new Float32Array(2), Symbol('s')]) {
      expect(() => canonicalJson({ x: bad })).toThrow(TypeError);
    }
  });
});
