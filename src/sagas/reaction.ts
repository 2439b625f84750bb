import { headers as natsHeaders } from '@nats-io/transport-node';
import type { NatsClients } from '../infra/nats.js';
import type { StoredEvent } from '../events/stored-event.js';

/** One message a reaction wants published because of some events. */
export interface Publication {
  subject: string;
  payload: string;
  /**
   * Nats-Msg-Id, derived from the events (never random): a batch handled again publishes the same ids,
   * and the stream drops the repeats. Without it the message goes out on core NATS, unacknowledged (the
   * cancel announcements, which nothing has to keep).
   */
  msgID?: string;
  /** Core NATS, fire and forget; see msgID. */
  core?: true;
  /** Headers besides Nats-Msg-Id (the lifecycle CloudEvents' Content-Type). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * One concern of the reactor (src/sagas/reactor.consumer.ts): given a batch of events in log order, the
 * messages they call for, in the order they must be published. It publishes nothing itself.
 */
export interface Reaction {
  readonly name: string;
  react(events: StoredEvent[]): Publication[] | Promise<Publication[]>;
}

/**
 * Publishes every message at once, in order (one connection keeps the order), and resolves when every
 * acknowledged one is stored: the reactor's and the lifecycle replay's one way out.
 */
export async function publishAll(nats: NatsClients, publications: Publication[]): Promise<void> {
  await Promise.all(
    publications.map(({ subject, payload, msgID, core, headers }) => {
      const h = headers && natsHeaders();
      for (const [name, value] of Object.entries(headers ?? {})) h!.set(name, value);
      if (!core) return nats.publisher.publish(subject, payload, { msgID, ...(h ? { headers: h } : {}) });
      nats.connection.publish(subject, payload, h ? { headers: h } : undefined);
      return undefined;
    }),
  );
}
