/** Operator routes: policies, statistics, audit, lockout reset, metrics. Aggregates only, never biometric data. */
import type { Request } from 'express';
import { z } from 'zod';
import { listAudit, auditQuerySchema } from '../../passport/audit.js';
import { listPolicies, replacePolicies, replacePoliciesSchemaFor } from '../../passport/policies.js';
import { operatorStats, statsQuerySchema } from '../../passport/stats.js';
import { resetLockout } from '../../passport/subjects.js';
import type { ApiDeps } from '../api.js';
import { actorOf } from '../auth.js';
import { jsonBody } from '../bodies.js';
import type { RouteSpec } from '../route-table.js';
import { parseOrThrow } from '../validation.js';

const noQuery = z.object({}).strict();
const param = (req: Request, name: string): string => String(req.params[name] ?? '');

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
          res.json(listPolicies(ctx));
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
          res.json(replacePolicies(ctx, actorOf(res), parseOrThrow(replacePoliciesSchemaFor(ctx.scorer.scale), req.body, 'body')));
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
