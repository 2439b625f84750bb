import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';

export interface OrderedReadOptions {
  /** Only these subjects (a filter with wildcards). */
  filter: string;
  /** Where to begin: a stream sequence, or the first message stored at or after a time. */
  from: { sequence: number } | { time: Date };
  /** Messages per pull. */
  batch: number;
}

/**
 * Reads part of a stream in order with an ordered (ephemeral) consumer, for reads that are not the rules'
 * (admins' reads and replays of the log, the backlog's oldest fires): each message is handed to `take` until
 * it answers false or the stream holds nothing more. The consumer is deleted afterwards.
 */
export async function readInOrder(js: JetStreamClient, stream: string, options: OrderedReadOptions, take: (message: JsMsg) => boolean): Promise<void> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: options.filter,
    ...('sequence' in options.from ? { opt_start_seq: Math.max(1, options.from.sequence) } : { opt_start_time: options.from.time.toISOString() }),
  });
  try {
    for (let more = true; more; ) {
      let received = 0;
      // Leave the iteration with break, never by closing the batch inside it (that waits forever).
      for await (const message of await consumer.fetch({ max_messages: options.batch, expires: 1000 })) {
        received++;
        if (!take(message) || message.info.pending === 0) {
          more = false;
          break;
        }
      }
      if (received === 0) more = false;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
