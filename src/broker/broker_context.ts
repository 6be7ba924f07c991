/** What request handlers may use of a running broker. */
import type { pb } from '../protocol/messages.js';
import type { ClientSecurity } from '../security/client_security.js';
import type { GroupId } from '../../raft/core/index.js';
import type { ControllerReplica } from './controller_replica.js';
import type { ElectionOutcome } from './leadership_transfers.js';
import type { HostedPartition, ReplicaManager } from './replica_manager.js';

export interface BrokerContext {
  readonly controller: ControllerReplica;
  readonly replicas: ReplicaManager;
  readonly brokerId: number;
  /** This broker's CURVE credentials for calling other brokers as a client (with --key-file). */
  readonly clientSecurity?: ClientSecurity | undefined;
  controllerId(): number;
  /** On the leader of a partition group, how many entries each learner is behind its commit index. */
  learnerLags(groupId: number): { brokerId: number; entriesBehind: number }[];
  voterIds(): number[];
  brokerList(): pb.BrokerMetadata.$Properties[];
  /** Registered brokers that are fenced (DescribeCluster shows them as down). */
  fencedBrokerList(): pb.BrokerMetadata.$Properties[];
  /** Proposes (or forwards) a controller command until `applied` holds; false on timeout. */
  submitUntil(command: Uint8Array, applied: () => boolean, timeoutMs: number): Promise<boolean>;
  /** Resolves when any of the partitions' high watermark moves, or after timeoutMs. */
  waitForData(partitions: readonly (readonly [string, number])[], timeoutMs: number): Promise<void>;
  /** A producer id unique in the cluster for good; COORDINATOR_LOAD_IN_PROGRESS when none comes in time. */
  nextProducerId(): Promise<number>;
  /** Preferred-leader election for hosted partitions, waiting up to timeoutMs: an outcome per group id. */
  electPreferredLeaders(partitions: readonly HostedPartition[], timeoutMs: number):
    Promise<ReadonlyMap<GroupId, ElectionOutcome>>;
}
