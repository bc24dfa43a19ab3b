/** The authenticated API: its dependencies and its routes (thin: parse → use case → respond). */
import type { PassportContext } from '../passport/context.js';
import type { Metrics } from '../observability/metrics.js';
import type { RouteSpec } from './route-table.js';
import { adminRoutes } from './routes/admin.js';
import { operatorRoutes } from './routes/operator.js';
import { subjectRoutes } from './routes/subjects.js';
import type { VerificationStreams } from './verification-stream.js';

export interface ApiDeps {
  passport: PassportContext;
  /** Requests per minute per API key. */
  rateLimitPerMinute: number;
  /** VP_MAX_AUDIO_SECONDS: sets the audio body limit. */
  maxAudioSeconds: number;
  metrics?: Metrics;
  /**
   * Streaming verification (GET …/verifications/stream). Its WebSocket handshakes reach the app only
   * through the server's upgrade listener (upgradeThroughApp); without it the route is not served.
   */
  streams?: VerificationStreams;
}

export function apiRoutes(deps: ApiDeps): RouteSpec[] {
  return [...subjectRoutes(deps), ...(deps.streams ? [deps.streams.route()] : []), ...operatorRoutes(deps), ...adminRoutes(deps)];
}
