/**
 * The operator console (`console/` in the package): one page, its script and its style sheet, served
 * at /console/. They hold no data and need no key: the page asks the operator for an operator key
 * and reads the operator API with it, like any client. Only these three files are served (no
 * directory listing, no path from the URL reaches the file system), with `Cache-Control: no-store`
 * and a Content-Security-Policy of their own, stricter than helmet's default for the API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Router, type RequestHandler } from 'express';
import { VoicePassportError } from '../errors.js';
import { findPackageDir } from '../package-dir.js';
import type { RouteSpec } from './route-table.js';

/**
 * Only this package's script and style sheet, fetches to this origin, no forms (the key must never be
 * submitted as a URL query, even if the script failed to load), no framing. No
 * `upgrade-insecure-requests` (helmet's default has it): on a plain-HTTP address other than
 * localhost it sent the page's own script and style sheet to https://, and the page did not work.
 */
export const consoleContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const page = 'index.html';
const assets = { '/console/console.js': 'console.js', '/console/console.css': 'console.css' } as const;

/**
 * The console's paths as open routes, for the route table (405 with Allow, metrics labels).
 * `/console` stands for `/console/` too, as Express matches a trailing slash.
 */
export const consoleRoutes: RouteSpec[] = ['/console', ...Object.keys(assets)].map((p) => ({ method: 'get' as const, path: p, roles: null, handlers: [] }));

/** The console folder shipped with the package; every file it serves must be there. */
export function defaultConsoleDir(): string {
  const dir = findPackageDir('console');
  for (const file of [page, ...Object.values(assets)]) {
    if (!fs.existsSync(path.join(dir, file))) throw new VoicePassportError('config-invalid', `The operator console file ${file} is missing from ${dir}.`);
  }
  return dir;
}

export function consoleRouter(dir: string): Router {
  const router = Router();
  const send = (file: string): RequestHandler => (_req, res, next) => {
    res.setHeader('Content-Security-Policy', consoleContentSecurityPolicy);
    res.sendFile(file, { root: dir, cacheControl: false, lastModified: false, etag: false, dotfiles: 'deny' }, (err) => {
      if (err) next(err);
    });
  };
  const sendPage = send(page);
  // The page lives at /console/, under which its relative links resolve; /console redirects there.
  router.get('/console', (req, res, next) => {
    if (req.path.endsWith('/')) sendPage(req, res, next);
    else res.redirect(301, '/console/');
  });
  for (const [urlPath, file] of Object.entries(assets)) router.get(urlPath, send(file));
  return router;
}
