/**
 * Verification policies: named risk tiers an operator sets. A policy says how sure we must be
 * (a threshold on the score scale) and how much net speech a decision needs; below that the
 * answer is "inconclusive" with the seconds still needed, never a guess.
 */
import { z } from 'zod';

export const policyNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, 1-32 chars');

export const policySchema = z
  .object({
    /** Decision threshold on the score scale: accept when score ≥ threshold. */
    threshold: z.number().min(-1).max(1),
    /** Least net speech (seconds, after voice activity detection) for a decision. */
    minNetSpeechSeconds: z.number().min(0.5).max(60),
    description: z.string().max(200).default(''),
  })
  .strict();

export type PolicySettings = z.infer<typeof policySchema>;

export interface Policy extends PolicySettings {
  name: string;
}

/**
 * Defaults until the calibration of the accuracy issue: thresholds on the cosine scale of the
 * bundled model. `high` asks for more speech and a stricter match (use for payments).
 */
export const defaultPolicies: readonly Policy[] = [
  { name: 'standard', threshold: 0.5, minNetSpeechSeconds: 3, description: 'Caller authentication for account information.' },
  { name: 'high', threshold: 0.6, minNetSpeechSeconds: 5, description: 'Payments and changes to contact details.' },
];
