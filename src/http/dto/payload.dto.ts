import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
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
  type ValidationError as ClassValidationError,
} from 'class-validator';
import { builtInHandlers, handlerNames, hasHandler } from '../../executors/custom.executor.js';
import { JSON_VALUE } from './json-value.schema.js';

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export class HttpPayloadDto {
  @ApiProperty({ example: 'https://example.com/hooks/nightly' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ enum: HTTP_METHODS, default: 'GET' })
  @IsOptional()
  @IsIn(HTTP_METHODS)
  method?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  @IsStringRecord()
  headers?: Record<string, string>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  @IsStringRecord()
  query?: Record<string, string>;

  @ApiPropertyOptional({ ...JSON_VALUE, description: 'sent as JSON, or as is when a string' })
  @IsOptional()
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
  data?: unknown;
}

export class WebhookPayloadDto {
  @ApiProperty({ example: 'https://example.com/hooks/chronos' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(2048)
  url!: string;

  @ApiProperty({ ...JSON_VALUE, description: 'any JSON value: the body of the POST, sent as JSON', example: { event: 'nightly' } })
  @IsPresent()
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
 * fields like every other level of the body. Messages name the nested field (`payload.url`).
 */
export function IsPayloadOfType() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isPayloadOfType',
      target: target.constructor,
      propertyName,
      validator: {
        validate(value: unknown, args: ValidationArguments) {
          return payloadErrors(value, (args.object as { type?: unknown }).type).length === 0;
        },
        defaultMessage(args: ValidationArguments) {
          return payloadErrors(args.value, (args.object as { type?: unknown }).type).join('; ');
        },
      },
    });
}

export function payloadErrors(value: unknown, type: unknown): string[] {
  const dto = typeof type === 'string' ? PAYLOAD_DTOS[type] : undefined;
  if (!dto) return []; // the `type` field reports its own error
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['payload must be an object'];
  const errors = validateSync(plainToInstance(dto, value), { whitelist: true, forbidNonWhitelisted: true });
  return flatten(errors, 'payload');
}

function flatten(errors: ClassValidationError[], prefix: string): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
    return [...own, ...flatten(error.children ?? [], path)];
  });
}
