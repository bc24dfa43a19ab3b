/** Admin routes: API keys. The secret of a new key is in the 201 response and nowhere else. */
import type { Request } from 'express';
import { z } from 'zod';
import { createKey, createKeySchema, listKeys, revokeKey } from '../../passport/api-keys.js';
import type { ApiDeps } from '../api.js';
import { actorOf } from '../auth.js';
import { jsonBody } from '../bodies.js';
import type { RouteSpec } from '../route-table.js';
import { parseOrThrow } from '../validation.js';

const noQuery = z.object({}).strict();
const param = (req: Request, name: string): string => String(req.params[name] ?? '');

export function adminRoutes(deps: ApiDeps): RouteSpec[] {
  const store = deps.passport.store;
  return [
    {
      method: 'get',
      path: '/v1/admin/keys',
      roles: ['admin'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          res.json(listKeys(store));
        },
      ],
    },
    {
      method: 'post',
      path: '/v1/admin/keys',
      roles: ['admin'],
      handlers: [
        jsonBody,
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          res.status(201).json(createKey(store, actorOf(res), parseOrThrow(createKeySchema, req.body, 'body')));
        },
      ],
    },
    {
      method: 'delete',
      path: '/v1/admin/keys/:keyId',
      roles: ['admin'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          const revoked = revokeKey(store, actorOf(res), param(req, 'keyId'));
          // A revoked key also stops the streams it has open, not only its next requests.
          deps.streams?.endStreamsOf(revoked.id);
          res.json(revoked);
        },
      ],
    },
  ];
}
