/**
 * Subject routes: consent, notices, enrolment, verification and its reported outcome, access and
 * erasure. Each handler parses the request, calls one use case and sends its result; the rules live
 * in src/passport/.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { isVoicePassportError } from '../../errors.js';
import { giveConsent, giveConsentSchema, getConsentNotice, listConsentNotices, localePattern, withdrawConsent } from '../../passport/consent.js';
import { enrol } from '../../passport/enrolment.js';
import { runIdempotent } from '../../passport/idempotency.js';
import { reportOutcome, reportOutcomeSchema } from '../../passport/outcomes.js';
import { eraseSubject, exportSubject, viewSubject } from '../../passport/subjects.js';
import { retryAfterSecondsAt, verify } from '../../passport/verification.js';
import { preferredLanguages } from '../accept-language.js';
import type { ApiDeps } from '../api.js';
import { actorOf } from '../auth.js';
import { audioBodyLimitBytes, audioReader, jsonBody } from '../bodies.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import type { RouteSpec } from '../route-table.js';
import { parseOrThrow } from '../validation.js';

const noQuery = z.object({}).strict();
const verifyQuery = z.object({ policy: z.string().max(64).optional() }).strict();
const noticeQuery = z.object({ locale: z.string().regex(localePattern).optional() }).strict();
const verificationPath = z.object({ verificationId: z.uuid('a verification id as answered by the verification (a UUID)') });

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

function send(res: Response, status: number, body: unknown): void {
  res.status(status).json(body);
}

export function subjectRoutes(deps: ApiDeps): RouteSpec[] {
  const ctx = deps.passport;
  const audioLimit = audioBodyLimitBytes(deps.maxAudioSeconds);

  return [
    {
      method: 'put',
      path: '/v1/subjects/:id/consent',
      roles: ['telephony', 'enrolment'],
      handlers: [
        jsonBody,
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          const input = parseOrThrow(giveConsentSchema, req.body, 'body');
          send(res, 200, giveConsent(ctx, actorOf(res), param(req, 'id'), input));
        },
      ],
    },
    {
      method: 'delete',
      path: '/v1/subjects/:id/consent',
      // Art. 7(3): withdrawing must be as easy as giving, so every channel that records consent may withdraw it.
      roles: ['telephony', 'enrolment'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          send(res, 200, withdrawConsent(ctx, actorOf(res), param(req, 'id')));
        },
      ],
    },
    {
      method: 'put',
      path: '/v1/verifications/:verificationId/outcome',
      // The platform knows what the call showed next (step-up, agent); operators add investigations and customers' reports.
      roles: ['telephony', 'operator'],
      handlers: [
        jsonBody,
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          const { verificationId } = parseOrThrow(verificationPath, req.params, 'path');
          const { assessmentChanged, ...r } = reportOutcome(ctx, actorOf(res), verificationId, parseOrThrow(reportOutcomeSchema, req.body, 'body'));
          // Counted when the call's assessment changes: a retried PUT is not a second fraud report.
          if (assessmentChanged) deps.metrics?.reportedOutcomes.inc({ policy: r.policy, assessment: r.assessment });
          send(res, 200, r);
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/consent-notices',
      roles: ['telephony', 'enrolment', 'operator'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          send(res, 200, listConsentNotices(ctx));
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/consent-notices/:version',
      roles: ['telephony', 'enrolment', 'operator'],
      handlers: [
        (req, res) => {
          const q = parseOrThrow(noticeQuery, req.query, 'query');
          const explicit = q.locale !== undefined;
          const preferred = explicit ? [q.locale!] : preferredLanguages(req.headers['accept-language']);
          const r = getConsentNotice(ctx, param(req, 'version'), preferred, explicit);
          if (r.notices.length === 1) res.setHeader('Content-Language', r.notices[0]!.locale);
          res.vary('Accept-Language');
          send(res, 200, r);
        },
      ],
    },
    {
      method: 'post',
      path: '/v1/subjects/:id/enrolments',
      roles: ['enrolment'],
      handlers: [
        async (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          const key = idempotencyKeyOf(req);
          const actor = actorOf(res);
          const customerId = param(req, 'id');
          const readAudio = audioReader(req, res, audioLimit);
          try {
            const request = key === undefined ? undefined : { key, operation: 'enrol' as const, customerId, parameters: '' };
            const { result: r, replayed } = await runIdempotent(ctx, actor, request, readAudio, (read) => enrol(ctx, actor, customerId, read));
            if (replayed) res.setHeader('Idempotent-Replayed', 'true');
            else deps.metrics?.enrolmentSamples.inc({ outcome: r.feedback.includes('not-same-speaker') ? 'not-same-speaker' : r.status === 'enrolled' ? 'enrolled' : 'accepted' });
            send(res, 200, r);
          } catch (e) {
            if (isVoicePassportError(e) && (e.code === 'insufficient-speech' || e.code === 'poor-audio-quality' || e.code === 'duplicate-sample')) deps.metrics?.enrolmentSamples.inc({ outcome: 'rejected' });
            throw e;
          } finally {
            readAudio.wipe();
          }
        },
      ],
    },
    {
      method: 'post',
      path: '/v1/subjects/:id/verifications',
      roles: ['telephony'],
      handlers: [
        async (req, res) => {
          const q = parseOrThrow(verifyQuery, req.query, 'query');
          const key = idempotencyKeyOf(req);
          const actor = actorOf(res);
          const customerId = param(req, 'id');
          const readAudio = audioReader(req, res, audioLimit);
          try {
            const request = key === undefined ? undefined : { key, operation: 'verify' as const, customerId, parameters: `policy=${q.policy ?? ''}` };
            const { result: r, replayed } = await runIdempotent(ctx, actor, request, readAudio, (read) => verify(ctx, actor, customerId, q.policy, read));
            // A replay is the first call's answer again, not a new decision.
            if (replayed) res.setHeader('Idempotent-Replayed', 'true');
            else deps.metrics?.decisions.inc({ policy: r.policy, decision: r.decision, channel: r.channel ?? 'none' });
            const retryAfter = replayed ? retryAfterSecondsAt(r, ctx.clock()) : r.retryAfterSeconds;
            if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
            send(res, 200, r);
          } finally {
            readAudio.wipe();
          }
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/subjects/:id',
      roles: ['enrolment'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          send(res, 200, viewSubject(ctx, actorOf(res), param(req, 'id')));
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/subjects/:id/export',
      roles: ['enrolment'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          res.setHeader('Content-Disposition', 'attachment; filename="voice-passport-export.json"');
          send(res, 200, exportSubject(ctx, actorOf(res), param(req, 'id')));
        },
      ],
    },
    {
      method: 'delete',
      path: '/v1/subjects/:id',
      roles: ['enrolment'],
      handlers: [
        (req, res) => {
          parseOrThrow(noQuery, req.query, 'query');
          send(res, 200, { receipt: eraseSubject(ctx, actorOf(res), param(req, 'id')) });
        },
      ],
    },
  ];
}
