/**
 * The API's routes as data: method, Express path, roles and handlers. app.ts mounts them; the same
 * list answers 405 with Allow for a known path with another method, labels metrics by pattern, and
 * documents the roles table.
 */
import type { RequestHandler } from 'express';
import type { ApiKeyRole } from '../store/index.js';

export type HttpMethod = 'get' | 'put' | 'post' | 'delete';

export interface RouteSpec {
  method: HttpMethod;
  /** Express path with `:param` segments, e.g. `/v1/subjects/:id/consent`. */
  path: string;
  /** Roles allowed; null = open (no key needed). */
  roles: readonly ApiKeyRole[] | null;
  handlers: RequestHandler[];
}

/** `/v1/subjects/:id` → /^\/v1\/subjects\/[^/]+\/?$/ (Express matches a trailing slash too). */
export function pathRegex(path: string): RegExp {
  const body = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`, 'i');
}

/** `/v1/subjects/:id` → `/v1/subjects/{id}` (OpenAPI). */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export class RouteTable {
  private readonly compiled: Array<{ pattern: string; regex: RegExp; method: HttpMethod }>;
  /** Every literal (non-parameter) path segment of some route, lower-case. */
  private readonly literals: ReadonlySet<string>;

  constructor(readonly routes: readonly { method: HttpMethod; path: string }[]) {
    this.compiled = routes.map((r) => ({ pattern: r.path, regex: pathRegex(r.path), method: r.method }));
    this.literals = new Set(routes.flatMap((r) => r.path.split('/').filter((seg) => seg !== '' && !seg.startsWith(':')).map((seg) => seg.toLowerCase())));
  }

  /**
   * What a log line may say of a request's path. Paths carry customer ids (/v1/subjects/{id}, …) and
   * the ids of their calls (/v1/verifications/{id}/outcome); logs must not, however the client spelt
   * the path (absolute form, doubled slashes, dot segments, percent-encoded slashes). A path a route
   * matches is logged as that route's pattern; any other keeps only the segments that are literal
   * segments of some route, each other segment shown as `:…`. Never the query string.
   */
  loggablePath(url: string | undefined): string {
    const target = url ?? '';
    let path: string;
    if (target.startsWith('/')) path = target.split('?')[0]!;
    else {
      // Absolute form (RFC 9112 §3.2.2): Express routes its path.
      try {
        path = new URL(target).pathname;
      } catch {
        return ':…';
      }
    }
    const pattern = this.patternFor(path);
    if (pattern !== undefined) return pattern;
    return path
      .split('/')
      .map((seg) => (seg === '' || this.literals.has(seg.toLowerCase()) ? seg : ':…'))
      .join('/');
  }

  /** The route pattern a path belongs to (for metrics labels), or undefined. */
  patternFor(path: string): string | undefined {
    return this.compiled.find((r) => r.regex.test(path))?.pattern;
  }

  /** Methods defined for a path, upper-case, HEAD included where GET is (Express answers HEAD via GET). */
  methodsFor(path: string): string[] {
    const methods = new Set(this.compiled.filter((r) => r.regex.test(path)).map((r) => r.method.toUpperCase()));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }
}
