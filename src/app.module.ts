import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule, type Provider, type Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { JobCommands } from './commands/job-commands.js';
import { JobsService } from './commands/jobs.service.js';
import { JOB_SNAPSHOTS, JobRepository, WITHOUT_SNAPSHOTS, type JobSnapshots } from './commands/job.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from './config.js';
import { EVENT_STORE } from './events/event-store.js';
import { JetStreamEventStore } from './infra/jetstream-event-store.js';
import { ServiceProbes } from './infra/service-probes.js';
import { LifecycleReplay } from './sagas/lifecycle-replay.js';
import { CustomExecutor } from './executors/custom.executor.js';
import { EXECUTORS } from './executors/executor.js';
import { EmailExecutor } from './executors/email.executor.js';
import { HttpExecutor } from './executors/http.executor.js';
import { ScriptExecutor } from './executors/script.executor.js';
import { WebhookExecutor } from './executors/webhook.executor.js';
import { TargetGuard } from './executors/target-guard.js';
import { AuthService } from './auth/auth.service.js';
import { SessionCache } from './auth/session-cache.js';
import { UsersRepository } from './auth/users.repository.js';
import { AdminEventsController } from './http/admin-events.controller.js';
import { AdminProjectionsController } from './http/admin-projections.controller.js';
import { DashboardController } from './http/dashboard.controller.js';
import { EventStreamController } from './http/event-stream.controller.js';
import { DashboardStatsHandler } from './projections/dashboard/dashboard-stats.query.js';
import { AdminUsersController } from './http/admin-users.controller.js';
import { AsyncApiController } from './http/asyncapi.controller.js';
import { AuthController } from './http/auth.controller.js';
import { AccessGuard } from './http/auth/auth.guard.js';
import { JwtStrategy } from './http/auth/jwt.strategy.js';
import { RateLimitGuard, RATE_LIMIT_OPTIONS } from './http/rate-limit/rate-limit.guard.js';
import { RequestIdMiddleware } from './http/request-id.middleware.js';
import { RequestValuesGuard } from './http/request-values.guard.js';
import { HttpRequestsMiddleware } from './http/http-requests.middleware.js';
import { MetricsController } from './http/metrics.controller.js';
import { ChronosMetrics, METRICS } from './observability/metrics.js';
import { DeadLettersController } from './http/dead-letters.controller.js';
import { ExecutionsController } from './http/executions.controller.js';
import { HealthController } from './http/health.controller.js';
import { JobsController } from './http/jobs.controller.js';
import { NATS_CLIENTS, type NatsClients } from './infra/nats.js';
import { KvSnapshotStore } from './infra/kv-snapshot-store.js';
import { REDIS } from './infra/redis.js';
import { GetDeadLetterHandler, ListDeadLettersHandler } from './projections/dead-letters/dead-letter.queries.js';
import { GetExecutionHandler, ListExecutionsHandler } from './projections/executions/execution.queries.js';
import { JobRecordHandler } from './projections/jobs/job-record.query.js';
import { ListJobsHandler } from './projections/jobs/list-jobs.query.js';
import { UpcomingJobsHandler } from './projections/jobs/upcoming-jobs.query.js';
import { ReadModelConsumers } from './projections/read-model.consumers.js';
import { ReadModelPositions } from './projections/read-model-positions.js';
import { ProjectionRebuilds } from './projections/rebuild/projection-rebuilds.js';
import { ExecutionLogsProjection } from './projections/logs/execution-logs.projection.js';
import { ListLogsHandler } from './projections/logs/log.queries.js';
import { NotificationsReaction } from './sagas/notifications.reaction.js';
import { LifecycleReaction } from './sagas/lifecycle.reaction.js';
import { ReactorConsumer } from './sagas/reactor.consumer.js';
import { NotifierService } from './notifications/notifier.service.js';
import { EmailSender, WebhookSender } from './notifications/senders.js';
import { UndeliverableWorkSaga } from './sagas/undeliverable-work.saga.js';
import { DispatchWorkReaction } from './sagas/dispatch-work.reaction.js';
import { JobOwners } from './sagas/job-owners.js';
import { WorkBacklogReleaser } from './sagas/work-backlog.releaser.js';
import { HistoryRetention } from './retention/history-retention.js';
import { SchedulerService } from './scheduler/scheduler.service.js';
import { SecretsService } from './secrets/secrets.service.js';
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
    const controllers: Type[] = [HealthController, MetricsController];
    const targetGuard = new TargetGuard(config.targetAllowlist);
    const providers: Provider[] = [
      { provide: TargetGuard, useValue: targetGuard },
      { provide: METRICS, useValue: new ChronosMetrics() },
      { provide: CHRONOS_CONFIG, useValue: config },
      { provide: NATS_CLIENTS, useValue: infra.nats },
      { provide: DataSource, useValue: infra.dataSource },
      { provide: REDIS, useValue: infra.redis },
      { provide: EVENT_STORE, useValue: new JetStreamEventStore(infra.nats.publisher, infra.nats.jsm) },
      {
        provide: JOB_SNAPSHOTS,
        useFactory: async (): Promise<JobSnapshots> =>
          config.snapshotEveryEvents > 0 ? { store: await KvSnapshotStore.open(infra.nats.kvm), everyEvents: config.snapshotEveryEvents } : WITHOUT_SNAPSHOTS,
      },
      JobRepository,
      JobOwners,
      JobCommands,
      ServiceProbes,
      SecretsService,
    ];
    const imports: DynamicModule['imports'] = [CqrsModule.forRoot(), TerminusModule.forRoot({ errorLogStyle: 'json' })];
    if (config.roles.has('api')) {
      imports.push(PassportModule, JwtModule.register({}));
      controllers.push(AuthController, AdminUsersController, JobsController, ExecutionsController, DeadLettersController, AsyncApiController, AdminEventsController, AdminProjectionsController, DashboardController, EventStreamController);
      providers.push(
        JobsService,
        ListJobsHandler,
        UpcomingJobsHandler,
        JobRecordHandler,
        ListExecutionsHandler,
        GetExecutionHandler,
        ListDeadLettersHandler,
        ListLogsHandler,
        DashboardStatsHandler,
        ProjectionRebuilds,
        GetDeadLetterHandler,
        ReadModelPositions,
        LifecycleReplay,
        AuthService,
        SessionCache,
        JwtStrategy,
        // Global guards run in this order: the rate limiter needs the caller the access guard sets; values
        // no store can hold are refused before any route sees them.
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: RATE_LIMIT_OPTIONS, useValue: config.rateLimit },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: RequestValuesGuard },
      );
    }
    if (config.roles.has('projector')) {
      controllers.push(ReadModelConsumers, ReactorConsumer);
      providers.push(DispatchWorkReaction, WorkBacklogReleaser, NotificationsReaction, LifecycleReaction, UndeliverableWorkSaga, ExecutionLogsProjection, HistoryRetention);
    }
    if (config.roles.has('scheduler')) providers.push(SchedulerService);
    if (config.roles.has('api') || config.roles.has('worker')) providers.push(UsersRepository);
    if (config.roles.has('worker')) {
      providers.push(WorkerService, NotifierService, EmailSender, WebhookSender, { provide: EXECUTORS, useValue: [
            new HttpExecutor(targetGuard),
            new WebhookExecutor(targetGuard),
            new ScriptExecutor(config.script.allowlist, { outputCapBytes: config.script.outputCapBytes }),
            EmailExecutor.fromSettings(config.smtp),
            new CustomExecutor(),
          ] });
    }
    return { module: AppModule, imports, controllers, providers };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestIdMiddleware, HttpRequestsMiddleware).forRoutes('{*path}');
  }
}
