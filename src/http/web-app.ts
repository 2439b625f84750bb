import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

/** Where `npm run build` puts the web dashboard (web/, built by Vite): dist/web, from src/ or dist/ alike. */
export const WEB_APP_DIR = fileURLToPath(new URL('../../dist/web', import.meta.url));

/**
 * The dashboard's routes (web/src/main.tsx; test/web-routes.e2e.test.ts keeps the two in step): a browser's
 * navigation to one of them gets the app. Every other path is the server's, and answers problem+json when unknown.
 */
const DASHBOARD_ROUTES = /^\/(?:$|(?:sign-in|register|jobs|executions|dead-letters|admin)(?:\/|$))/;

/**
 * The web dashboard at `/`: its files, and its index.html for a browser's navigation to one of its routes, so
 * that a deep link (/jobs/<id>) survives a reload; the app's router takes it from there. Hashed assets are
 * cached for good, index.html never (a new build is picked up at once). Requests that do not ask for HTML (API
 * clients, `curl`) and paths outside the dashboard's routes fall through to Chronos's 404 problem. Undefined
 * when the dashboard was not built: the API runs without it.
 */
export function webApp(dir = WEB_APP_DIR): RequestHandler | undefined {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return undefined;
  const files = express.static(dir, {
    index: false,
    setHeaders: (res, path) => res.setHeader('Cache-Control', path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    files(req, res, () => {
      if (!DASHBOARD_ROUTES.test(req.path) || req.accepts(['json', 'html']) !== 'html') return next();
      res.sendFile(index, { headers: { 'Cache-Control': 'no-cache' } });
    });
  };
}
