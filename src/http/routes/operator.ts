/** Operator routes: policies, statistics, audit, lockout reset, metrics. Aggregates only, never biometric data. */
import type { Request } from 'express';
import { z } from 'zod';
import { VoicePassportError } from '../../errors.js';
import { listAudit, auditQuerySchema } from '../../passport/audit.js';
import { currentPoliciesVersion, listPolicies, replacePolicies, replacePoliciesSchemaFor } from '../../passport/policies.js';
import { operatorStats, statsQuerySchema } from '../../passport/stats.js';
import { resetLockout } from '../../passport/subjects.js';
import type { ApiDeps } from '../api.js';
import { actorOf } from '../auth.js';
import { jsonBody } from '../bodies.js';
import type { RouteSpec } from '../route-table.js';
import { parseOrThrow } from '../validation.js';

const noQuery = z.object({}).strict();
const param = (req: Request, name: string): string => String(req.params[name] ?? '');

/**
 * If-Match (RFC 9110 §13.1.1): "*", or a list of entity tags compared strongly (a weak tag never
 * matches). Undefined without the header: the PUT then applies as before.
 */
function ifMatchOf(req: Request): { versions: string[] } | 'any' | undefined {
  const header = req.headers['if-match'];
  if (header === undefined) return undefined;
  if (header.trim() === '*') return 'any';
  const tags = header.split(',').map((t) => t.trim());
  if (tags.some((t) => !/^(W\/)?"[\x21\x23-\x7e]*"$/.test(t))) {
    throw new VoicePassportError('validation-failed', 'If-Match must be "*" or a list of entity tags such as "3f2a…" (RFC 9110 §8.8.3), as GET /v1/operator/policies sends in its ETag.');
  }
  return { versions: tags.filter((t) => !t.startsWith('W/')).map((t) => t.slice(1, -1)) };
}

export function operatorRoutes(deps: ApiDeps): RouteSpec[] {
  const ctx = deps.passport;
  const routes: RouteSpec[] = [
    {
      method: 'get',
      path: '/v1/operator/policies',
      roles: ['operator'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          const view = listPolicies(ctx);
          res.setHeader('ETag', `"${currentPoliciesVersion(ctx)}"`);
          res.json(view);
        },
      ],
    },
    {
      method: 'put',
      path: '/v1/operator/policies',
      roles: ['operator'],
      handlers: [
        jsonBody,
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          // Explicit thresholds are on the running model's comparison scale: a cosine model refuses values outside [-1, 1].
          const input = parseOrThrow(replacePoliciesSchemaFor(ctx.scorer.scale), req.body, 'body');
          const view = replacePolicies(ctx, actorOf(res), input, ifMatchOf(req));
          res.setHeader('ETag', `"${currentPoliciesVersion(ctx)}"`);
          res.json(view);
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/operator/stats',
      roles: ['operator'],
      handlers: [(req, res) => res.json(operatorStats(ctx, parseOrThrow(statsQuerySchema, req.query, 'query')))],
    },
    {
      method: 'get',
      path: '/v1/audit',
      roles: ['operator'],
      handlers: [(req, res) => res.json(listAudit(ctx, parseOrThrow(auditQuerySchema, req.query, 'query')))],
    },
    {
      method: 'post',
      path: '/v1/operator/subjects/:id/reset-lockout',
      roles: ['operator'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          res.json(resetLockout(ctx, actorOf(res), param(req, 'id')));
        },
      ],
    },
  ];
  const metrics = deps.metrics;
  if (metrics) {
    routes.push({
      method: 'get',
      path: '/metrics',
      // Operator key required: see src/observability/metrics.ts for why.
      roles: ['operator'],
      handlers: [
        async (_req, res) => {
          const body = await metrics.registry.metrics();
          res.type(metrics.registry.contentType).send(body);
        },
      ],
    });
  }
  return routes;
}
