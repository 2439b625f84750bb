import type { KV } from '@nats-io/kv';
import { LEASE_BUCKET } from '../events/streams.js';
import type { NatsClients } from './nats.js';

/**
 * A lease in a JetStream KV bucket whose entries expire (max_age = ttl): `create` wins only if the key is
 * absent or expired, `update(revision)` renews only while we still hold it. Whoever holds the lease is the
 * one active instance of a role (the scheduler, a projection); standbys take over within one ttl.
 */
export class Lease {
  private revision = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private held = false;

  private constructor(
    private readonly kv: KV,
    private readonly key: string,
    private readonly holderId: string,
    private readonly renewEveryMs: number,
    private readonly onChange: (held: boolean) => void,
  ) {}

  static async start(
    nats: Pick<NatsClients, 'leases'>,
    key: string,
    holderId: string,
    ttlMs: number,
    onChange: (held: boolean) => void,
  ): Promise<Lease> {
    const kv = await nats.leases(ttlMs);
    const lease = new Lease(kv, key, holderId, Math.max(200, Math.floor(ttlMs / 3)), onChange);
    await lease.tick();
    return lease;
  }

  get isHeld(): boolean {
    return this.held;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      this.revision = this.held
        ? await this.kv.update(this.key, this.holderId, this.revision)
        : await this.kv.create(this.key, this.holderId);
      this.setHeld(true);
    } catch {
      // Someone else holds it (create failed) or took it over (update failed): stand by and try again.
      this.setHeld(false);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.renewEveryMs);
  }

  private setHeld(held: boolean): void {
    if (held === this.held) return;
    this.held = held;
    this.onChange(held);
  }

  /** Stops renewing and hands the lease over at once (a graceful shutdown should not make standbys wait). */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.held) {
      this.setHeld(false);
      await this.kv.delete(this.key, { previousSeq: this.revision }).catch(() => undefined);
    }
  }
}

/** Who holds the lease `key` now (its CHRONOS_INSTANCE_ID), or undefined: nobody, or not since its ttl. */
export async function leaseHolder(nats: Pick<NatsClients, 'kvm'>, key: string): Promise<string | undefined> {
  const kv = await nats.kvm.open(LEASE_BUCKET);
  const entry = await kv.get(key);
  return entry?.operation === 'PUT' && entry.length > 0 ? entry.string() : undefined;
}
