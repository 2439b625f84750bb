import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  validateSync,
  type ValidationArguments,
  type ValidationError as ClassValidationError,
} from 'class-validator';
import { builtInHandlers } from '../../executors/custom.executor.js';

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

  @ApiPropertyOptional({ description: 'sent as JSON, or as is when a string' })
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
  @ApiProperty({ example: 'noop', description: `a handler registered in code; built in: ${Object.keys(builtInHandlers).join(', ')}` })
  @IsString()
  @IsIn(Object.keys(builtInHandlers), { message: `handler must be one of: ${Object.keys(builtInHandlers).join(', ')}` })
  handler!: string;

  @ApiPropertyOptional({ description: 'given to the handler (sleep: { ms })' })
  @IsOptional()
  data?: unknown;
}

/** The job types that can run today, each with the class that validates its payload. */
export const PAYLOAD_DTOS: Record<string, new () => object> = { http: HttpPayloadDto, custom: CustomPayloadDto };

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
