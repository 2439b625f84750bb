// A cycle, harmless: job-secrets builds on this module, which uses its rule and placeholder only when called.
import { isCredentialName, MASK } from './job-secrets.js';
import { SEALED_PREFIX } from './sealed.js';

/**
 * Credentials written in a URL (`https://user:password@host/…?api_key=…`) are secrets like a header's: the
 * userinfo, and the value of each query parameter whose name is credential-like (the rule of
 * `payload.query`). They are sealed in place, so the rest of the URL (scheme, host, path, other parameters)
 * stays readable in responses and events: `https://••••••@host/path?api_key=••••••&page=2`.
 *
 * A URL with credentials is kept in its standard form (as the WHATWG parser writes it, which is what a run
 * sends anyway: `'` becomes `%27`, the host lower case); one without is kept exactly as written. A part is
 * sealed as its text appears in that form, and the sealed value put back percent-encoded
 * (`sealed%3Av1%3A…`): parsing and serializing the URL leave it unchanged, and opening it gives back the URL.
 */

const EMBEDDED_PREFIX = encodeURIComponent(SEALED_PREFIX);
const EMBEDDED_SEALED = new RegExp(`${EMBEDDED_PREFIX}[A-Za-z0-9_-]+`, 'g');
const WHOLLY_EMBEDDED = new RegExp(`^${EMBEDDED_PREFIX}[A-Za-z0-9_-]+$`);
/** Shorter parts (a user name, a password alone) are not searched for on their own: they would mask ordinary words. */
const MIN_FRAGMENT = 4;

/** Which part of a URL a credential is: its userinfo, or the value of the query parameter `name`. */
export type UrlPart = { kind: 'userinfo' } | { kind: 'query'; name: string };

export const hasEmbeddedSealed = (text: string): boolean => text.includes(EMBEDDED_PREFIX);

/** `text` with every sealed value it embeds replaced by `replace(sealed)`. */
export const replaceEmbeddedSealed = (text: string, replace: (sealed: string) => string): string =>
  text.replace(EMBEDDED_SEALED, (embedded) => replace(decodeURIComponent(embedded)));

interface CredentialParts {
  url: URL;
  /** `user:password` as the URL writes it, or null. */
  userinfo: string | null;
  /** The query string split at `&`, as written. */
  pieces: string[];
  /** The credential-like parameters with a value: their piece, name (decoded) and value (as written). */
  query: { index: number; name: string; value: string }[];
}

function credentialParts(text: string): CredentialParts | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const userinfo = url.username || url.password ? `${url.username}${url.password ? `:${url.password}` : ''}` : null;
  const pieces = url.search ? url.search.slice(1).split('&') : [];
  const query = pieces.flatMap((piece, index) => {
    const equals = piece.indexOf('=');
    const name = decodeFormComponent(piece.slice(0, equals));
    const value = piece.slice(equals + 1);
    return equals > 0 && value !== '' && isCredentialName(name) ? [{ index, name, value }] : [];
  });
  return userinfo === null && query.length === 0 ? null : { url, userinfo, pieces, query };
}

/**
 * The URL with each credential part replaced by `replace(part as written, which)`; `text` itself when it
 * has none (or is not a URL).
 */
export function rewriteUrlCredentials(text: string, replace: (written: string, part: UrlPart) => string): string {
  const parts = credentialParts(text);
  if (!parts) return text;
  const { url, userinfo, pieces, query } = parts;
  for (const { index, name, value } of query) pieces[index] = `${pieces[index]!.slice(0, pieces[index]!.indexOf('=') + 1)}${replace(value, { kind: 'query', name })}`;
  const authority = userinfo === null ? url.host : `${replace(userinfo, { kind: 'userinfo' })}@${url.host}`;
  return `${url.protocol}//${authority}${url.pathname}${pieces.length > 0 ? `?${pieces.join('&')}` : ''}${url.hash}`;
}

/** The credential parts of a URL as written, by part (for keeping them on an update). */
export function urlCredentials(text: string): { part: UrlPart; written: string }[] {
  const found: { part: UrlPart; written: string }[] = [];
  rewriteUrlCredentials(text, (written, part) => {
    found.push({ part, written });
    return written;
  });
  return found;
}

export const isWhollySealed = (written: string): boolean => WHOLLY_EMBEDDED.test(written);
export const embedSealed = (sealed: string): string => encodeURIComponent(sealed);
/** Whether a part as written is the placeholder a client sent back (`••••••`, raw or percent-encoded). */
export const isMaskedPart = (written: string): boolean => decodeFormComponent(written) === MASK;

/**
 * What a run may let out of a URL's plaintext credentials, to be masked wherever it shows: each part as
 * written and decoded, and for the userinfo the user and password, `user:password` and its base64 (the
 * `Authorization: Basic` header a client derives from it).
 */
export function urlSecretValues(text: string): string[] {
  const values = new Set<string>();
  const parts = credentialParts(text);
  if (!parts) return [];
  if (parts.userinfo !== null && !isWhollySealed(parts.userinfo)) {
    const user = decodeFormComponent(parts.url.username, false);
    const password = decodeFormComponent(parts.url.password, false);
    values.add(parts.userinfo);
    values.add(`${user}:${password}`);
    values.add(Buffer.from(`${user}:${password}`).toString('base64'));
    // A user name without a password is the credential itself (a token as user name).
    for (const fragment of password ? [password] : [user]) if (fragment.length >= MIN_FRAGMENT) values.add(fragment);
  }
  for (const { value } of parts.query) {
    if (isWhollySealed(value)) continue;
    values.add(value);
    values.add(decodeFormComponent(value));
  }
  return [...values].filter(Boolean);
}

/** A component of a URL decoded (`+` as a space in a query), or as written when it is not valid percent-encoding. */
function decodeFormComponent(written: string, plusIsSpace = true): string {
  try {
    return decodeURIComponent(plusIsSpace ? written.replace(/\+/g, ' ') : written);
  } catch {
    return written;
  }
}
