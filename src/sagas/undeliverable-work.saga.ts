import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { fromSaga } from '../commands/envelopes.js';
import { JobCommands } from '../commands/job-commands.js';
import { NotFoundError } from '../domain/errors.js';
import { undeliverableCommandId } from '../commands/ids.js';
import { decodeMaxDeliveriesAdvisory, decodeWorkItem, workCorrelation, type MaxDeliveriesAdvisory, type WorkItem } from '../events/messages.js';
import { UNDELIVERABLE_WORK_CONSUMER as CONSUMER, WORK_ADVISORIES_STREAM, WORK_STREAM } from '../events/streams.js';
import { ensureDurableConsumer, runEach, type RunningConsumer } from '../infra/durable-consumer.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';

const ACK_WAIT_MS = 30_000;

/**
 * A work item JetStream gave up delivering (every worker that took it died or hung, `max_deliver` times)
 * becomes a dead letter instead of a silent drop: the server's advisory names the item, this saga appends
 * DeadLetterExecution for it, removes the item from the work stream, and only then acknowledges the
 * advisory (a crash repeats the command, whose id is deterministic).
 */
@Injectable()
export class UndeliverableWorkSaga implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(UndeliverableWorkSaga.name);
  private consumer: RunningConsumer | undefined;

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    private readonly commands: JobCommands,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await runEach(this.nats, {
      durable: CONSUMER,
      stream: WORK_ADVISORIES_STREAM,
      ensure: (jsm) => ensureDurableConsumer(jsm, WORK_ADVISORIES_STREAM, { durable_name: CONSUMER, ack_wait: ACK_WAIT_MS * 1_000_000 }),
      ackWaitMs: ACK_WAIT_MS,
      decode: (message) => decodeMaxDeliveriesAdvisory(message.json()),
      concurrency: 1,
      prefetch: 10,
      handle: (advisory) => this.handle(advisory),
      onFailure: { retry: { firstMs: 1000, maxMs: 30_000 } },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  private async handle(advisory: MaxDeliveriesAdvisory): Promise<void> {
    const work = await this.nats.jsm.streams.getMessage(WORK_STREAM, { seq: advisory.stream_seq }).catch(() => null);
    if (!work) return; // removed meanwhile: handled before
    let item: WorkItem;
    try {
      item = decodeWorkItem(work.json());
    } catch (error) {
      // Not a work item (nothing of Chronos wrote it): no execution to record it on. Said, and removed.
      this.log.error(`work ${advisory.stream_seq} was never completed and is not a work item, removed: ${(error as Error).message}`);
      await this.nats.jsm.streams.deleteMessage(WORK_STREAM, advisory.stream_seq, false).catch(() => undefined);
      return;
    }
    try {
      await this.commands.send(
        item.jobId,
        {
          type: 'DeadLetterExecution',
          now: new Date(),
          data: { executionId: item.executionId, error: `the work was delivered ${advisory.deliveries} times and never completed (the workers died or hung)` },
        },
        fromSaga('undeliverable-work', undeliverableCommandId(item.executionId), workCorrelation(item)),
      );
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error; // the job is gone: nothing to record
    }
    await this.nats.jsm.streams.deleteMessage(WORK_STREAM, advisory.stream_seq, false).catch(() => undefined);
  }
}
