/** Accept-Language (RFC 9110 §12.5.4) → language tags in order of preference (q > 0 only). */
export function preferredLanguages(header: string | undefined): string[] {
  if (header === undefined || header.length > 1000) return [];
  const ranked: Array<{ tag: string; q: number; i: number }> = [];
  header.split(',').forEach((part, i) => {
    const [rawTag, ...params] = part.trim().split(';');
    const tag = (rawTag ?? '').trim();
    if (!/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(tag)) return;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q=([01](\.[0-9]{0,3})?)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (q > 0) ranked.push({ tag: tag.toLowerCase(), q, i });
  });
  return ranked.sort((a, b) => b.q - a.q || a.i - b.i).map((r) => r.tag);
}
