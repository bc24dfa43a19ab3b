/**
 * Verification policies set by operators (issue 3 "named risk tiers"); the rules that use them are in
 * scoring/policy.ts. Changes are attributed (updated_by) for accountability (GDPR Art. 5(2)); the
 * use case also writes an audit entry.
 */
import type { Policy, TargetFmrBound } from '../scoring/policy.js';
import { isoNow, type Clock } from './clock.js';
import type { Database } from './database.js';

export interface StoredPolicy extends Policy {
  /** False-match rate the threshold was calibrated for; null until calibration exists. */
  targetFmr: number | null;
  /** What targetFmr bounds (scoring/calibration.ts); null with an explicit threshold. */
  targetFmrBound: TargetFmrBound | null;
  updatedBy: string | null;
  updatedAt: string;
}

interface PolicyRow {
  name: string;
  threshold: number;
  target_fmr: number | null;
  target_fmr_bound: TargetFmrBound | null;
  min_net_speech_seconds: number;
  description: string;
  updated_by: string | null;
  updated_at: string;
}

export class PolicyRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  list(): StoredPolicy[] {
    return this.db.all<PolicyRow>('SELECT * FROM policies ORDER BY name').map(toPolicy);
  }

  get(name: string): StoredPolicy | undefined {
    const row = this.db.get<PolicyRow>('SELECT * FROM policies WHERE name = ?', [name]);
    return row && toPolicy(row);
  }

  /** Creates or replaces a policy (validated by scoring/policy.ts's schema at the HTTP edge). */
  put(policy: Policy & { targetFmr?: number | null; targetFmrBound?: TargetFmrBound | null }, actorKeyId: string | null): StoredPolicy {
    const targetFmr = policy.targetFmr ?? null;
    this.db.run(
      `INSERT INTO policies (name, threshold, target_fmr, target_fmr_bound, min_net_speech_seconds, description, updated_by, updated_at)
       VALUES (@name, @threshold, @targetFmr, @targetFmrBound, @minNetSpeechSeconds, @description, @updatedBy, @updatedAt)
       ON CONFLICT (name) DO UPDATE SET threshold = excluded.threshold, target_fmr = excluded.target_fmr, target_fmr_bound = excluded.target_fmr_bound,
         min_net_speech_seconds = excluded.min_net_speech_seconds, description = excluded.description,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      {
        name: policy.name,
        threshold: policy.threshold,
        targetFmr,
        targetFmrBound: targetFmr === null ? null : (policy.targetFmrBound ?? 'estimate'),
        minNetSpeechSeconds: policy.minNetSpeechSeconds,
        description: policy.description,
        updatedBy: actorKeyId,
        updatedAt: isoNow(this.clock),
      },
    );
    return this.get(policy.name)!;
  }

  /**
   * Seeds the default tiers at first start (an empty table) and never again, so a tier an operator
   * deleted stays deleted across restarts; `required` (the policy verification uses without
   * ?policy) is put back if it is somehow missing. Never overwrites an operator's change.
   * Returns how many were added.
   */
  seedDefaults(policies: readonly (Policy & { targetFmr?: number | null; targetFmrBound?: TargetFmrBound | null })[], required: string): number {
    return this.db.transaction(() => {
      const empty = this.db.get<{ n: number }>('SELECT count(*) AS n FROM policies')!.n === 0;
      const toAdd = empty ? policies : policies.filter((p) => p.name === required && this.get(p.name) === undefined);
      for (const p of toAdd) this.put(p, null);
      return toAdd.length;
    });
  }

  delete(name: string): boolean {
    return this.db.run('DELETE FROM policies WHERE name = ?', [name]).changes === 1;
  }
}

function toPolicy(row: PolicyRow): StoredPolicy {
  return {
    name: row.name,
    threshold: row.threshold,
    minNetSpeechSeconds: row.min_net_speech_seconds,
    description: row.description,
    targetFmr: row.target_fmr,
    // Target policies stored before the bound could be chosen bound the estimate.
    targetFmrBound: row.target_fmr === null ? null : (row.target_fmr_bound ?? 'estimate'),
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  };
}
