import express from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { errorCatalogue, errorCodes, VoicePassportError } from '../../src/errors.js';
import { problemBody, problemErrorHandler } from '../../src/http/problem.js';

function appThrowing(err: unknown) {
  const app = express();
  app.get('/x', () => {
    throw err;
  });
  app.post('/json', express.json({ limit: 10 }), (_req, res) => {
    res.json({});
  });
  app.use(problemErrorHandler);
  return app;
}

describe('an error after the answer began', () => {
  it('cuts the connection (nothing appended to the partial answer) and logs it with the request, not on stderr', async () => {
    const logged: Array<{ msg: string; err: { message: string } }> = [];
    const app = express();
    app.use((req, _res, next) => {
      (req as unknown as { log: { error: (o: { err: Error }, msg: string) => void } }).log = { error: (o, msg) => void logged.push({ msg, err: { message: o.err.message } }) };
      next();
    });
    app.get('/file', (_req, res, next) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '100' });
      res.write('the first part');
      next(new Error('EIO: the rest could not be read'));
    });
    app.use(problemErrorHandler);
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(request(app).get('/file')).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
      expect(logged).toEqual([{ msg: 'request failed after its answer began; connection cut', err: { message: 'EIO: the rest could not be read' } }]);
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('problem+json rendering', () => {
  it('every catalogue code renders with its own status and title', () => {
    for (const code of errorCodes) {
      const body = problemBody(new VoicePassportError(code, 'why'));
      expect(body.status).toBe(errorCatalogue[code].status);
      expect(body.title).toBe(errorCatalogue[code].title);
      expect(body.type).toBe(`https://voice-passport.dev/problems/${code}`);
    }
  });

  it('details become extension members without overriding standard members', () => {
    const body = problemBody(new VoicePassportError('insufficient-speech', 'need more', { netSpeechSeconds: 1.5, status: 999 }));
    expect(body.netSpeechSeconds).toBe(1.5);
    expect(body.status).toBe(422);
  });

  it('sets Retry-After from the error', async () => {
    const res = await request(appThrowing(new VoicePassportError('overloaded', 'queue full', undefined, 2.2))).get('/x');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.body.code).toBe('overloaded');
  });

  it('unexpected errors become a 500 that leaks nothing', async () => {
    const res = await request(appThrowing(new Error('SQLITE_CORRUPT at /var/lib/secret.db'))).get('/x');
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('internal');
    expect(JSON.stringify(res.body)).not.toContain('SQLITE');
    expect(JSON.stringify(res.body)).not.toContain('/var/lib');
  });

  it.each(['model-invalid', 'config-invalid', 'internal'] as const)('a %s met while serving is a 500 that shows none of its message', async (code) => {
    const res = await request(appThrowing(new VoicePassportError(code, 'model vp-x: output embs has shape [1,7], expected [1,192] in /srv/models/vp-x.onnx', { path: '/srv/models' }))).get('/x');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      type: 'https://voice-passport.dev/problems/internal',
      title: 'Internal error',
      status: 500,
      code: 'internal',
      detail: 'An unexpected error occurred; quote the requestId when reporting it.',
      instance: '/x',
    });
  });

  it('maps body-parser failures to catalogue codes', async () => {
    const app = appThrowing(null);
    const bad = await request(app).post('/json').set('Content-Type', 'application/json').send('{"a":');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation-failed');
    const big = await request(app).post('/json').set('Content-Type', 'application/json').send('{"a":"0123456789"}');
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('payload-too-large');
  });
});
