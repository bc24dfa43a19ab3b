/**
 * The audit log for operators (GDPR Art. 5(2), 30): paginated by sequence number. Entries carry key
 * ids and subject pseudonyms, never customer ids or biometric data.
 */
import { z } from 'zod';
import type { AuditAction, AuditEntry, AuditHead } from '../store/index.js';
import { instantQuery, toIsoInstant } from './instants.js';
import type { PassportContext } from './context.js';

export const auditActions = [
  'consent.given',
  'consent.withdrawn',
  'enrolment.sample',
  'enrolment.completed',
  'enrolment.discarded',
  'verification',
  'verification.abandoned',
  'verification.outcome-reported',
  'subject.viewed',
  'subject.exported',
  'subject.erased',
  'retention.purged',
  'history.purged',
  'consent-records.purged',
  'audit.pruned',
  'attempts.reset',
  'policy.updated',
  'key.created',
  'key.revoked',
  'master-key.rotated',
  'store.backed-up',
  'store.restored',
] as const satisfies readonly AuditAction[];

export const auditQuerySchema = z
  .object({
    afterSeq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    action: z.enum(auditActions).optional(),
    from: instantQuery.optional(),
    to: instantQuery.optional(),
  })
  .strict();

export type AuditQuery = z.infer<typeof auditQuerySchema>;

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as ?afterSeq= for the next page; null on the last page. */
  nextAfterSeq: number | null;
  /** The newest entry of the whole log: record it elsewhere to detect later truncation. */
  head: AuditHead | null;
  /** The entry the log continues from once its oldest entries were pruned; null when none were. */
  prunedThrough: AuditHead | null;
}

export function listAudit(ctx: PassportContext, query: AuditQuery): AuditPage {
  const limit = query.limit ?? 100;
  const iso = (t: string | undefined) => (t === undefined ? undefined : toIsoInstant(t));
  const from = iso(query.from);
  const to = iso(query.to);
  const entries = ctx.store.audit.list({
    limit,
    ...(query.afterSeq !== undefined ? { afterSeq: query.afterSeq } : {}),
    ...(query.action !== undefined ? { action: query.action } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  });
  return { entries, nextAfterSeq: entries.length === limit ? entries[entries.length - 1]!.seq : null, head: ctx.store.audit.head(), prunedThrough: ctx.store.audit.prunedThrough() };
}
