import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmail,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateIf,
  validateSync,
  type ValidationArguments,
} from 'class-validator';
import { builtInHandlers, handlerNames, hasHandler } from '../../executors/custom.executor.js';
import { MASK } from '../../secrets/job-secrets.js';
import type { ProblemField } from '../problem-details.filter.js';
import { printableKey } from '../request-values.js';
import { nestedFieldsMessage, toProblemFields } from '../validation.js';
import { JSON_VALUE } from './json-value.schema.js';

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Headers that frame the request or that Chronos sets on each one: a job's own value would be dropped or would break the request. */
const HEADERS_SET_BY_CHRONOS = ['Content-Length', 'Transfer-Encoding', 'Connection', 'Keep-Alive', 'Upgrade', 'TE', 'Trailer', 'Idempotency-Key', 'X-Chronos-Execution-Id', 'X-Chronos-Attempt'];
const SET_BY_CHRONOS = new Set(HEADERS_SET_BY_CHRONOS.map((name) => name.toLowerCase()));
/** RFC 9110 `token`. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 `field-value` as a request sends it unchanged: VCHAR and obs-text, with inner SP and HTAB (fetch trims the outer ones). */
const HEADER_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/**
 * Free-form values (labels, headers, a payload's data) are kept exactly as sent: class-transformer's copy of
 * a plain object drops keys that name Object.prototype members (`toString`, `valueOf`, ...).
 */
export const AsSent = () => Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => obj[key], { toClassOnly: true });

export class HttpPayloadDto {
  @ApiProperty({ example: 'https://example.com/hooks/nightly' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ enum: HTTP_METHODS, default: 'GET' })
  @IsOptional()
  @IsIn(HTTP_METHODS)
  method?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description:
      'sent with every request as they are: names are RFC 9110 tokens, each once (names are case-insensitive); values are RFC 9110 field values ' +
      'a request can carry unchanged (visible ASCII and Latin-1, inner spaces and tabs; no CR, LF, NUL or other controls, no leading or trailing space). ' +
      `Chronos sets ${HEADERS_SET_BY_CHRONOS.join(', ')} itself. Credential-like values (Authorization, X-Api-Key, ...) are write-only: masked in answers.`,
    example: { Accept: 'application/json' },
  })
  @IsOptional()
  @IsObject()
  @IsHeaderRecord()
  @AsSent()
  headers?: Record<string, string>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  @IsStringRecord()
  @AsSent()
  query?: Record<string, string>;

  @ApiPropertyOptional({ ...JSON_VALUE, description: 'sent as JSON, or as is when a string' })
  @IsOptional()
  @AsSent()
  body?: unknown;

  @ApiPropertyOptional({ description: 'status (or list of statuses) that means success [any 2xx]', oneOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' } }] })
  @IsOptional()
  @IsInt({ each: true })
  @Min(100, { each: true })
  @Max(599, { each: true })
  expectStatus?: number | number[];
}

export class CustomPayloadDto {
  @ApiProperty({ example: 'noop', description: `a handler registered in code (registerHandler in src/executors/custom.executor.ts); built in: ${Object.keys(builtInHandlers).join(', ')}` })
  @IsString()
  @IsRegisteredHandler()
  handler!: string;

  @ApiPropertyOptional({ ...JSON_VALUE, description: 'given to the handler (sleep: { ms })' })
  @IsOptional()
  @AsSent()
  data?: unknown;
}

export class WebhookPayloadDto {
  @ApiProperty({ example: 'https://example.com/hooks/chronos' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(2048)
  url!: string;

  @ApiProperty({ ...JSON_VALUE, description: 'any JSON value: the body of the POST, sent as JSON', example: { event: 'nightly' } })
  @IsPresent()
  @AsSent()
  data!: unknown;

  @ApiPropertyOptional({
    description: 'signs the request: X-Chronos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>. Write-only: masked in answers.',
    minLength: 1,
    maxLength: 512,
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  secret?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const NO_NUL = /^[^\0]*$/;

export class ScriptPayloadDto {
  @ApiProperty({
    example: '/opt/jobs/backup.sh',
    description: 'an absolute path or a bare name, exactly as listed on CHRONOS_SCRIPT_ALLOWLIST (otherwise 422 SCRIPT_NOT_ALLOWED); run without a shell',
    maxLength: 4096,
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  @Matches(NO_NUL, { message: 'command must not contain NUL bytes' })
  command!: string;

  @ApiPropertyOptional({ type: [String], maxItems: 256, description: 'passed as they are: nothing is expanded (no shell)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(256)
  @IsString({ each: true })
  @MaxLength(8192, { each: true })
  @Matches(NO_NUL, { each: true, message: 'args must not contain NUL bytes' })
  args?: string[];

  @ApiPropertyOptional({ example: '/var/lib/jobs', description: 'working directory, an absolute path [the worker\'s]' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  @Matches(/^\/[^\0]*$/, { message: 'cwd must be an absolute path' })
  cwd?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'added to the clean environment (PATH=/usr/local/bin:/usr/bin:/bin and nothing of Chronos\'s); at most 100 variables. Write-only: values are masked in answers.',
  })
  @IsOptional()
  @IsObject()
  @IsEnvRecord()
  @AsSent()
  env?: Record<string, string>;
}

export class EmailPayloadDto {
  @ApiProperty({
    oneOf: [{ type: 'string', format: 'email' }, { type: 'array', items: { type: 'string', format: 'email' }, minItems: 1, maxItems: 50 }],
    description: 'one address or a list of at most 50',
    example: 'ops@example.com',
  })
  @IsRecipients()
  @IsEmail({}, { each: true, message: 'to must be an email address or a list of email addresses' })
  to!: string | string[];

  @ApiProperty({ example: 'Nightly report', maxLength: 998 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(998)
  @Matches(/^[^\r\n]*$/, { message: 'subject must be a single line' })
  subject!: string;

  @ApiPropertyOptional({ description: 'plain-text body; text or html (or both) is required', maxLength: 1_000_000 })
  @ValidateIf((o: EmailPayloadDto) => o.text !== undefined || o.html === undefined)
  @IsTextOrHtml()
  text?: string;

  @ApiPropertyOptional({ description: 'HTML body; text or html (or both) is required', maxLength: 1_000_000 })
  @IsOptional()
  @IsString()
  @MaxLength(1_000_000)
  html?: string;
}

/** The job types that can run today, each with the class that validates its payload. */
export const PAYLOAD_DTOS: Record<string, new () => object> = {
  http: HttpPayloadDto,
  webhook: WebhookPayloadDto,
  script: ScriptPayloadDto,
  email: EmailPayloadDto,
  custom: CustomPayloadDto,
};

/** `handler` names a handler of the custom registry, checked at validation time (so later registrations count). */
function IsRegisteredHandler() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isRegisteredHandler',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => hasHandler(value),
        defaultMessage: () => `${propertyName} must be one of: ${handlerNames().join(', ')}`,
      },
    });
}

/** `text`, validated when present or when `html` is absent: one of the two bodies is required. */
function IsTextOrHtml() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isTextOrHtml',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.length <= 1_000_000,
        defaultMessage: (args?: ValidationArguments) =>
          args?.value === undefined ? 'text or html is required' : `${propertyName} must be a string of at most 1000000 characters`,
      },
    });
}

/** Any value but undefined (JSON null included). */
function IsPresent() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isPresent',
      target: target.constructor,
      propertyName,
      options: { message: `${propertyName} is required (any JSON value, null included)` },
      validator: { validate: (value: unknown) => value !== undefined },
    });
}

/** One address or a non-empty list of at most 50 (each then checked by IsEmail). */
function IsRecipients() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isRecipients',
      target: target.constructor,
      propertyName,
      options: { message: `${propertyName} must be an email address or a list of 1 to 50 addresses` },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' || (Array.isArray(value) && value.length >= 1 && value.length <= 50 && value.every((v) => typeof v === 'string')),
      },
    });
}

/** Environment variables: at most 100, names like `MY_VAR`, string values without NUL bytes (≤ 32 KiB each). */
function IsEnvRecord() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isEnvRecord',
      target: target.constructor,
      propertyName,
      options: { message: `${propertyName} must map at most 100 names like MY_VAR to string values (no NUL bytes, ≤ 32768 chars)` },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.keys(value).length <= 100 &&
          Object.entries(value).every(([k, v]) => ENV_NAME.test(k) && typeof v === 'string' && v.length <= 32_768 && NO_NUL.test(v)),
      },
    });
}

/** What is wrong with each header of an `http` payload, relative to `headers` (the name is the field). */
export function headerProblems(headers: Record<string, unknown>): ProblemField[] {
  const problems: ProblemField[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) problems.push({ field: printableKey(name), message: 'the header name must be an RFC 9110 token: letters, digits and !#$%&\'*+-.^_`|~' });
    else if (seen.has(lower)) problems.push({ field: printableKey(name), message: 'the header is given twice (names are case-insensitive)' });
    else if (SET_BY_CHRONOS.has(lower)) problems.push({ field: printableKey(name), message: `the header is set by Chronos for each request` });
    else if (typeof value !== 'string') problems.push({ field: printableKey(name), message: 'the header value must be a string' });
    // The mask stands for a stored secret (PUT and PATCH keep it); it is never sent.
    else if (value !== MASK && !HEADER_VALUE.test(value)) {
      problems.push({ field: printableKey(name), message: 'the header value must be visible ASCII or Latin-1 with inner spaces or tabs only (no CR, LF, NUL or other controls, no characters beyond U+00FF, no leading or trailing space)' });
    }
    seen.add(lower);
  }
  return problems;
}

function IsHeaderRecord() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isHeaderRecord',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => typeof value === 'object' && value !== null && headerProblems(value as Record<string, unknown>).length === 0,
        defaultMessage: (args?: ValidationArguments) => nestedFieldsMessage(headerProblems((args?.value ?? {}) as Record<string, unknown>)),
      },
    });
}

function IsStringRecord() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isStringRecord',
      target: target.constructor,
      propertyName,
      options: { message: `${propertyName} values must be strings` },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string'),
      },
    });
}

/**
 * Validates `payload` against the class of the job's `type` (a sibling property), rejecting unknown
 * fields like every other level of the body. Each problem names its nested field (`payload.url`).
 */
export function IsPayloadOfType() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isPayloadOfType',
      target: target.constructor,
      propertyName,
      validator: {
        validate(value: unknown, args: ValidationArguments) {
          return payloadProblems(value, (args.object as { type?: unknown }).type).length === 0;
        },
        defaultMessage(args: ValidationArguments) {
          const problems = payloadProblems(args.value, (args.object as { type?: unknown }).type);
          return problems.length === 1 && problems[0]!.field === '' ? problems[0]!.message : nestedFieldsMessage(problems);
        },
      },
    });
}

/** What is wrong with a payload for a job type, each field relative to `payload` ('' for the payload itself). */
function payloadProblems(value: unknown, type: unknown): ProblemField[] {
  const dto = typeof type === 'string' ? PAYLOAD_DTOS[type] : undefined;
  if (!dto) return []; // the `type` field reports its own error
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ field: '', message: 'payload must be an object' }];
  return toProblemFields(validateSync(plainToInstance(dto, value), { whitelist: true, forbidNonWhitelisted: true }));
}

/** The payload's problems as lines `payload.<field>: <message>`. */
export function payloadErrors(value: unknown, type: unknown): string[] {
  return payloadProblems(value, type).map(({ field, message }) => `${field ? `payload.${field}` : 'payload'}: ${message}`);
}
