import type { KV, Kvm } from '@nats-io/kv';
import type { SnapshotStore } from '../events/event-store.js';
import { decodeSnapshot, type Snapshot } from '../events/messages.js';
import { SNAPSHOTS_BUCKET, snapshotKey } from '../events/streams.js';

/**
 * Snapshots in a JetStream KV bucket, the latest one per aggregate (history 1, file storage). A snapshot is a
 * cache: one that cannot be read or decoded is a miss, and one that cannot be written is left for the next.
 */
export class KvSnapshotStore implements SnapshotStore {
  private constructor(private readonly kv: KV) {}

  static async open(kvm: Kvm): Promise<KvSnapshotStore> {
    return new KvSnapshotStore(await kvm.create(SNAPSHOTS_BUCKET, { history: 1, replicas: 1 }));
  }

  async get(aggregateType: string, aggregateId: string): Promise<Snapshot | null> {
    const entry = await this.kv.get(snapshotKey(aggregateType, aggregateId));
    if (!entry || entry.operation !== 'PUT') return null;
    try {
      return decodeSnapshot(entry.json());
    } catch {
      return null;
    }
  }

  async put(aggregateType: string, aggregateId: string, snapshot: Snapshot): Promise<void> {
    await this.kv.put(snapshotKey(aggregateType, aggregateId), JSON.stringify(snapshot));
  }

  async remove(aggregateType: string, aggregateId: string): Promise<void> {
    await this.kv.purge(snapshotKey(aggregateType, aggregateId));
  }
}
