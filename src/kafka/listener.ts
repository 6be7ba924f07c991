/**
 * The Kafka wire-protocol listener (docs/kafka.md): a TCP server whose connections speak Kafka's
 * binary protocol (connection.ts) for the APIs in apis/, onto the broker's native handlers. It is
 * a second door to the same broker: the ZeroMQ request server stays the native one. With `tls` it
 * is a node:tls server (kafka_tls.ts); with `sasl` its clients authenticate (sasl_session.ts) and
 * ApiVersions lists SaslHandshake and SaslAuthenticate.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../common/rate_limited_log.js';
import { apiVersionsApi } from './apis/api_versions.js';
import { createTopicsApi, deleteTopicsApi } from './apis/admin_topics.js';
import { fetchApi } from './apis/fetch.js';
import { findCoordinatorApi, heartbeatApi, joinGroupApi, leaveGroupApi, syncGroupApi }
  from './apis/group_membership.js';
import { deleteGroupsApi, describeGroupsApi, listGroupsApi, offsetCommitApi, offsetFetchApi }
  from './apis/group_offsets.js';
import { initProducerIdApi } from './apis/init_producer_id.js';
import { listOffsetsApi } from './apis/list_offsets.js';
import { metadataApi } from './apis/metadata.js';
import { produceApi } from './apis/produce.js';
import { saslAuthenticateApi, saslHandshakeApi } from './apis/sasl.js';
import { KafkaConnection } from './connection.js';
import { REQUEST_BYTES_MAX_DEFAULT } from './framing.js';
import { RemoteLeaders } from './remote_leaders.js';
import type { KafkaApi, KafkaBrokerView } from './kafka_api.js';
import type { SaslSettings } from './sasl_session.js';

export interface KafkaListenerOptions {
  readonly host: string;
  /** 0 picks a free port (see `port` once started). */
  readonly port: number;
  readonly broker: KafkaBrokerView;
  readonly logger: Logger;
  /** Kafka's socket.request.max.bytes. */
  readonly requestBytesMax?: number;
  /** The certificate and key (PEM) of a TLS listener; plain TCP when absent. */
  readonly tls?: tls.SecureContextOptions;
  /** Clients authenticate with SASL before anything else; everyone is User:ANONYMOUS when absent. */
  readonly sasl?: SaslSettings;
}

const INFLIGHT_PER_CONNECTION_MAX = 64;
const REPLY_BYTES_PER_CONNECTION_MAX = 64 * 1024 * 1024;

/** The APIs served, by key (the SASL ones with `sasl`); ApiVersions lists them all. */
export function kafkaApis(sasl = false): Map<number, KafkaApi> {
  const apis = new Map<number, KafkaApi>();
  const base = [produceApi, fetchApi, listOffsetsApi, metadataApi, createTopicsApi, deleteTopicsApi,
    initProducerIdApi, findCoordinatorApi, joinGroupApi, syncGroupApi, heartbeatApi, leaveGroupApi, offsetCommitApi,
    offsetFetchApi, describeGroupsApi, listGroupsApi, deleteGroupsApi,
    ...sasl ? [saslHandshakeApi, saslAuthenticateApi] : []];
  for (const api of base) apis.set(api.key, api);
  const versions = apiVersionsApi(() => [...apis.values()].sort((left, right) => left.key - right.key)
    .map(({ key, minVersion, maxVersion }) => ({ key, minVersion, maxVersion })));
  apis.set(versions.key, versions);
  return apis;
}

export class KafkaListener {
  private readonly server: net.Server;
  private readonly connections = new Set<KafkaConnection>();
  private readonly remoteLeaders: RemoteLeaders;
  private nextPeer = 0;

  private constructor(options: KafkaListenerOptions) {
    const apis = kafkaApis(options.sasl !== undefined);
    const refusals = new RateLimitedLog(options.logger);
    const remoteLeaders = new RemoteLeaders(options.broker.brokerId, () => options.broker.brokers(), options.logger,
      options.broker.clientSecurity);
    this.remoteLeaders = remoteLeaders;
    const accept = (socket: net.Socket): void => {
      this.nextPeer += 1;
      const connection = new KafkaConnection(socket, Buffer.from(`kafka:${this.nextPeer}`), { apis,
        broker: options.broker, requestBytesMax: options.requestBytesMax ?? REQUEST_BYTES_MAX_DEFAULT,
        inflightMax: INFLIGHT_PER_CONNECTION_MAX, replyBytesMax: REPLY_BYTES_PER_CONNECTION_MAX,
        logger: options.logger, refusals, remoteLeaders,
        ...(options.sasl === undefined ? {} : { sasl: options.sasl }) });
      this.connections.add(connection);
      socket.on('close', () => { this.connections.delete(connection); });
    };
    // TLS: a connection starts once its handshake is done; a failed handshake is logged (rate limited).
    this.server = options.tls === undefined ? net.createServer({ noDelay: true }, accept)
      : tls.createServer({ ...options.tls, noDelay: true }, accept).on('tlsClientError', (error, socket) => {
        refusals.log('info', 'kafka-tls', { peer: socket.remoteAddress, reason: error.message }, 'a TLS handshake failed');
      });
  }

  static async start(options: KafkaListenerOptions): Promise<KafkaListener> {
    const listener = new KafkaListener(options);
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(options.port, options.host.replace(/^\[(.*)\]$/, '$1'), () => {
        listener.server.off('error', reject);
        resolve();
      });
    });
    options.logger.info({ kafkaListen: `${options.host}:${listener.port}` }, 'Kafka listener started');
    return listener;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => { this.server.close(() => { resolve(); }); });
    for (const connection of this.connections) connection.close('the broker is closing');
    this.connections.clear();
    await this.remoteLeaders.close();
    await closed;
  }
}
