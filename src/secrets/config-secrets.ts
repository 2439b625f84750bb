import type { ChronosConfig } from '../config.js';

/**
 * Secrets of the configuration itself, which must never appear in a log entry, a response or an event:
 * SMTP_URL's credentials, JWT_SECRET, CHRONOS_SECRETS_KEY (and its legacy predecessor), METRICS_TOKEN. Pass
 * the result to maskText.
 */
export function configSecrets(config: Pick<ChronosConfig, 'smtp' | 'auth' | 'secrets' | 'metrics'>): string[] {
  const { secretsKey = '', legacyJwtSecret = '' } = config.secrets;
  return [config.auth.jwtSecret, secretsKey, legacyJwtSecret, config.metrics.token ?? '', ...urlCredentials(config.smtp.url)].filter((s) => s.length > 0);
}

/** The user name and password of a URL (`smtp://user:pass@host`), as written and decoded. */
export function urlCredentials(url: string | undefined): string[] {
  if (!url) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const found = new Set<string>();
  for (const part of [parsed.username, parsed.password]) {
    if (!part) continue;
    found.add(part);
    try {
      found.add(decodeURIComponent(part));
    } catch {
      // not valid percent-encoding: the raw form is enough
    }
  }
  return [...found];
}
