import { Controller, Get, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { lifecycleAsyncApi } from '../events/lifecycle-asyncapi.js';
import { Public } from './auth/public.decorator.js';
import { SkipRateLimit } from './rate-limit/rate-limit.guard.js';

/** The AsyncAPI 3 document of the lifecycle events, beside the OpenAPI one. */
@ApiExcludeController()
@Public()
@SkipRateLimit()
@Controller('asyncapi.json')
export class AsyncApiController {
  private readonly document: Record<string, unknown>;

  constructor(@Inject(CHRONOS_CONFIG) config: ChronosConfig) {
    this.document = lifecycleAsyncApi(config.natsUrl.replace(/\/\/[^@/]*@/g, '//'));
  }

  @Get()
  get(): Record<string, unknown> {
    return this.document;
  }
}
