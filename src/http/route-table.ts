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

  constructor(readonly routes: readonly { method: HttpMethod; path: string }[]) {
    this.compiled = routes.map((r) => ({ pattern: r.path, regex: pathRegex(r.path), method: r.method }));
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
