// Follows the lifecycle of your jobs from Chronos's NATS stream, with the official NATS client:
//   npm install @nats-io/transport-node @nats-io/jetstream
//   NATS_URL=nats://127.0.0.1:4222 OWNER_ID=<your user id> node examples/lifecycle-subscriber.mjs
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';

const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
const js = jetstream(nc);
// An ordered consumer, from the first message kept (or pass opt_start_seq / opt_start_time to start later).
// One filter subject (a string): nats-server 2.9 has no multi-filter consumers.
const consumer = await js.consumers.get('CHRONOS_LIFECYCLE', { filter_subjects: `chronos.lifecycle.${process.env.OWNER_ID ?? "*"}.>` });
const seen = new Set(); // a replay re-sends events with their original id: dedupe on it
for await (const message of await consumer.consume()) {
  const event = message.json();
  if (seen.has(event.id)) continue;
  seen.add(event.id);
  console.log(`${event.time} ${event.type} job=${event.subject}${event.chronosreplay ? ' (replay)' : ''}`, event.data);
}
