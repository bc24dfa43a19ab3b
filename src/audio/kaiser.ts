/**
 * Kaiser window design (J. F. Kaiser 1974; Kaiser & Schafer 1980; Oppenheim & Schafer,
 * "Discrete-Time Signal Processing", §7.5.3): the window family that trades main-lobe width for
 * side-lobe level through one parameter β, with closed-form rules for β and the length that meet a
 * given stopband attenuation and transition width.
 */

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
export function besselI0(x: number): number {
  const half = x / 2;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 200; k++) {
    term *= (half / k) * (half / k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser's β for a stopband attenuation in dB (Oppenheim & Schafer eq. 7.62). */
export function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

/** Kaiser's filter length for attenuation A and transition width Δω rad/sample: N = (A − 8) / (2.285 Δω) (eq. 7.63). */
export function kaiserLength(attenuationDb: number, transitionRadians: number): number {
  return Math.ceil((attenuationDb - 7.95) / (2.285 * transitionRadians));
}

/** The window at r ∈ [−1, 1] (position relative to the half-length); 0 outside. */
export function kaiserWindow(r: number, beta: number, i0Beta: number = besselI0(beta)): number {
  if (r <= -1 || r >= 1) return r === -1 || r === 1 ? 1 / i0Beta : 0;
  return besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
}
