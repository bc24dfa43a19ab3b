/** Instants in queries (the audit log's and the statistics' from/to). */
import { z } from 'zod';

/**
 * An ISO 8601 date-time with an offset, or a date (its UTC midnight), that lies between the years
 * 0000 and 9999 once in UTC. The store compares instants as ISO strings, and `toISOString` writes a
 * year past 9999 as "+010000-…", which sorts before every other: `from=9999-12-31T23:59:59-23:59`
 * would have matched everything.
 */
export const instantQuery = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .refine((t) => /^\d{4}-/.test(toIsoInstant(t)), { message: 'must lie between the years 0000 and 9999 in UTC' });

/** The instant in UTC, as the store writes them (`2026-03-01T09:00:00.000Z`). */
export function toIsoInstant(t: string): string {
  return new Date(Date.parse(t)).toISOString();
}
