import { AckPolicy, JetStreamApiCodes, type JetStreamManager } from '@nats-io/jetstream';

/**
 * Creates a durable pull consumer (explicit ack), or brings an existing one's delivery settings up to date,
 * so a changed configuration takes effect on the next start. Idempotent.
 */
export async function ensureDurableConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: { durable_name: string; filter_subject?: string; ack_wait: number; max_deliver?: number; max_ack_pending?: number },
): Promise<void> {
  const { durable_name, filter_subject, ...settings } = config;
  try {
    await jsm.consumers.info(stream, durable_name);
    await jsm.consumers.update(stream, durable_name, settings);
  } catch (error) {
    if ((error as { code?: number }).code !== JetStreamApiCodes.ConsumerNotFound) throw error;
    await jsm.consumers.add(stream, { durable_name, ...(filter_subject ? { filter_subject } : {}), ack_policy: AckPolicy.Explicit, ...settings });
  }
}
