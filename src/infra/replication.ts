import { CONDITIONAL_STREAMS } from '../events/streams.js';

/**
 * How many copies of each stream a NATS cluster keeps (NATS_REPLICAS, NATS_EVENTS_REPLICAS, NATS_PLACEMENT_TAGS),
 * checked against the server Chronos is connected to before any stream is created or changed.
 *
 * nats-server before 2.9.21 has a race in the clustered check of Nats-Expected-Last-Subject-Sequence (two
 * conditional writes proposed together can both pass). The streams whose writes are conditional (the event log's
 * OCC, the leases' create/update) therefore stay at one replica there: a replicated event log on such a server
 * could record two decisions taken from the same state. Every other stream only appends, deduplicated by
 * Nats-Msg-Id, and is safe replicated on any 2.9.
 */
export interface ReplicationSettings {
  /** NATS_REPLICAS [1]: copies of every stream and bucket (1 to 5). */
  replicas: number;
  /** NATS_EVENTS_REPLICAS: copies of the conditional streams (the event log, the leases) [NATS_REPLICAS where the server is safe, else 1]. */
  eventsReplicas?: number;
  /** NATS_PLACEMENT_TAGS: server tags every stream is placed on (e.g. a region). */
  placementTags: string[];
}

export const SINGLE_REPLICA: ReplicationSettings = { replicas: 1, placementTags: [] };

/** The first release whose clustered expected-last-subject-sequence check is free of the race. */
export const CONDITIONAL_REPLICATION_SINCE = [2, 9, 21] as const;

export class ReplicationError extends Error {
  override name = 'ReplicationError';
}

/** What start-up learnt from the server (its INFO). */
export interface ServerFacts {
  version: string;
  /** The cluster's name; undefined: a server on its own. */
  cluster?: string;
}

export interface ReplicationPlan {
  /** Replicas of a stream (by its name in the catalogue, or a bucket's stream `KV_<bucket>`). */
  replicasOf(stream: string): number;
  placement?: { tags: string[] };
  /** Said once at start-up: what was asked for and not done, and why. */
  warnings: string[];
}

const atLeast = (version: string, floor: readonly number[]): boolean => {
  const parts = version.split(/[.-]/).slice(0, 3).map(Number);
  for (let i = 0; i < floor.length; i++) {
    const part = parts[i] ?? 0;
    if (part !== floor[i]) return part > floor[i]!;
  }
  return true;
};

export const conditionalReplicationSafe = (version: string): boolean => atLeast(version, CONDITIONAL_REPLICATION_SINCE);

/** Decides every stream's replicas for this server, or refuses what it cannot keep with one clear line. */
export function planReplication(settings: ReplicationSettings, server: ServerFacts): ReplicationPlan {
  const { replicas, eventsReplicas, placementTags } = settings;
  const most = Math.max(replicas, eventsReplicas ?? 1);
  if (most > 1 && !server.cluster) {
    throw new ReplicationError(
      `${replicas > 1 ? `NATS_REPLICAS=${replicas}` : `NATS_EVENTS_REPLICAS=${eventsReplicas}`} needs a NATS cluster of at least ${most} JetStream servers; ` +
        `the nats-server ${server.version} at NATS_URL runs on its own (set 1, or connect to a cluster)`,
    );
  }
  const safe = conditionalReplicationSafe(server.version);
  const fix = CONDITIONAL_REPLICATION_SINCE.join('.');
  if (eventsReplicas !== undefined && eventsReplicas > 1 && !safe) {
    throw new ReplicationError(
      `NATS_EVENTS_REPLICAS=${eventsReplicas} is not safe on nats-server ${server.version}: its clustered expected-last-subject-sequence check ` +
        `has a race (fixed in ${fix}) that could record two decisions taken from the same state; upgrade the cluster or set NATS_EVENTS_REPLICAS=1`,
    );
  }
  const conditional = eventsReplicas ?? (safe ? replicas : 1);
  const warnings =
    eventsReplicas === undefined && replicas > 1 && !safe
      ? [
          `nats-server ${server.version}: ${[...CONDITIONAL_STREAMS].join(' and ')} keep 1 replica (the clustered expected-last-subject-sequence race is fixed in ${fix}); ` +
            `the other streams have ${replicas}. Upgrade to ≥ ${fix} (≥ 2.10 recommended) for a replicated event log`,
        ]
      : [];
  return {
    replicasOf: (stream) => (CONDITIONAL_STREAMS.has(stream) ? conditional : replicas),
    ...(placementTags.length ? { placement: { tags: placementTags } } : {}),
    warnings,
  };
}
