import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiCodes, type JetStreamClient, type JetStreamManager, type Placement } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { bucketStream, LEASE_BUCKET, STREAMS } from '../events/streams.js';
import { JetStreamPublisher } from './jetstream-publisher.js';
import { planReplication, ReplicationError, SINGLE_REPLICA, type ReplicationPlan, type ReplicationSettings } from './replication.js';

/** One NATS connection per process and the JetStream handles built on it. */
export class NatsClients {
  private constructor(
    readonly connection: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly kvm: Kvm,
    /** Acknowledged publishes for the hot path (events, work, lifecycle, logs): cheaper than `js.publish`. */
    readonly publisher: JetStreamPublisher,
    /** Every stream's replicas and placement, as decided for this server at connect. */
    readonly replication: ReplicationPlan,
  ) {}

  /**
   * Connects, checks the server has what Chronos relies on (refusing with one clear line otherwise), and creates
   * or updates every stream with the replicas `replication` asks for.
   */
  static async connect(url: string, name: string, replication: ReplicationSettings = SINGLE_REPLICA): Promise<NatsClients> {
    const options: ConnectionOptions & { pendingLimit: number } = {
      servers: url.split(','),
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
    let plan: ReplicationPlan;
    try {
      assertServerFeatures(connection);
      plan = planReplication(replication, { version: connection.info!.version, ...(connection.info!.cluster ? { cluster: connection.info!.cluster } : {}) });
      // Creating or changing a replicated stream is a round of the cluster's consensus: slower than a request.
      await ensureStreams(await jetstreamManager(connection, { timeout: SETUP_TIMEOUT_MS }), plan);
    } catch (error) {
      await connection.close();
      throw error;
    }
    const kvm = new Kvm(connection);
    return new NatsClients(connection, jetstream(connection), jsm, kvm, new JetStreamPublisher(connection), plan);
  }

  /**
   * The leases bucket (src/infra/lease.ts), created with its replicas and placement, or an existing one brought
   * to them. Its entries expire after `ttlMs`.
   */
  async leases(ttlMs: number): Promise<KV> {
    const stream = bucketStream(LEASE_BUCKET);
    const replicas = this.replication.replicasOf(stream);
    const kv = await this.kvm.create(LEASE_BUCKET, { ttl: ttlMs, history: 1, replicas, ...placementOf(this.replication) });
    const { config } = await this.jsm.streams.info(stream);
    if (config.num_replicas !== replicas) await this.jsm.streams.update(stream, { ...config, num_replicas: replicas });
    return kv;
  }

  async close(): Promise<void> {
    await this.connection.drain().catch(() => this.connection.close());
    this.publisher.close();
  }
}

/** Direct get (2.9+) is what aggregate loads rely on: refuse older servers with a clear message. */
function assertServerFeatures(connection: NatsConnection): void {
  const [major, minor] = connection.info!.version.split('.').map(Number);
  if (major! < 2 || (major === 2 && minor! < 9)) {
    throw new Error(`nats-server ${connection.info!.version} is too old: Chronos needs ≥ 2.9 (direct get); ≥ 2.10 is recommended`);
  }
}

export const NATS_CLIENTS = Symbol('NatsClients');

const SETUP_TIMEOUT_MS = 30_000;

/** Tags only: the server reads a missing cluster as any (nats.js types it as required). */
const placementOf = (plan: ReplicationPlan): { placement?: Placement } => (plan.placement ? { placement: plan.placement as Placement } : {});

/** JetStream's answer when a stream asks for more replicas (or tags) than the cluster's servers offer. */
const INSUFFICIENT_RESOURCES = 10023;

/**
 * Creates every stream of the catalogue (src/events/streams.ts) with its replicas and placement, or brings an
 * existing one's settings up to date. Idempotent.
 */
async function ensureStreams(jsm: JetStreamManager, plan: ReplicationPlan): Promise<void> {
  for (const listed of STREAMS) {
    const config = { ...listed, num_replicas: plan.replicasOf(listed.name), ...placementOf(plan) };
    try {
      await ensureStream(jsm, config);
    } catch (error) {
      if ((error as { code?: number }).code !== INSUFFICIENT_RESOURCES) throw error;
      throw new ReplicationError(
        `stream ${config.name} with ${config.num_replicas} replicas${plan.placement ? ` on servers tagged ${plan.placement.tags.join(',')}` : ''} does not fit the NATS cluster ` +
          `(fewer JetStream servers up than replicas, or none with those tags): check NATS_REPLICAS, NATS_EVENTS_REPLICAS and NATS_PLACEMENT_TAGS`,
      );
    }
  }
}

async function ensureStream(jsm: JetStreamManager, config: (typeof STREAMS)[number]): Promise<void> {
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

/** How many messages each subject under `filter` holds (subjects without any are absent). */
export async function messagesBySubject(jsm: JetStreamManager, stream: string, filter: string): Promise<Record<string, number>> {
  return (await jsm.streams.info(stream, { subjects_filter: filter })).state.subjects ?? {};
}

/** How many messages one subject holds. */
export const messagesOn = async (jsm: JetStreamManager, stream: string, subject: string): Promise<number> => (await messagesBySubject(jsm, stream, subject))[subject] ?? 0;
