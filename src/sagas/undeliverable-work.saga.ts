import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { ExecuteJobCommand } from '../commands/job-command.js';
import { NotFoundError } from '../domain/errors.js';
import { undeliverableCommandId } from '../commands/ids.js';
import { decodeMaxDeliveriesAdvisory, decodeWorkItem, workCorrelation } from '../events/messages.js';
import { UNDELIVERABLE_WORK_CONSUMER as CONSUMER, WORK_ADVISORIES_STREAM, WORK_STREAM } from '../events/streams.js';
import { ensureDurableConsumer } from '../infra/durable-consumer.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';

/**
 * A work item JetStream gave up delivering (every worker that took it died or hung, `max_deliver` times)
 * becomes a dead letter instead of a silent drop: the server's advisory names the item, this saga appends
 * DeadLetterExecution for it, removes the item from the work stream, and only then acknowledges the
 * advisory (a crash repeats the command, whose id is deterministic).
 */
@Injectable()
export class UndeliverableWorkSaga implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(UndeliverableWorkSaga.name);
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    private readonly commands: CommandBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await ensureDurableConsumer(this.nats.jsm, WORK_ADVISORIES_STREAM, { durable_name: CONSUMER, ack_wait: 30_000_000_000 });
    this.messages = await (await this.nats.js.consumers.get(WORK_ADVISORIES_STREAM, CONSUMER)).consume({ max_messages: 10 });
    this.loop = (async () => {
      for await (const message of this.messages!) {
        await this.handle(message).catch((error: unknown) => this.log.error(`advisory ${message.seq} not handled: ${(error as Error).message}`));
      }
    })();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }

  private async handle(message: JsMsg): Promise<void> {
    const advisory = decodeMaxDeliveriesAdvisory(message.json());
    const work = await this.nats.jsm.streams.getMessage(WORK_STREAM, { seq: advisory.stream_seq }).catch(() => null);
    if (work) {
      const item = decodeWorkItem(work.json());
      const { correlationId, causationId } = workCorrelation(item);
      try {
        await this.commands.execute(
          new ExecuteJobCommand(
            item.jobId,
            {
              type: 'DeadLetterExecution',
              now: new Date(),
              data: { executionId: item.executionId, error: `the work was delivered ${advisory.deliveries} times and never completed (the workers died or hung)` },
            },
            { commandId: undeliverableCommandId(item.executionId), actor: 'saga:undeliverable-work', correlationId, causationId },
          ),
        );
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error; // the job is gone: nothing to record
      }
      await this.nats.jsm.streams.deleteMessage(WORK_STREAM, advisory.stream_seq, false).catch(() => undefined);
    }
    message.ack();
  }
}
