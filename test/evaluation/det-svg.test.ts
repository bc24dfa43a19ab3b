import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detSvg, probit } from '../../src/evaluation/det-svg.js';
import { operatingPoints, sortTrials } from '../../src/evaluation/metrics.js';

describe('probit (inverse normal CDF)', () => {
  it('known quantiles', () => {
    expect(probit(0.5)).toBe(0);
    expect(probit(0.975)).toBeCloseTo(1.959963985, 8);
    expect(probit(0.025)).toBeCloseTo(-1.959963985, 8);
    expect(probit(0.8413447460685429)).toBeCloseTo(1, 8);
    expect(probit(0.001)).toBeCloseTo(-3.090232306, 8);
    expect(probit(1e-6)).toBeCloseTo(-4.753424309, 7);
    expect(probit(0)).toBe(-Infinity);
    expect(probit(1)).toBe(Infinity);
    expect(probit(1.5)).toBeNaN();
  });

  it('is odd and increasing', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-9, max: 0.5, noNaN: true }), fc.double({ min: 1e-9, max: 0.5, noNaN: true }), (p, q) => {
        expect(probit(p) + probit(1 - p)).toBeCloseTo(0, 6);
        if (p < q) expect(probit(p)).toBeLessThanOrEqual(probit(q));
        if (q > p * 1.001) expect(probit(p)).toBeLessThan(probit(q));
      }),
    );
  });
});

describe('DET plot SVG', () => {
  const points = operatingPoints(sortTrials({ target: [0.9, 0.8, 0.6, 0.4], nonTarget: [0.7, 0.3, 0.2, 0.1, 0.05] }));

  it('is one self-contained SVG with the curve, the EER mark, marked points and an escaped title', () => {
    const svg = detSvg({
      title: 'so762 <wideband> & "all pairs"',
      subtitle: '4 target / 5 non-target trials',
      points,
      eer: 0.25,
      marks: [
        { label: 'standard', fmr: 0.2, fnmr: 0.25 },
        { label: 'off-axis', fmr: 0, fnmr: 0.5 },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('so762 &lt;wideband&gt; &amp; &quot;all pairs&quot;');
    expect(svg).toContain('>EER 25.00 %</text>');
    expect(svg).toContain('>standard: FMR 20.0 %, FNMR 25.0 %</text>');
    expect(svg).toContain('>4 target / 5 non-target trials</text>');
    // A control character (here from a folder name) is not allowed in XML even escaped: replaced.
    expect(detSvg({ title: 'dev\u0001set\tok', points, eer: 0.25 })).toContain('>dev\uFFFDset\tok</text>');
    // FMR 0 cannot be drawn on a probit axis: that mark is in the legend only, not put on the frame.
    expect(svg).toContain('>off-axis: FMR 0.000 %, FNMR 50.0 % (off the axes)</text>');
    // Quoted as the report quotes them, where the caller says how.
    expect(detSvg({ title: 't', points, eer: 0.25, marks: [{ label: 'eer' , fmr: 0.25, fnmr: 0.25 }, { label: 'standard', fmr: 0.001, fnmr: 0.25, fmrText: '< 3/1000 (0.3000 %)', fnmrText: '25.00 %' }] })).toContain(
      '>standard: FMR &lt; 3/1000 (0.3000 %), FNMR 25.00 %</text>',
    );
    expect(svg.match(/<circle /g)).toHaveLength(2 + 3); // EER and standard on the plot; three legend dots
    expect(svg).not.toMatch(/<script|href=|NaN|Infinity/);
    // One path: the curve, from (FMR 0, FNMR 1) to (1, 0), both clamped to the axis box.
    const d = /<path d="([^"]+)"/.exec(svg)?.[1] ?? '';
    const coords = d.split(/[ML]/).filter(Boolean).map((c) => c.trim());
    expect(coords).toHaveLength(points.fmr.length);
    // (FMR 0, FNMR 1) lies beyond the top-left corner of the axes (x 64, y 48), (1, 0) beyond the
    // bottom-right one (x 544, y 528); the path is clipped to the axis box.
    const xy = (c: string | undefined) => (c ?? '').split(' ').map(Number) as [number, number];
    expect(xy(coords[0])[0]).toBeLessThan(64);
    expect(xy(coords[0])[1]).toBeLessThan(48);
    expect(xy(coords.at(-1))[0]).toBeGreaterThan(544);
    expect(xy(coords.at(-1))[1]).toBeGreaterThan(528);
    expect(svg).toContain('<clipPath id="det-axes"><rect x="64" y="48" width="480" height="480"/></clipPath>');
    expect(svg).toMatch(/<path d="[^"]+" fill="none" stroke="#1f5fbf" stroke-width="2" clip-path="url\(#det-axes\)"\/>/);
  });

  it('thins a curve of many points to what the pixels can show', () => {
    const n = 20000;
    const target = Array.from({ length: n }, (_, i) => Math.sin(i) + 0.5);
    const nonTarget = Array.from({ length: n }, (_, i) => Math.cos(i * 1.3));
    const svg = detSvg({ title: 'big', points: operatingPoints(sortTrials({ target, nonTarget })), eer: 0.3 });
    const d = /<path d="([^"]+)"/.exec(svg)?.[1] ?? '';
    expect(d.split(/[ML]/).filter(Boolean).length).toBeLessThan(3000);
  });
});
