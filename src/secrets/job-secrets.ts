import { ValidationError } from '../domain/errors.js';
import { isSealed, open, seal } from './sealed.js';
import { embedSealed, hasEmbeddedSealed, isMaskedPart, isWhollySealed, replaceEmbeddedSealed, rewriteUrlCredentials, urlCredentials, urlSecretValues, type UrlPart } from './url-secrets.js';

/**
 * Which values of a job's spec are secrets, and the pure transformations over them: sealing for storage,
 * opening for a run, masking for responses, and masking known secret values in free text.
 *
 * A secret is, whatever the job's type:
 * - `notifications.webhookSecret`;
 * - `payload.secret` (webhook jobs);
 * - each `payload.headers` value whose name is credential-like (Authorization, Proxy-Authorization, Cookie,
 *   X-Api-Key, anything matching CREDENTIAL_NAME);
 * - each `payload.query` value whose name is credential-like (`?api_key=`, `?token=`: the same leak as a header);
 * - every value of `payload.env` (script jobs);
 * - the credentials written in `payload.url` and `notifications.webhookUrl`: userinfo (`user:password@`) and
 *   credential-like query parameters, sealed in place (url-secrets.ts).
 */
export const MASK = '••••••';

/** Names of headers and query parameters that carry credentials. */
export const CREDENTIAL_NAME = /token|secret|key|auth|password|passwd|cookie|credential/i;

export type SecretPath = readonly string[];

/** Where a spec holds URLs, whose credentials are secrets too. */
const URL_PATHS: SecretPath[] = [
  ['payload', 'url'],
  ['notifications', 'webhookUrl'],
];

/** Anything shaped like a spec: a JobSpec, or a request body not yet validated. */
export type SpecLike = { payload?: unknown; notifications?: unknown };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

/** The paths of the spec's secret values that are present (not undefined or null). */
export function secretPaths(spec: SpecLike): SecretPath[] {
  const paths: SecretPath[] = [];
  const present = (value: unknown) => value !== undefined && value !== null;
  if (isObject(spec.notifications) && present(spec.notifications.webhookSecret)) paths.push(['notifications', 'webhookSecret']);
  const payload = spec.payload;
  if (!isObject(payload)) return paths;
  if (present(payload.secret)) paths.push(['payload', 'secret']);
  for (const field of ['headers', 'query'] as const) {
    const record = payload[field];
    if (!isObject(record)) continue;
    for (const [name, value] of Object.entries(record)) if (isCredentialName(name) && present(value)) paths.push(['payload', field, name]);
  }
  if (isObject(payload.env)) {
    for (const [name, value] of Object.entries(payload.env)) if (present(value)) paths.push(['payload', 'env', name]);
  }
  return paths;
}

function get(root: unknown, path: SecretPath): unknown {
  let node = root;
  for (const step of path) {
    if (!isObject(node)) return undefined;
    node = node[step];
  }
  return node;
}

/** A copy of `spec` with the value at each secret path replaced by `replace(value, path)`. */
function mapSecrets<T extends SpecLike>(spec: T, replace: (value: unknown, path: SecretPath) => unknown, paths = secretPaths(spec)): T {
  if (paths.length === 0) return spec;
  const copy = structuredClone(spec);
  for (const path of paths) {
    const parent = get(copy, path.slice(0, -1)) as Json;
    const name = path[path.length - 1]!;
    parent[name] = replace(parent[name], path);
  }
  return copy;
}

/** A copy of `spec` with each URL it holds replaced by `replace(url, path)` (`spec` itself when none changes). */
function mapUrls<T extends SpecLike>(spec: T, replace: (url: string, path: SecretPath) => string): T {
  let copy: T | undefined;
  for (const path of URL_PATHS) {
    const url = get(spec, path);
    if (typeof url !== 'string') continue;
    const next = replace(url, path);
    if (next === url) continue;
    copy ??= structuredClone(spec);
    (get(copy, path.slice(0, -1)) as Json)[path[path.length - 1]!] = next;
  }
  return copy ?? spec;
}

/** Whether the spec holds a secret not yet sealed (or a placeholder to refuse): sealSpec has work to do. */
export function hasSecrets(spec: SpecLike): boolean {
  if (secretPaths(spec).length > 0) return true;
  return URL_PATHS.some((path) => {
    const url = get(spec, path);
    return typeof url === 'string' && urlCredentials(url).some(({ written }) => !isWhollySealed(written));
  });
}

/** A string as it may be shown: a sealed value, whole or inside a URL, becomes MASK. */
const hideSealed = (text: string): string => (isSealed(text) ? MASK : hasEmbeddedSealed(text) ? replaceEmbeddedSealed(text, () => MASK) : text);

/** Applies `replace` to every string anywhere under `value` (a copy; `value` is unchanged). */
function mapStrings(value: unknown, replace: (text: string) => unknown): unknown {
  if (typeof value === 'string') return replace(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, replace));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, replace)]));
  return value;
}

/** A spec whose values sent back masked would be stored as the placeholder: the caller must merge first (mergeMasked). */
export class MaskedSecretError extends ValidationError {
  constructor(path: SecretPath) {
    super('SECRET_MASKED', `${path.join('.')} is the masked placeholder "${MASK}" but the job has no such secret to keep: send its value`, [
      { field: path.join('.'), message: `send the secret's value ("${MASK}" keeps an existing one only)` },
    ]);
  }
}

/** The spec with each secret sealed under the job's key. Idempotent: values already sealed stay as they are. */
export function sealSpec<T extends SpecLike>(spec: T, key: Buffer, jobId: string): T {
  const sealed = mapSecrets(spec, (value, path) => {
    if (isSealed(value)) return value;
    if (value === MASK) throw new MaskedSecretError(path);
    return seal(typeof value === 'string' ? value : JSON.stringify(value), key, jobId);
  });
  return mapUrls(sealed, (url, path) =>
    rewriteUrlCredentials(url, (written) => {
      if (isWhollySealed(written)) return written;
      if (isMaskedPart(written)) throw new MaskedSecretError(path);
      return embedSealed(seal(written, key, jobId));
    }),
  );
}

/**
 * The spec with every sealed value opened, for a run (never for a response, a log or an event). Values
 * stored before secrets were sealed are plaintext and stay so. Throws SealedValueError if one does not open.
 */
export function openSpec<T extends SpecLike>(spec: T, key: Buffer, jobId: string): T {
  const reveal = (text: string) => (isSealed(text) ? open(text, key, jobId) : hasEmbeddedSealed(text) ? replaceEmbeddedSealed(text, (sealed) => open(sealed, key, jobId)) : text);
  const { payload, notifications } = spec;
  return { ...spec, payload: mapStrings(payload, reveal), notifications: mapStrings(notifications, reveal) };
}

/** The spec as an API response shows it: each secret (sealed or not) → MASK, whatever its length. */
export function maskSpec<T extends SpecLike>(spec: T): T {
  const masked = mapUrls(mapSecrets(spec, () => MASK), maskUrl);
  // A sealed value the rules no longer see as a secret (a renamed header) is still not for a response.
  const { payload, notifications } = masked;
  return { ...masked, payload: mapStrings(payload, hideSealed), notifications: mapStrings(notifications, hideSealed) };
}

/**
 * The `data` of a stored event as a response shows it (`GET /jobs/:id/events`): a `spec` in it masked
 * (JobCreated, JobUpdated), and any other sealed value too.
 */
export function maskEventData<T>(data: T): T {
  if (!isObject(data)) return mapStrings(data, hideSealed) as T;
  // Beside the spec, a URL an event records (a notification's `to`) shows its credentials masked.
  const entries = Object.entries(data).map(([name, value]) => [
    name,
    name === 'spec' && isObject(value) ? maskSpec(value as SpecLike) : mapStrings(value, (text) => maskUrl(hideSealed(text))),
  ]);
  return Object.fromEntries(entries) as T;
}

/** A URL as shown: its credentials (userinfo, credential-like query parameters) → MASK. Anything else as it is. */
export function maskUrl(text: string): string {
  return /^https?:\/\//i.test(text) ? rewriteUrlCredentials(text, () => MASK) : text;
}

/** The plaintext secret values of an opened spec (for maskText). Sealed and masked values are not secrets to look for. */
export function secretValues(spec: SpecLike): string[] {
  const values: string[] = [];
  for (const path of secretPaths(spec)) {
    const value = get(spec, path);
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (text && !isSealed(text) && text !== MASK) values.push(text);
  }
  for (const path of URL_PATHS) {
    const url = get(spec, path);
    if (typeof url === 'string') values.push(...urlSecretValues(url));
  }
  return values;
}

/** Authorization-like values: `Bearer <token>`, `Basic <credentials>`: the credential alone may show up too. */
const AUTH_SCHEME = /^[A-Za-z][A-Za-z0-9_-]*\s+(\S.*)$/;
/** `Basic <base64 of user:password>`: a target may echo the credentials decoded. */
const BASIC = /^basic\s+([A-Za-z0-9+/]+={0,2})$/i;
/** `scheme://user:password@host`: the credentials part of a URL in free text. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;
/** Shorter fragments are not searched for on their own (they would mask ordinary words). */
const MIN_FRAGMENT = 4;

/**
 * `text` with every occurrence of a known secret value replaced by MASK: each value as is, URL-encoded,
 * and (for `Bearer x`-like values) the credential after the scheme. Credentials in URLs (`user:pw@`) are
 * masked too, known or not.
 */
export function maskText(text: string, secrets: readonly string[]): string {
  return textMasker(secrets)(text);
}

/**
 * maskText for many texts with the same secrets: what to search for is derived once (a run logs and reports
 * dozens of strings; deriving it for each was 5 % of a busy process), and a text that holds none of it is
 * returned as it is.
 */
export function textMasker(secrets: readonly string[]): (text: string) => string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    needles.add(secret);
    needles.add(encodeURIComponent(secret));
    const credential = AUTH_SCHEME.exec(secret)?.[1];
    if (credential && credential.length >= MIN_FRAGMENT) needles.add(credential);
    for (const derived of basicCredentials(secret)) needles.add(derived);
  }
  const longestFirst = [...needles].sort((a, b) => b.length - a.length);
  return (text) => {
    let masked = text;
    for (const needle of longestFirst) if (masked.includes(needle)) masked = masked.split(needle).join(MASK);
    return masked.includes('://') ? masked.replace(URL_CREDENTIALS, `$1${MASK}@`) : masked;
  };
}

/** For `Basic <base64>`: `user:password` decoded, and the password alone when long enough to search for. */
function basicCredentials(secret: string): string[] {
  const encoded = BASIC.exec(secret.trim())?.[1];
  if (!encoded) return [];
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.includes('\uFFFD')) return [];
  const password = decoded.slice(colon + 1);
  return [decoded, ...(password.length >= MIN_FRAGMENT ? [password] : [])];
}

/** `value` (any JSON: an execution's output, log metadata) with maskText applied to every string in it. */
export function maskDeep<T>(value: T, secrets: readonly string[]): T {
  return mapStrings(value, textMasker(secrets)) as T;
}

/**
 * PATCH/PUT semantics: a client that read a job (secrets masked) and sends it back sends MASK for each
 * secret. Each secret of `next` that is MASK takes the value at the same path of `previous` (sealed, or
 * plaintext if `previous` was opened); header and query names match case-insensitively. A MASK without a
 * previous value throws MaskedSecretError (422): storing the placeholder would lose the secret silently.
 */
export function mergeMasked<T extends SpecLike>(next: T, previous: SpecLike | null | undefined): T {
  const merged = mapSecrets(next, (value, path) => {
    if (value !== MASK) return value;
    const kept = previous ? lookup(previous, path) : undefined;
    if (kept === undefined || kept === null || kept === MASK) throw new MaskedSecretError(path);
    return kept;
  });
  // A URL sent back masked keeps the previous URL's credential in each masked part.
  return mapUrls(merged, (url, path) => {
    if (!urlCredentials(url).some(({ written }) => isMaskedPart(written))) return url;
    const previousUrl = previous ? get(previous, path) : undefined;
    const kept = typeof previousUrl === 'string' ? urlCredentials(previousUrl) : [];
    return rewriteUrlCredentials(url, (written, part) => {
      if (!isMaskedPart(written)) return written;
      const same = kept.find((candidate) => samePart(candidate.part, part, true)) ?? kept.find((candidate) => samePart(candidate.part, part, false));
      if (!same || isMaskedPart(same.written)) throw new MaskedSecretError(path);
      return same.written;
    });
  });
}

function samePart(a: UrlPart, b: UrlPart, exact: boolean): boolean {
  if (a.kind === 'userinfo' || b.kind === 'userinfo') return a.kind === b.kind;
  return exact ? a.name === b.name : a.name.toLowerCase() === b.name.toLowerCase();
}

function lookup(spec: SpecLike, path: SecretPath): unknown {
  const exact = get(spec, path);
  if (exact !== undefined || path.length !== 3 || (path[1] !== 'headers' && path[1] !== 'query')) return exact;
  const record = get(spec, path.slice(0, -1));
  if (!isObject(record)) return undefined;
  const name = path[2]!.toLowerCase();
  return Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
}
