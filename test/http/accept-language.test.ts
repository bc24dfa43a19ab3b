import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { preferredLanguages } from '../../src/http/accept-language.js';

describe('preferredLanguages', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['nl', ['nl']],
    ['nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7', ['nl-nl', 'nl', 'en-us', 'en']],
    ['en;q=0.2, nl', ['nl', 'en']],
    ['de, fr;q=0, en;q=0.5', ['de', 'en']],
    ['*;q=0.1, en', ['en']],
    ['"quoted", en', ['en']],
  ])('%j → %j', (header, expected) => {
    expect(preferredLanguages(header)).toEqual(expected);
  });

  it('never throws and returns only well-formed tags', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        for (const tag of preferredLanguages(s)) expect(tag).toMatch(/^[a-z]{1,8}(-[a-z0-9]{1,8})*$/);
      }),
    );
  });
});
