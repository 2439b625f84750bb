import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Equals, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { MIN_INTERVAL_MS } from '../../domain/job/schedule.js';
import { INSTANT_DESCRIPTION, IsInstant } from './instant.decorator.js';

export class ImmediateScheduleDto {
  @ApiProperty({ enum: ['immediate'] })
  @Equals('immediate')
  kind!: 'immediate';
}

export class AtScheduleDto {
  @ApiProperty({ enum: ['at'] })
  @Equals('at')
  kind!: 'at';

  @ApiProperty({ format: 'date-time', example: '2026-12-31T23:59:59Z', description: `the one instant; ${INSTANT_DESCRIPTION}` })
  @IsInstant()
  runAt!: string;
}

export class CronScheduleDto {
  @ApiProperty({ enum: ['cron'] })
  @Equals('cron')
  kind!: 'cron';

  @ApiProperty({
    example: '0 9 * * 1-5',
    description: '5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field',
  })
  @IsString()
  @MaxLength(200)
  expression!: string;

  @ApiPropertyOptional({ example: 'Europe/Berlin', default: 'UTC', description: 'IANA time zone name' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  timezone?: string;
}

export class IntervalScheduleDto {
  @ApiProperty({ enum: ['interval'] })
  @Equals('interval')
  kind!: 'interval';

  @ApiProperty({ minimum: MIN_INTERVAL_MS, example: 60000 })
  @IsInt()
  @Min(MIN_INTERVAL_MS)
  @Max(366 * 24 * 3600 * 1000)
  everyMs!: number;

  @ApiPropertyOptional({ format: 'date-time', description: `first instant [creation time + everyMs]; ${INSTANT_DESCRIPTION}` })
  @IsOptional()
  @IsInstant()
  startAt?: string;
}

export type ScheduleDto = ImmediateScheduleDto | AtScheduleDto | CronScheduleDto | IntervalScheduleDto;
export const SCHEDULE_KINDS = ['immediate', 'at', 'cron', 'interval'] as const;

/** class-transformer options that pick the schedule's class from its `kind`. */
export const scheduleDiscriminator = {
  discriminator: {
    property: 'kind',
    subTypes: [
      { value: ImmediateScheduleDto, name: 'immediate' },
      { value: AtScheduleDto, name: 'at' },
      { value: CronScheduleDto, name: 'cron' },
      { value: IntervalScheduleDto, name: 'interval' },
    ],
  },
  keepDiscriminatorProperty: true,
};

export const isScheduleKind = (value: unknown): boolean => (SCHEDULE_KINDS as readonly unknown[]).includes(value);
