import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
  MinLength,
  registerDecorator,
  ValidateNested,
} from 'class-validator';
import { BACKOFF_KINDS, CONCURRENCY_POLICIES, JOB_TYPES, MISFIRE_POLICIES } from '../../domain/job/job-spec.js';
import { AsSent, IsPayloadOfType, PAYLOAD_DTOS } from './payload.dto.js';
import {
  AtScheduleDto,
  CronScheduleDto,
  ImmediateScheduleDto,
  IntervalScheduleDto,
  isScheduleKind,
  SCHEDULE_KINDS,
  scheduleDiscriminator,
  type ScheduleDto,
} from './schedule.dto.js';

export const scheduleSchema = {
  oneOf: [
    { $ref: getSchemaPath(ImmediateScheduleDto) },
    { $ref: getSchemaPath(AtScheduleDto) },
    { $ref: getSchemaPath(CronScheduleDto) },
    { $ref: getSchemaPath(IntervalScheduleDto) },
  ],
  discriminator: {
    propertyName: 'kind',
    mapping: {
      immediate: getSchemaPath(ImmediateScheduleDto),
      at: getSchemaPath(AtScheduleDto),
      cron: getSchemaPath(CronScheduleDto),
      interval: getSchemaPath(IntervalScheduleDto),
    },
  },
};

export class RetryPolicyDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 3, description: 'every attempt, the first included' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  maxAttempts?: number;

  @ApiPropertyOptional({ enum: BACKOFF_KINDS, default: 'exponential' })
  @IsOptional()
  @IsIn(BACKOFF_KINDS)
  backoff?: (typeof BACKOFF_KINDS)[number];

  @ApiPropertyOptional({ minimum: 0, default: 1000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  delayMs?: number;

  @ApiPropertyOptional({ minimum: 0, default: 3_600_000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(7 * 86_400_000)
  maxDelayMs?: number;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  jitter?: boolean;
}

export class NotificationsDto {
  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  onFailure?: boolean;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  onSuccess?: boolean;

  @ApiPropertyOptional({ format: 'email' })
  @IsOptional()
  @IsEmail()
  email?: string;

  @ApiPropertyOptional({ format: 'uri' })
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  webhookUrl?: string;

  @ApiPropertyOptional({ writeOnly: true, minLength: 16, maxLength: 256, description: 'signs notification webhooks (X-Chronos-Signature); never returned' })
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(256)
  webhookSecret?: string;
}

function IsScheduleKind() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isScheduleKind',
      target: target.constructor,
      propertyName,
      options: { message: `schedule.kind must be one of: ${SCHEDULE_KINDS.join(', ')}` },
      validator: { validate: (value: unknown) => typeof value === 'object' && value !== null && isScheduleKind((value as { kind?: unknown }).kind) },
    });
}

function IsLabels() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isLabels',
      target: target.constructor,
      propertyName,
      options: { message: 'labels must map at most 50 keys (≤ 63 chars) to string values (≤ 256 chars)' },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.keys(value).length <= 50 &&
          Object.entries(value).every(([k, v]) => k.length > 0 && k.length <= 63 && typeof v === 'string' && v.length <= 256),
      },
    });
}

/** The body of POST /jobs and PUT /jobs/:id (documented per type by CreateJobBody, dto/job-variants.dto.ts). */
@ApiExtraModels(ImmediateScheduleDto, AtScheduleDto, CronScheduleDto, IntervalScheduleDto, ...Object.values(PAYLOAD_DTOS))
export class CreateJobDto {
  @ApiProperty({ example: 'Nightly backup', maxLength: 200, description: 'any Unicode text but U+0000 and unpaired surrogates (as every string of the API), shown back unchanged' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({ enum: JOB_TYPES })
  @IsIn(JOB_TYPES)
  type!: (typeof JOB_TYPES)[number];

  // anyOf, not oneOf: the payloads overlap (a webhook's { url, data } is also an http payload's shape), and
  // the job's `type` beside it says which one applies.
  @ApiProperty({ anyOf: Object.values(PAYLOAD_DTOS).map((dto) => ({ $ref: getSchemaPath(dto) })), description: 'the payload of the job\'s type' })
  @IsObject()
  @IsPayloadOfType()
  @AsSent()
  payload!: Record<string, unknown>;

  @ApiProperty(scheduleSchema)
  @IsScheduleKind()
  @ValidateNested()
  @Type(() => Object, scheduleDiscriminator)
  schedule!: ScheduleDto;

  @ApiPropertyOptional({ type: RetryPolicyDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => RetryPolicyDto)
  retryPolicy?: RetryPolicyDto;

  @ApiPropertyOptional({ minimum: 1, maximum: 86_400_000, default: 30000 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  timeoutMs?: number;

  @ApiPropertyOptional({ enum: CONCURRENCY_POLICIES, default: 'forbid' })
  @IsOptional()
  @IsIn(CONCURRENCY_POLICIES)
  concurrencyPolicy?: (typeof CONCURRENCY_POLICIES)[number];

  @ApiPropertyOptional({ enum: MISFIRE_POLICIES, default: 'fire_once' })
  @IsOptional()
  @IsIn(MISFIRE_POLICIES)
  misfirePolicy?: (typeof MISFIRE_POLICIES)[number];

  @ApiPropertyOptional({ type: NotificationsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => NotificationsDto)
  notifications?: NotificationsDto;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { team: 'billing' }, description: 'at most 50; keys 1 to 63 characters, values up to 256; kept exactly as sent' })
  @IsOptional()
  @IsLabels()
  @AsSent()
  labels?: Record<string, string>;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 100_000,
    nullable: true,
    type: Number,
    description:
      'how many finished executions (any outcome) of this job the history keeps, newest first (like Kubernetes\' successfulJobsHistoryLimit); ' +
      'omitted: only the deployment\'s HISTORY_RETENTION_DAYS applies; null in a PATCH clears it',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  historyLimit?: number | null;
}

/** The body of PATCH /jobs/:id: any subset of the fields; the result is validated as a whole. */
export class UpdateJobDto extends PartialType(CreateJobDto) {}

export class PauseJobDto {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;
}

export class EmptyBodyDto {}

@ApiExtraModels(ImmediateScheduleDto, AtScheduleDto, CronScheduleDto, IntervalScheduleDto)
export class PreviewScheduleDto {
  @ApiProperty(scheduleSchema)
  @IsScheduleKind()
  @ValidateNested()
  @Type(() => Object, scheduleDiscriminator)
  schedule!: ScheduleDto;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 10 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  count?: number;
}

@ApiExtraModels(ImmediateScheduleDto, AtScheduleDto, CronScheduleDto, IntervalScheduleDto)
export class RescheduleJobDto {
  @ApiProperty(scheduleSchema)
  @IsScheduleKind()
  @ValidateNested()
  @Type(() => Object, scheduleDiscriminator)
  schedule!: ScheduleDto;
}

/** The most jobs one POST /jobs/batch creates. */
export const BATCH_MAX_JOBS = 1000;

/** The body of POST /jobs/batch: each item is a CreateJobDto, checked, created or refused on its own. */
export class CreateJobsBatchDto {
  @ApiProperty({ type: 'array', items: { $ref: getSchemaPath('CreateJobBody') }, minItems: 1, maxItems: BATCH_MAX_JOBS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(BATCH_MAX_JOBS)
  // As sent: each body is transformed on its own, once (class-transformer would drop keys such as `toString`).
  @AsSent()
  jobs!: unknown[];
}
