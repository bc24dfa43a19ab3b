import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { instantQuery, toIsoInstant } from '../../src/passport/instants.js';

describe('instantQuery', () => {
  it('takes dates and date-times with offsets, and gives them in UTC as the store writes them', () => {
    expect(toIsoInstant(instantQuery.parse('2026-03-02'))).toBe('2026-03-02T00:00:00.000Z');
    expect(toIsoInstant(instantQuery.parse('2026-03-02T01:30:00+02:00'))).toBe('2026-03-01T23:30:00.000Z');
    expect(toIsoInstant(instantQuery.parse('9999-12-31T23:59:59.999Z'))).toBe('9999-12-31T23:59:59.999Z');
  });

  it('refuses an instant that leaves the years 0000-9999 once in UTC (its ISO string would not sort)', () => {
    for (const t of ['9999-12-31T23:59:59.999-23:59', '0000-01-01T00:00:00+01:00']) {
      const r = instantQuery.safeParse(t);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.message).toBe('must lie between the years 0000 and 9999 in UTC');
    }
  });

  it('property: what it takes sorts as its time does, as the store compares them', () => {
    const instant = fc.date({ min: new Date('0000-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true });
    const offset = fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }));
    const written = fc.tuple(instant, offset).map(([d, [sign, hh, mm]]) => {
      const shift = (sign === '+' ? 1 : -1) * (hh * 60 + mm) * 60_000;
      const local = new Date(d.getTime() + shift).toISOString().slice(0, 19);
      return { ms: Math.floor(d.getTime() / 1000) * 1000, text: `${local}${sign}${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}` };
    });
    fc.assert(
      fc.property(written, written, (a, b) => {
        const [ia, ib] = [toIsoInstant(instantQuery.parse(a.text)), toIsoInstant(instantQuery.parse(b.text))];
        expect(ia < ib ? -1 : ia > ib ? 1 : 0).toBe(Math.sign(a.ms - b.ms));
      }),
    );
  });
});
