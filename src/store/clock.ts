/** The store's notion of "now", injectable so tests can move time (retention, attempt limiting). */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** Times are stored as ISO-8601 UTC text (`Date.toISOString()`): readable, and they sort as text. */
export function isoNow(clock: Clock): string {
  return clock().toISOString();
}
