import { Controller, Inject } from '@nestjs/common';
import type { StoredEvent } from '../events/stored-event.js';
import { REACTOR_CONSUMER, REACTOR_PREDECESSORS } from '../events/streams.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { EventLogConsumer } from '../infra/transport/event-stream.transport.js';
import { DispatchWorkReaction } from './dispatch-work.reaction.js';
import { LifecycleReaction } from './lifecycle.reaction.js';
import { NotificationsReaction } from './notifications.reaction.js';
import { publishAll, type Publication, type Reaction } from './reaction.js';

/**
 * The event-log consumer for everything that reacts to events by publishing: work dispatch, notifications and
 * lifecycle CloudEvents. One delivery and one decode per message feed all three; each computes its messages
 * (src/sagas/reaction.ts), then every message of the batch is published at once, in the reactions' order and
 * each reaction's own order (lifecycle events keep their commit order on one connection), and the batch is
 * acknowledged only when every publish is confirmed (docs/guarantees.md#g6).
 *
 * When one publish fails the whole batch is handled again: what was stored already is dropped as a duplicate
 * (every message carries a Nats-Msg-Id derived from its event), so nothing is lost or doubled, but a stream
 * that refuses messages holds the other reactions back until it accepts them.
 */
@Controller()
export class ReactorConsumer {
  private readonly reactions: Reaction[];

  constructor(
    @Inject(NATS_CLIENTS) private readonly nats: NatsClients,
    dispatchWork: DispatchWorkReaction,
    notifications: NotificationsReaction,
    lifecycle: LifecycleReaction,
  ) {
    this.reactions = [dispatchWork, notifications, lifecycle];
  }

  @EventLogConsumer(REACTOR_CONSUMER, { takesOverFrom: REACTOR_PREDECESSORS })
  async react(events: StoredEvent[]): Promise<void> {
    const publications: Publication[] = [];
    for (const reaction of this.reactions) publications.push(...(await reaction.react(events)));
    await publishAll(this.nats, publications);
  }
}
