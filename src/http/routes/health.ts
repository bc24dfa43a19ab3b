import { Router } from 'express';

export interface ReadinessCheck {
  /** Name shown in /readyz, e.g. "model", "database". */
  name: string;
  ready: () => boolean;
}

/**
 * /healthz: the process is alive and its event loop answers (for restarts).
 * /readyz: every dependency is usable (for load balancers): model loaded, database open, and the
 * service is not stopping.
 */
export function healthRoutes(checks: readonly ReadinessCheck[]): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const results = Object.fromEntries(checks.map((c) => [c.name, safeCheck(c)]));
    const ready = Object.values(results).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks: results });
  });
  return router;
}

function safeCheck(check: ReadinessCheck): boolean {
  try {
    return check.ready();
  } catch {
    return false;
  }
}
