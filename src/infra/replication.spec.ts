import { bucketStream, EVENTS_STREAM, LEASE_BUCKET, LIFECYCLE_STREAM, STREAMS, WORK_STREAM } from '../events/streams.js';
import { conditionalReplicationSafe, planReplication, ReplicationError } from './replication.js';

const cluster = (version: string) => ({ version, cluster: 'chronos' });
const leases = bucketStream(LEASE_BUCKET);

describe('replication of the streams', () => {
  it('keeps one copy of everything by default, on a server alone or in a cluster', () => {
    for (const server of [{ version: '2.9.10' }, cluster('2.10.4')]) {
      const plan = planReplication({ replicas: 1, placementTags: [] }, server);
      expect(STREAMS.map((s) => plan.replicasOf(s.name))).toEqual(STREAMS.map(() => 1));
      expect(plan).toMatchObject({ warnings: [] });
      expect(plan.placement).toBeUndefined();
    }
  });

  it('refuses replicas from a server that is not clustered, saying so', () => {
    expect(() => planReplication({ replicas: 3, placementTags: [] }, { version: '2.10.4' })).toThrow(
      new ReplicationError('NATS_REPLICAS=3 needs a NATS cluster of at least 3 JetStream servers; the nats-server 2.10.4 at NATS_URL runs on its own (set 1, or connect to a cluster)'),
    );
    expect(() => planReplication({ replicas: 1, eventsReplicas: 3, placementTags: [] }, { version: '2.10.4' })).toThrow(/NATS_EVENTS_REPLICAS=3 needs a NATS cluster/);
  });

  it('on a server with the clustered expected-last-subject-sequence race, replicates only the streams whose writes are unconditional', () => {
    const plan = planReplication({ replicas: 3, placementTags: [] }, cluster('2.9.10'));
    expect(plan.replicasOf(EVENTS_STREAM)).toBe(1);
    expect(plan.replicasOf(leases)).toBe(1);
    expect(plan.replicasOf(WORK_STREAM)).toBe(3);
    expect(plan.replicasOf(LIFECYCLE_STREAM)).toBe(3);
    expect(plan.warnings).toEqual([expect.stringMatching(/^nats-server 2\.9\.10: CHRONOS_EVENTS and KV_chronos_leases keep 1 replica .* fixed in 2\.9\.21/)]);
  });

  it('refuses a replicated event log asked for explicitly on such a server', () => {
    expect(() => planReplication({ replicas: 3, eventsReplicas: 3, placementTags: [] }, cluster('2.9.20'))).toThrow(
      /^NATS_EVENTS_REPLICAS=3 is not safe on nats-server 2\.9\.20: .* \(fixed in 2\.9\.21\) .* set NATS_EVENTS_REPLICAS=1$/,
    );
    expect(planReplication({ replicas: 3, eventsReplicas: 1, placementTags: [] }, cluster('2.9.10'))).toMatchObject({ warnings: [] });
  });

  it('replicates the event log and the leases from 2.9.21 on, as asked', () => {
    for (const version of ['2.9.21', '2.10.0', '2.11.3', '3.0.0']) {
      const plan = planReplication({ replicas: 3, placementTags: ['eu'] }, cluster(version));
      expect([plan.replicasOf(EVENTS_STREAM), plan.replicasOf(leases), plan.replicasOf(WORK_STREAM)]).toEqual([3, 3, 3]);
      expect(plan).toMatchObject({ warnings: [], placement: { tags: ['eu'] } });
    }
    expect(planReplication({ replicas: 3, eventsReplicas: 5, placementTags: [] }, cluster('2.10.0')).replicasOf(EVENTS_STREAM)).toBe(5);
  });

  it('compares versions by number, not by text', () => {
    expect(['2.9.9', '2.9.10', '2.9.20', '2.8.99', '1.99.99'].map(conditionalReplicationSafe)).toEqual([false, false, false, false, false]);
    expect(['2.9.21', '2.9.22', '2.10.0', '2.10.0-beta.1', '10.0.0'].map(conditionalReplicationSafe)).toEqual([true, true, true, true, true]);
  });
});
