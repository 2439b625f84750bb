import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

/** Where `npm run build` puts the web dashboard (web/, built by Vite): dist/web, from src/ or dist/ alike. */
export const WEB_APP_DIR = fileURLToPath(new URL('../../dist/web', import.meta.url));

/** Paths that are Chronos's own, never the dashboard's: they answer as they always did (problem+json when unknown). */
const SERVER_PATHS = /^\/(?:api|docs|docs-json|health|metrics|asyncapi\.json)(?:[/.?-]|$)/;

/**
 * The web dashboard at `/`: its files, and its index.html for any other browser navigation, so that a deep
 * link (/jobs/<id>) survives a reload; the app's router takes it from there. Hashed assets are cached for
 * good, index.html never (a new build is picked up at once). Requests that do not ask for HTML (API clients,
 * `curl`) fall through to Chronos's 404 problem. Undefined when the dashboard was not built: the API runs
 * without it.
 */
export function webApp(dir = WEB_APP_DIR): RequestHandler | undefined {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return undefined;
  const files = express.static(dir, {
    index: false,
    setHeaders: (res, path) => res.setHeader('Cache-Control', path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || SERVER_PATHS.test(req.path)) return next();
    files(req, res, () => {
      if (req.accepts(['json', 'html']) !== 'html') return next();
      res.sendFile(index, { headers: { 'Cache-Control': 'no-cache' } });
    });
  };
}
