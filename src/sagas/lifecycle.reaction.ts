import { Injectable } from '@nestjs/common';
import { CLOUDEVENT_CONTENT_TYPE, lifecycleTypeOf, toCloudEvent } from '../events/lifecycle-event.js';
import { jobEventsOf, type StoredEvent, type StoredJobEvent } from '../events/stored-event.js';
import { lifecycleSubject } from '../events/streams.js';
import { lifecycleMessageId } from '../commands/ids.js';
import { maskEventData } from '../secrets/job-secrets.js';
import { JobOwners } from './job-owners.js';
import type { Publication, Reaction } from './reaction.js';

/**
 * The lifecycle CloudEvents of `events` (those subscribers see), in log order, on
 * chronos.lifecycle.<ownerId>.<jobId>.<type> with the CloudEvents NATS binding's Content-Type, secrets
 * masked; `owners` names each job's owner. A replay (`replayId`) marks each `chronosreplay: true` and gives
 * it a message id of its own, so that the stream's deduplication lets it through; the CloudEvent keeps its
 * id, which subscribers dedupe on. Pure.
 */
export function lifecyclePublications(events: StoredJobEvent[], owners: ReadonlyMap<string, string>, replayId?: string): Publication[] {
  const publications: Publication[] = [];
  for (const stored of events) {
    const type = lifecycleTypeOf(stored);
    if (!type) continue;
    const cloudEvent = { ...toCloudEvent(stored, type, maskEventData), ...(replayId ? { chronosreplay: true as const } : {}) };
    publications.push({
      subject: lifecycleSubject(owners.get(stored.aggregateId) ?? '', stored.aggregateId, type),
      payload: JSON.stringify(cloudEvent),
      msgID: lifecycleMessageId(cloudEvent.id, replayId),
      headers: { 'Content-Type': CLOUDEVENT_CONTENT_TYPE },
    });
  }
  return publications;
}

/**
 * Turns every committed domain event a subscriber cares about into a CloudEvent for CHRONOS_LIFECYCLE.
 * Idempotent (Nats-Msg-Id = the event id) and in commit order: the reactor publishes a batch's messages in
 * log order on one connection, and acknowledges it after every publish is confirmed.
 */
@Injectable()
export class LifecycleReaction implements Reaction {
  readonly name = 'lifecycle';

  constructor(private readonly owners: JobOwners) {}

  async react(events: StoredEvent[]): Promise<Publication[]> {
    const jobEvents = jobEventsOf(events);
    this.owners.learn(jobEvents);
    return lifecyclePublications(jobEvents, await this.owners.ownersOf(jobEvents.map((event) => event.aggregateId)));
  }
}
