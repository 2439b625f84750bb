import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiCodes, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { STREAMS } from '../events/streams.js';
import { JetStreamPublisher } from './jetstream-publisher.js';

/** One NATS connection per process and the JetStream handles built on it. */
export class NatsClients {
  private constructor(
    readonly connection: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly kvm: Kvm,
    /** Acknowledged publishes for the hot path (events, work, lifecycle, logs): cheaper than `js.publish`. */
    readonly publisher: JetStreamPublisher,
  ) {}

  static async connect(url: string, name: string): Promise<NatsClients> {
    const options: ConnectionOptions & { pendingLimit: number } = {
      servers: url,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Async stack traces cost an Error per request; at thousands of requests a second that is a tenth of the CPU.
      noAsyncTraces: true,
      // nats.js (undocumented option) writes to the socket inline whenever this much is pending (32 KiB by default),
      // besides once per microtask checkpoint. The reactor publishes a batch of megabytes at once, and every write to
      // the socket costs kernel time of its own: at 32 KiB that was a tenth of the process's CPU.
      pendingLimit: 1024 * 1024,
    };
    const connection = await connect(options);
    const jsm = await jetstreamManager(connection);
    await assertServerFeatures(connection);
    await ensureStreams(jsm);
    return new NatsClients(connection, jetstream(connection), jsm, new Kvm(connection), new JetStreamPublisher(connection));
  }

  async close(): Promise<void> {
    await this.connection.drain().catch(() => this.connection.close());
    this.publisher.close();
  }
}

/** Direct get (2.9+) is what aggregate loads rely on: refuse older servers with a clear message. */
async function assertServerFeatures(connection: NatsConnection): Promise<void> {
  const [major, minor] = connection.info!.version.split('.').map(Number);
  if (major! < 2 || (major === 2 && minor! < 9)) {
    throw new Error(`nats-server ${connection.info!.version} is too old: Chronos needs ≥ 2.9 (direct get); ≥ 2.10 is recommended`);
  }
}

export const NATS_CLIENTS = Symbol('NatsClients');

/** Creates every stream of the catalogue (src/events/streams.ts), or brings an existing one's settings up to date. Idempotent. */
async function ensureStreams(jsm: JetStreamManager): Promise<void> {
  for (const config of STREAMS) {
    try {
      const existing = await jsm.streams.info(config.name);
      // The server never lifts deny_delete or deny_purge once set: an older stream keeps its own.
      await jsm.streams.update(config.name, { ...config, deny_delete: existing.config.deny_delete || config.deny_delete, deny_purge: existing.config.deny_purge || config.deny_purge });
    } catch (error) {
      if ((error as { code?: number }).code !== JetStreamApiCodes.StreamNotFound) throw error;
      try {
        await jsm.streams.add(config);
      } catch (raced) {
        // Another process created it meanwhile.
        await jsm.streams.info(config.name).catch(() => Promise.reject(raced));
      }
    }
  }
}

/** How many messages each subject under `filter` holds (subjects without any are absent). */
export async function messagesBySubject(jsm: JetStreamManager, stream: string, filter: string): Promise<Record<string, number>> {
  return (await jsm.streams.info(stream, { subjects_filter: filter })).state.subjects ?? {};
}

/** How many messages one subject holds. */
export const messagesOn = async (jsm: JetStreamManager, stream: string, subject: string): Promise<number> => (await messagesBySubject(jsm, stream, subject))[subject] ?? 0;
