/**
 * Operators set the verification policies: named risk tiers with a threshold and a minimum net
 * speech. A change is attributed and audited (GDPR Art. 5(2) accountability; Art. 32(1)(d)).
 */
import { z } from 'zod';
import { VoicePassportError } from '../errors.js';
import { policyNameSchema, policySchema } from '../scoring/policy.js';
import type { StoredPolicy } from '../store/index.js';
import type { Actor, PassportContext } from './context.js';
import { defaultPolicyName } from './verification.js';

export const replacePoliciesSchema = z
  .object({
    policies: z
      .array(policySchema.extend({ name: policyNameSchema }).strict())
      .min(1)
      .max(32)
      .refine((ps) => new Set(ps.map((p) => p.name)).size === ps.length, 'policy names must be unique')
      .refine((ps) => ps.some((p) => p.name === defaultPolicyName), `the default policy "${defaultPolicyName}" must stay`),
  })
  .strict();

export type ReplacePoliciesInput = z.infer<typeof replacePoliciesSchema>;

export interface PoliciesResponse {
  policies: StoredPolicy[];
  /** Explains the score scale the thresholds are on. */
  scoreScale: string;
}

export const scoreScale = 'cosine similarity of speaker embeddings, -1 to 1 (accept when score >= threshold); calibrated scores replace it with the accuracy work';

export function listPolicies(ctx: PassportContext): PoliciesResponse {
  return { policies: ctx.store.policies.list(), scoreScale };
}

/**
 * PUT semantics: the body is the whole set. Listed policies are created or replaced, others deleted
 * (except the default, which the body must contain: verification without ?policy uses it).
 * One audit entry per policy that changed.
 */
export function replacePolicies(ctx: PassportContext, actor: Actor, input: ReplacePoliciesInput): PoliciesResponse {
  const { policies, audit, db } = ctx.store;
  db.transaction(() => {
    const before = new Map(policies.list().map((p) => [p.name, p]));
    for (const p of input.policies) {
      const old = before.get(p.name);
      before.delete(p.name);
      if (old && old.threshold === p.threshold && old.minNetSpeechSeconds === p.minNetSpeechSeconds && old.description === p.description) continue;
      policies.put(p, actor.keyId);
      audit.append({
        action: 'policy.updated',
        actorKeyId: actor.keyId,
        subjectPseudonym: null,
        outcome: old ? 'changed' : 'created',
        details: {
          name: p.name,
          threshold: p.threshold,
          minNetSpeechSeconds: p.minNetSpeechSeconds,
          previous: old ? { threshold: old.threshold, minNetSpeechSeconds: old.minNetSpeechSeconds } : null,
        },
      });
    }
    for (const old of before.values()) {
      if (!policies.delete(old.name)) throw new VoicePassportError('internal', `Policy ${old.name} vanished during the update.`);
      audit.append({
        action: 'policy.updated',
        actorKeyId: actor.keyId,
        subjectPseudonym: null,
        outcome: 'deleted',
        details: { name: old.name, previous: { threshold: old.threshold, minNetSpeechSeconds: old.minNetSpeechSeconds } },
      });
    }
  });
  return listPolicies(ctx);
}
