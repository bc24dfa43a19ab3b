/**
 * The store's notion of "now", injectable so tests can move time: retention runs from the last use
 * (GDPR Art. 5(1)(e)) and the attempt-limiting window from the last reject (NIST SP 800-63B §3.2.3).
 */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** Times are stored as ISO-8601 UTC text (`Date.toISOString()`): readable, and they sort as text. */
export function isoNow(clock: Clock): string {
  return clock().toISOString();
}
