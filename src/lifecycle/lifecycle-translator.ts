import { Injectable } from '@nestjs/common';
import type { JobEvent } from '../domain/job/job.events.js';
import type { StoredEvent } from '../events/stored-event.js';
import type { NatsClients } from '../infra/nats.js';
import { JobOwners } from '../sagas/job-owners.js';
import type { Publication, Reaction } from '../sagas/reaction.js';
import { lifecycleSubject, lifecycleTypeOf, toCloudEvent, type LifecycleCloudEvent } from './lifecycle-event.js';
import { maskEventData } from '../secrets/job-secrets.js';

/**
 * Turns every committed domain event a subscriber cares about into a CloudEvent for CHRONOS_LIFECYCLE,
 * subject chronos.lifecycle.<ownerId>.<jobId>.<type>. Idempotent (Nats-Msg-Id = the event id) and in commit
 * order: the reactor publishes a batch's messages in log order on one connection, and acknowledges it after
 * every publish is confirmed.
 */
@Injectable()
export class LifecycleTranslator implements Reaction {
  readonly name = 'lifecycle';

  constructor(private readonly owners: JobOwners) {}

  async react(events: StoredEvent[]): Promise<Publication[]> {
    const publications: Publication[] = [];
    this.owners.learn(events);
    for (const stored of events) {
      if (stored.aggregateType !== 'job') continue;
      const event = { type: stored.type, data: stored.data } as JobEvent;
      const type = lifecycleTypeOf(event);
      if (!type) continue;
      const ownerId = this.owners.known(stored.aggregateId) ?? (await this.owners.ownerOf(stored.aggregateId));
      const cloudEvent = toCloudEvent(stored, type, maskEventData);
      publications.push({ subject: lifecycleSubject(ownerId, stored.aggregateId, type), payload: JSON.stringify(cloudEvent), msgID: cloudEvent.id });
    }
    return publications;
  }
}

/** Publishes in order (one connection keeps the order) and waits for every acknowledgement (the admin replay). */
export async function publishLifecycle(nats: NatsClients, messages: { subject: string; event: LifecycleCloudEvent }[], msgIdPrefix = ''): Promise<void> {
  await Promise.all(
    messages.map(({ subject, event }) => nats.publisher.publish(subject, JSON.stringify(event), { msgID: `${msgIdPrefix}${event.id}` })),
  );
}
