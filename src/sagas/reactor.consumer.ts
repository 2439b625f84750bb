import { Controller, Inject } from '@nestjs/common';
import type { StoredEvent } from '../events/stored-event.js';
import { NATS_CLIENTS, type NatsClients } from '../infra/nats.js';
import { EventLogConsumer } from '../infra/transport/event-stream.transport.js';
import { LifecycleTranslator } from '../lifecycle/lifecycle-translator.js';
import { DispatchWork } from './dispatch-work.saga.js';
import { NotificationsSaga } from './notifications.saga.js';
import type { Publication, Reaction } from './reaction.js';

/** The consumers the reactor replaced; on its first start it begins where the slowest of them stood. */
export const REACTOR_PREDECESSORS = ['saga-dispatch-work', 'saga-notifications', 'lifecycle-translator'];

/**
 * The event-log consumer for everything that reacts to events by publishing: work dispatch, notifications and
 * lifecycle CloudEvents. One delivery and one decode per message feed all three; each computes its messages
 * (src/sagas/reaction.ts), then every message of the batch is published at once, in the reactions' order and
 * each reaction's own order (lifecycle events keep their commit order on one connection), and the batch is
 * acknowledged only when every publish is confirmed (guarantee 6).
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
    dispatchWork: DispatchWork,
    notifications: NotificationsSaga,
    lifecycle: LifecycleTranslator,
  ) {
    this.reactions = [dispatchWork, notifications, lifecycle];
  }

  @EventLogConsumer('reactor', { takesOverFrom: REACTOR_PREDECESSORS })
  async react(events: StoredEvent[]): Promise<void> {
    const publications: Publication[] = [];
    for (const reaction of this.reactions) publications.push(...(await reaction.react(events)));
    await Promise.all(publications.map((publication) => this.publish(publication)));
  }

  private publish({ subject, payload, msgID, core }: Publication): Promise<unknown> | undefined {
    if (core) {
      this.nats.connection.publish(subject, payload);
      return undefined;
    }
    return this.nats.publisher.publish(subject, payload, { msgID });
  }
}
