import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule, type Provider, type Type } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { ExecuteJobCommandHandler } from './commands/job-command.handler.js';
import { JobRepository } from './commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from './config.js';
import { EVENT_STORE } from './events/event-store.js';
import { JetStreamEventStore } from './events/jetstream-event-store.js';
import { CustomExecutor } from './executors/custom.executor.js';
import { EXECUTORS } from './executors/executor.js';
import { HttpExecutor } from './executors/http.executor.js';
import { CallerMiddleware } from './http/caller.middleware.js';
import { ExecutionsController } from './http/executions.controller.js';
import { HealthController } from './http/health.controller.js';
import { JobsController } from './http/jobs.controller.js';
import { NATS_CLIENTS, type NatsClients } from './infra/nats.js';
import { REDIS } from './infra/redis.js';
import { GetExecutionHandler, ListExecutionsHandler } from './projections/executions/execution.queries.js';
import { JobStatsHandler } from './projections/jobs/job-stats.query.js';
import { ListJobsHandler } from './projections/jobs/list-jobs.query.js';
import { ReadModelConsumers } from './projections/read-model.consumers.js';
import { DispatchWorkSaga } from './sagas/dispatch-work.saga.js';
import { SchedulerService } from './scheduler/scheduler.service.js';
import { WorkerService } from './worker/worker.service.js';

export interface Infrastructure {
  nats: NatsClients;
  dataSource: DataSource;
  redis: Redis;
}

/** One code base, roles chosen by configuration: each role adds its controllers and services. */
@Module({})
export class AppModule implements NestModule {
  static forRoot(config: ChronosConfig, infra: Infrastructure): DynamicModule {
    const controllers: Type[] = [HealthController];
    const providers: Provider[] = [
      { provide: CHRONOS_CONFIG, useValue: config },
      { provide: NATS_CLIENTS, useValue: infra.nats },
      { provide: DataSource, useValue: infra.dataSource },
      { provide: REDIS, useValue: infra.redis },
      { provide: EVENT_STORE, useValue: new JetStreamEventStore(infra.nats.js, infra.nats.jsm) },
      JobRepository,
      ExecuteJobCommandHandler,
    ];
    if (config.roles.has('api')) {
      controllers.push(JobsController, ExecutionsController);
      providers.push(ListJobsHandler, JobStatsHandler, ListExecutionsHandler, GetExecutionHandler);
    }
    if (config.roles.has('projector')) controllers.push(ReadModelConsumers, DispatchWorkSaga);
    if (config.roles.has('scheduler')) providers.push(SchedulerService);
    if (config.roles.has('worker')) {
      providers.push(WorkerService, { provide: EXECUTORS, useValue: [new HttpExecutor(), new CustomExecutor()] });
    }
    return { module: AppModule, imports: [CqrsModule.forRoot()], controllers, providers };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(CallerMiddleware).forRoutes('{*path}');
  }
}
