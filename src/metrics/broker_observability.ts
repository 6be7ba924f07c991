/**
 * What a broker is watched through, in one place so that the broker only wires hooks: the
 * leadership log (always on), and with `--metrics-listen` the metrics, their hooks on the request
 * server, the Raft host and the storage's fsyncs, and the HTTP listener serving them. Without
 * --metrics-listen no metric hook is installed at all, so the hot paths pay nothing for them.
 */
import type { Logger } from 'pino';

import type { SoftState } from '../../raft/core/index.js';
import type { FileIo } from '../../storage/file_io.js';
import type { ReplicaManager } from '../broker/replica_manager.js';
import type { RequestObserver } from '../net/request_server.js';
import { BrokerMetrics } from './broker_metrics.js';
import { LeadershipLog } from './leadership_log.js';
import { CONTROLLER_TOPIC_LABEL, brokerMetricsSource } from './metrics_source.js';
import type { BrokerStateParts } from './metrics_source.js';
import { MetricsServer } from './metrics_server.js';
import { RequestMetrics } from './request_metrics.js';
import { timedFileIo } from './timed_file_io.js';

export interface ObservabilityOptions {
  readonly brokerId: number;
  readonly logger: Logger;
  /** Where to serve /metrics; no metrics at all when absent. */
  readonly metricsListen?: { readonly host: string; readonly port: number };
  readonly controllerGroupId: number;
}

export class BrokerObservability {
  readonly metrics: BrokerMetrics | undefined;
  private readonly requests: RequestMetrics | undefined;
  private readonly leadership: LeadershipLog;
  private server: MetricsServer | undefined;
  private replicas: ReplicaManager | undefined;

  constructor(private readonly options: ObservabilityOptions) {
    if (options.metricsListen !== undefined) {
      this.metrics = new BrokerMetrics({ brokerId: options.brokerId });
      this.requests = new RequestMetrics(this.metrics);
    }
    this.leadership = new LeadershipLog(options.logger, (groupId) => this.describeGroup(groupId));
  }

  /** The storage's FileIo, timed when metrics are on. */
  fileIo(inner: FileIo): FileIo | undefined {
    const metrics = this.metrics;
    return metrics === undefined ? undefined : timedFileIo(inner, (seconds) => { metrics.fsyncDone(seconds); });
  }

  get requestObserver(): RequestObserver | undefined {
    return this.requests;
  }

  /** RaftHost's onSoftState: the leadership log line, and the leader-change and election counters. */
  readonly onSoftState = (groupId: number, state: SoftState, term: number): void => {
    this.metrics?.raftRoleObserved(groupId, state.role);
    if (this.leadership.observe({ groupId, role: state.role, leaderId: state.leaderId, term })) {
      this.metrics?.raftLeaderChanged(groupId);
    }
  };

  /** Starts serving /metrics, reading the broker's state from its Raft host, replicas, controller and groups. */
  async start(state: Omit<BrokerStateParts, 'brokerId' | 'controllerGroupId' | 'connections'>): Promise<void> {
    this.replicas = state.replicas;
    const { metrics, requests } = this;
    const listen = this.options.metricsListen;
    if (metrics === undefined || listen === undefined) return;
    metrics.attach(brokerMetricsSource({ ...state, brokerId: this.options.brokerId,
      controllerGroupId: this.options.controllerGroupId, connections: () => requests?.connections ?? 0 }));
    this.server = await MetricsServer.start(metrics, listen.host, listen.port, this.options.logger);
    this.options.logger.info({ host: listen.host, port: this.server.port }, 'serving metrics on /metrics');
  }

  /** The bound port of the metrics listener, once started. */
  get metricsPort(): number | undefined {
    return this.server?.port;
  }

  async close(): Promise<void> {
    this.leadership.close();
    await this.server?.close();
    this.server = undefined;
  }

  private describeGroup(groupId: number): object {
    if (groupId === this.options.controllerGroupId) return { topic: CONTROLLER_TOPIC_LABEL };
    const hosted = this.replicas?.all().find((p) => p.groupId === groupId);
    return hosted === undefined ? {} : { topic: hosted.assignment.topic, partition: hosted.assignment.partition };
  }
}
