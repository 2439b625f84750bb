import { Controller, Inject } from '@nestjs/common';
import { JobRepository } from '../commands/job.repository.js';
import type { JobEvent } from '../domain/job/job.events.js';
import type { StoredEvent } from '../events/stored-event.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { EventLogConsumer } from '../infra/transport/event-stream.transport.js';
import { lifecycleSubject, lifecycleTypeOf, toCloudEvent, type LifecycleCloudEvent } from './lifecycle-event.js';
import { maskEventData } from '../secrets/job-secrets.js';

/**
 * Publishes every committed domain event a subscriber cares about as a CloudEvent on CHRONOS_LIFECYCLE,
 * subject chronos.lifecycle.<ownerId>.<jobId>.<type>. Idempotent (Nats-Msg-Id = the event id) and in commit
 * order: a batch is published in log order on one connection, and acknowledged after every publish is
 * confirmed.
 */
@Controller()
export class LifecycleTranslator {
  /** Owners of the jobs seen, so most events need no lookup. */
  private readonly owners = new Map<string, string>();

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    private readonly jobs: JobRepository,
  ) {}

  @EventLogConsumer('lifecycle-translator')
  async translate(events: StoredEvent[]): Promise<void> {
    const messages: { subject: string; event: LifecycleCloudEvent }[] = [];
    for (const stored of events) {
      if (stored.aggregateType !== 'job') continue;
      const event = { type: stored.type, data: stored.data } as JobEvent;
      if (event.type === 'JobCreated') this.owners.set(stored.aggregateId, event.data.ownerId);
      const type = lifecycleTypeOf(event);
      if (!type) continue;
      const ownerId = await this.ownerOf(stored.aggregateId);
      messages.push({ subject: lifecycleSubject(ownerId, stored.aggregateId, type), event: toCloudEvent(stored, type, maskEventData) });
    }
    await publishLifecycle(this.nats, messages);
  }

  private async ownerOf(jobId: string): Promise<string> {
    let owner = this.owners.get(jobId);
    if (!owner) {
      owner = (await this.jobs.load(jobId)).ownerId;
      this.owners.set(jobId, owner);
    }
    return owner;
  }
}

/** Publishes in order (one connection keeps the order) and waits for every acknowledgement. */
export async function publishLifecycle(nats: NatsClients, messages: { subject: string; event: LifecycleCloudEvent }[], msgIdPrefix = ''): Promise<void> {
  await Promise.all(
    messages.map(({ subject, event }) => nats.publisher.publish(subject, JSON.stringify(event), { msgID: `${msgIdPrefix}${event.id}` })),
  );
}
