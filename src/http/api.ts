/** The authenticated API: its dependencies and its routes (thin: parse → use case → respond). */
import type { PassportContext } from '../passport/context.js';
import type { Metrics } from '../observability/metrics.js';
import type { RouteSpec } from './route-table.js';
import { adminRoutes } from './routes/admin.js';
import { operatorRoutes } from './routes/operator.js';
import { subjectRoutes } from './routes/subjects.js';

export interface ApiDeps {
  passport: PassportContext;
  /** Requests per minute per API key. */
  rateLimitPerMinute: number;
  /** VP_MAX_AUDIO_SECONDS: sets the audio body limit. */
  maxAudioSeconds: number;
  metrics?: Metrics;
}

export function apiRoutes(deps: ApiDeps): RouteSpec[] {
  return [...subjectRoutes(deps), ...operatorRoutes(deps), ...adminRoutes(deps)];
}
