/**
 * A DET plot (Martin et al., "The DET curve in assessment of detection task performance",
 * Eurospeech 1997) as a self-contained SVG: FMR on x, FNMR on y, both on normal-deviate (probit)
 * axes, so that normally distributed scores give straight lines. The EER point and any operating
 * points passed in (policy thresholds, minDCF) are marked. No dependencies, no scripts, no fonts
 * beyond a generic family.
 */
import type { OperatingPoints } from './metrics.js';

/**
 * Inverse of the standard normal CDF (the probit): P. J. Acklam's rational approximation,
 * relative error below 1.15e-9, far finer than a plot needs.
 */
export function probit(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return horner(ACKLAM_C, q) / (horner(ACKLAM_D, q) * q + 1);
  }
  if (p > 1 - pLow) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -horner(ACKLAM_C, q) / (horner(ACKLAM_D, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (horner(ACKLAM_A, r) * q) / (horner(ACKLAM_B, r) * r + 1);
}

const ACKLAM_A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const ACKLAM_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const ACKLAM_C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** c[0]·xⁿ⁻¹ + … + c[n−1]. */
function horner(c: readonly number[], x: number): number {
  let v = 0;
  for (const k of c) v = v * x + k;
  return v;
}

export interface MarkedPoint {
  label: string;
  fmr: number;
  fnmr: number;
  /** How the legend quotes the rates (the report's quoteRate: "< 3/N" below the rule of three); the plain rate when absent. */
  fmrText?: string;
  fnmrText?: string;
}

export interface DetPlot {
  title: string;
  /** A second, smaller line under the title (e.g. the trial counts). */
  subtitle?: string;
  points: OperatingPoints;
  eer: number;
  marks?: readonly MarkedPoint[];
}

/** Axis range and ticks (rates): the classic NIST DET range, widened both ways for weak and strong systems. */
const TICKS = [0.0001, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8];
const LOW = 0.0001;
const HIGH = 0.8;
const SIZE = 480;
const MARGIN = { left: 64, right: 24, top: 48, bottom: 52 };

const MARK_COLOURS = ['#c0392b', '#2e7d32', '#8e44ad', '#d35400', '#16a085'];

function rateText(rate: number): string {
  return `${(rate * 100).toFixed(rate < 0.01 ? 3 : 1)} %`;
}

function tickLabel(rate: number): string {
  const pct = rate * 100;
  return pct >= 1 ? pct.toFixed(0) : String(Number(pct.toPrecision(1)));
}

function escapeXml(s: string): string {
  // Control characters other than tab and newlines are not allowed in XML 1.0 at all, even escaped
  // (a folder name could hold one): they become U+FFFD so the file still parses.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch] as string).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD');
}

export function detSvg(plot: DetPlot): string {
  const lo = probit(LOW);
  const hi = probit(HIGH);
  // Rates are clamped to a range a little wider than the axes (probit(0) is −∞); the curve is
  // then clipped to the axis box, so its ends leave the box instead of running along the frame.
  const clamp = (p: number) => probit(Math.min(1 - 1e-7, Math.max(1e-7, p)));
  const x = (fmr: number) => MARGIN.left + ((clamp(fmr) - lo) / (hi - lo)) * SIZE;
  const y = (fnmr: number) => MARGIN.top + SIZE - ((clamp(fnmr) - lo) / (hi - lo)) * SIZE;
  const f = (v: number) => v.toFixed(1);
  const width = MARGIN.left + SIZE + MARGIN.right;
  const height = MARGIN.top + SIZE + MARGIN.bottom;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="13">${escapeXml(plot.title)}</text>`);
  if (plot.subtitle !== undefined) parts.push(`<text x="${width / 2}" y="34" text-anchor="middle" fill="#555">${escapeXml(plot.subtitle)}</text>`);
  for (const t of TICKS) {
    parts.push(`<line x1="${f(x(t))}" y1="${MARGIN.top}" x2="${f(x(t))}" y2="${MARGIN.top + SIZE}" stroke="#ddd"/>`);
    parts.push(`<line x1="${MARGIN.left}" y1="${f(y(t))}" x2="${MARGIN.left + SIZE}" y2="${f(y(t))}" stroke="#ddd"/>`);
    parts.push(`<text x="${f(x(t))}" y="${MARGIN.top + SIZE + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
    parts.push(`<text x="${MARGIN.left - 4}" y="${f(y(t) + 4)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${SIZE}" height="${SIZE}" fill="none" stroke="black"/>`);
  parts.push(`<text x="${MARGIN.left + SIZE / 2}" y="${height - 12}" text-anchor="middle">false match rate FMR (%)</text>`);
  parts.push(
    `<text x="16" y="${MARGIN.top + SIZE / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + SIZE / 2})">false non-match rate FNMR (%)</text>`,
  );
  // The diagonal FMR = FNMR, where the EER lies.
  parts.push(`<line x1="${f(x(LOW))}" y1="${f(y(LOW))}" x2="${f(x(HIGH))}" y2="${f(y(HIGH))}" stroke="#999" stroke-dasharray="4 3"/>`);

  // The curve, thinned to points at least half a pixel apart (sc has ~180 000 trials).
  const path: string[] = [];
  let lastX = NaN;
  let lastY = NaN;
  const { fmr, fnmr } = plot.points;
  for (let k = 0; k < fmr.length; k++) {
    const px = x(fmr[k] as number);
    const py = y(fnmr[k] as number);
    const isEnd = k === 0 || k === fmr.length - 1;
    if (!isEnd && Math.abs(px - lastX) < 0.5 && Math.abs(py - lastY) < 0.5) continue;
    path.push(`${path.length === 0 ? 'M' : 'L'}${f(px)} ${f(py)}`);
    lastX = px;
    lastY = py;
  }
  parts.push(`<clipPath id="det-axes"><rect x="${MARGIN.left}" y="${MARGIN.top}" width="${SIZE}" height="${SIZE}"/></clipPath>`);
  parts.push(`<path d="${path.join(' ')}" fill="none" stroke="#1f5fbf" stroke-width="2" clip-path="url(#det-axes)"/>`);

  // Marked points are dots; their labels go in a legend in the top-right corner, the one region a
  // DET curve never enters (both error rates high), so labels never hide the curve or each other.
  const marks: MarkedPoint[] = [{ label: `EER ${(plot.eer * 100).toFixed(2)} %`, fmr: plot.eer, fnmr: plot.eer }, ...(plot.marks ?? [])];
  const inside = (r: number) => r >= LOW && r <= HIGH;
  const legend: string[] = [];
  marks.forEach((m, i) => {
    const colour = MARK_COLOURS[i % MARK_COLOURS.length] as string;
    // A point outside the axes (e.g. FMR 0) cannot be placed on a probit axis: legend only.
    const drawn = inside(m.fmr) && inside(m.fnmr);
    if (drawn) parts.push(`<circle cx="${f(x(m.fmr))}" cy="${f(y(m.fnmr))}" r="4" fill="${colour}"/>`);
    const ly = MARGIN.top + 16 + 16 * i;
    const lx = MARGIN.left + SIZE - 10;
    const rates = i === 0 ? '' : `: FMR ${m.fmrText ?? rateText(m.fmr)}, FNMR ${m.fnmrText ?? rateText(m.fnmr)}${drawn ? '' : ' (off the axes)'}`;
    legend.push(`<circle cx="${lx}" cy="${ly - 4}" r="4" fill="${colour}"/>`);
    legend.push(`<text x="${lx - 8}" y="${ly}" text-anchor="end" fill="${colour}">${escapeXml(m.label + rates)}</text>`);
  });
  parts.push(...legend);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
