/** The Idempotency-Key header's parser (src/http/idempotency-key.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idempotencyKeyMaxLength, idempotencyKeyOf, parseIdempotencyKey } from '../../src/http/idempotency-key.js';

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: idempotencyKeyMaxLength });
const quoted = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

describe('Idempotency-Key', () => {
  it('property: any printable ASCII key of 1-255 characters comes back from its Structured Field string', () => {
    fc.assert(
      fc.property(printable, (key) => {
        expect(parseIdempotencyKey(quoted(key))).toBe(key);
      }),
    );
  });

  it('property: a bare key of letters, digits and -._~:/+= is taken as it is', () => {
    const bare = fc.string({ unit: fc.constantFrom(...'abcXYZ0189-._~:/+='.split('')), minLength: 1, maxLength: idempotencyKeyMaxLength });
    fc.assert(
      fc.property(bare, (key) => {
        expect(parseIdempotencyKey(key)).toBe(key);
      }),
    );
  });

  it('property: a quoted key holding a character outside printable ASCII is refused', () => {
    const outside = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x2fff })).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(printable, outside, (key, c) => {
        expect(() => parseIdempotencyKey(quoted(key.slice(0, 100)).replace(/"$/, `${c}"`))).toThrow(/Idempotency-Key/);
      }),
    );
  });

  it('refuses what is no key, naming the header', () => {
    for (const bad of ['', '""', '"open', '"a" "b"', '"a";p=1', 'two words', 'ümlaut', '(a)', `"${'a'.repeat(idempotencyKeyMaxLength + 1)}"`, 'a'.repeat(idempotencyKeyMaxLength + 1)]) {
      expect(() => parseIdempotencyKey(bad), bad).toThrow(expect.objectContaining({ code: 'validation-failed', message: expect.stringContaining('Idempotency-Key') }));
    }
    expect(parseIdempotencyKey('  "a\\"b\\\\c"  ')).toBe('a"b\\c');
  });

  it('reads the header from a request: none, one, or repeated lines joined (then refused)', () => {
    expect(idempotencyKeyOf({ headers: {} })).toBeUndefined();
    expect(idempotencyKeyOf({ headers: { 'idempotency-key': '"k"' } })).toBe('k');
    expect(() => idempotencyKeyOf({ headers: { 'idempotency-key': ['"a"', '"b"'] as unknown as string } })).toThrow(/Idempotency-Key/);
  });
});
