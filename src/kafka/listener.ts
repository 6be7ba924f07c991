/**
 * The Kafka wire-protocol listener (docs/kafka.md): a TCP server whose connections speak Kafka's
 * binary protocol (connection.ts) for the APIs in apis/, onto the broker's native handlers. It is
 * a second door to the same broker: the ZeroMQ request server stays the native one. With `tls` it
 * is a node:tls server (kafka_tls.ts); with `sasl` its clients authenticate (sasl_session.ts) and
 * ApiVersions lists SaslHandshake and SaslAuthenticate.
 *
 * Connection limits (security/connection_limits.ts): a connection over --max-connections or
 * --max-connections-per-ip is closed as soon as it is accepted, as Kafka does; one over
 * --max-connections-per-principal is closed at accept without SASL, where every connection is
 * User:ANONYMOUS; with SASL its authentication fails with the limit's message once it proves its user.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { RATE_LIMITED_LOG_DEFAULTS, RateLimitedLog } from '../common/rate_limited_log.js';
import type { RateLimitedLogOptions } from '../common/rate_limited_log.js';
import { ConnectionLimits, NO_CONNECTION_LIMITS } from '../security/connection_limits.js';
import type { ConnectionLimitReason, ConnectionLimitSettings, ConnectionRefusal }
  from '../security/connection_limits.js';
import { ANONYMOUS_PRINCIPAL } from '../security/principals.js';
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
import { KafkaConnection, clientAddress } from './connection.js';
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
  /** Connections at once, in total, per client address and per principal (0: no limit). */
  readonly connectionLimits?: ConnectionLimitSettings;
  /** Told of every connection closed by a limit (metrics); must not throw. */
  readonly onConnectionRefused?: (reason: ConnectionLimitReason) => void;
  /** How refusals and malformed input are logged (default: 10 lines per kind per 10 s, then a count). */
  readonly refusalLog?: Partial<RateLimitedLogOptions>;
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
  private readonly limits: ConnectionLimits;
  private readonly refusals: RateLimitedLog;
  /** Writes the count of suppressed lines once their interval ends, even if no line of the kind follows. */
  private readonly refusalFlush: NodeJS.Timeout;
  private nextPeer = 0;

  private constructor(private readonly options: KafkaListenerOptions) {
    const apis = kafkaApis(options.sasl !== undefined);
    const refusals = new RateLimitedLog(options.logger, options.refusalLog);
    this.refusals = refusals;
    this.refusalFlush = setInterval(() => { refusals.flush(); },
      options.refusalLog?.intervalMs ?? RATE_LIMITED_LOG_DEFAULTS.intervalMs).unref();
    this.limits = new ConnectionLimits({ ...NO_CONNECTION_LIMITS, ...options.connectionLimits });
    const remoteLeaders = new RemoteLeaders(options.broker.brokerId, () => options.broker.brokers(), options.logger,
      options.broker.clientSecurity);
    this.remoteLeaders = remoteLeaders;
    const accept = (socket: net.Socket): void => {
      this.nextPeer += 1;
      const id = `kafka:${this.nextPeer}`;
      if (!this.admitted(id, socket)) return;
      socket.on('close', () => { this.limits.close(id); });
      const connection = new KafkaConnection(socket, Buffer.from(id), { apis,
        broker: options.broker, requestBytesMax: options.requestBytesMax ?? REQUEST_BYTES_MAX_DEFAULT,
        inflightMax: INFLIGHT_PER_CONNECTION_MAX, replyBytesMax: REPLY_BYTES_PER_CONNECTION_MAX,
        logger: options.logger, refusals, remoteLeaders,
        ...(options.sasl === undefined ? {} : { sasl: options.sasl,
          admitPrincipal: (principal: string) => this.admitAuthenticated(id, socket, principal) }) });
      this.connections.add(connection);
      socket.on('close', () => { this.connections.delete(connection); });
    };
    // TLS: a connection starts once its handshake is done; a failed handshake is logged (rate limited).
    this.server = options.tls === undefined ? net.createServer({ noDelay: true }, accept)
      : tls.createServer({ ...options.tls, noDelay: true }, accept).on('tlsClientError', (error, socket) => {
        refusals.log('info', 'kafka-tls', { peer: socket.remoteAddress, reason: error.message }, 'a TLS handshake failed');
      });
  }

  /** Counts an accepted socket under the limits, or closes it at once (false). */
  private admitted(id: string, socket: net.Socket): boolean {
    const refusal = this.limits.open(id, clientAddress(socket.remoteAddress));
    if (refusal !== null) {
      this.closeRefused(id, socket, refusal);
      return false;
    }
    // Without SASL every Kafka connection is User:ANONYMOUS, known here. With SASL the principal
    // comes from the handshake: admitAuthenticated then (an anonymous one stays uncounted by principal).
    if (this.options.sasl !== undefined) return true;
    return this.admitPrincipal(id, socket, ANONYMOUS_PRINCIPAL);
  }

  /** The connection proved `principal`: false, and the socket closed, when that is over its limit. */
  private admitPrincipal(id: string, socket: net.Socket, principal: string): boolean {
    const refusal = this.limits.admit(id, principal);
    if (refusal === null) return true;
    this.closeRefused(id, socket, refusal);
    return false;
  }

  /**
   * A SASL handshake proved `principal`: null when the connection may stay, else why not (the
   * authentication then fails with it and the connection closes, freeing its place).
   */
  private admitAuthenticated(id: string, socket: net.Socket, principal: string): string | null {
    const refusal = this.limits.admit(id, principal);
    if (refusal === null) return null;
    this.onRefused(socket, refusal);
    return refusal.message;
  }

  private closeRefused(id: string, socket: net.Socket, refusal: ConnectionRefusal): void {
    this.limits.close(id);
    this.onRefused(socket, refusal);
    socket.destroy();
  }

  private onRefused(socket: net.Socket, refusal: ConnectionRefusal): void {
    this.refusals.log('warn', 'kafka-connection-refused', { listener: 'kafka', peer: socket.remoteAddress,
      reason: refusal.reason, limit: refusal.limit, detail: refusal.message },
    'closed a Kafka connection over a connection limit');
    try {
      this.options.onConnectionRefused?.(refusal.reason);
    } catch (error) {
      this.options.logger.error({ err: error }, 'connection refusal observer failed');
    }
  }

  static async start(options: KafkaListenerOptions): Promise<KafkaListener> {
    const listener = new KafkaListener(options);
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => { clearInterval(listener.refusalFlush); reject(error); };
      listener.server.once('error', failed);
      listener.server.listen(options.port, options.host.replace(/^\[(.*)\]$/, '$1'), () => {
        listener.server.off('error', failed);
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
    clearInterval(this.refusalFlush);
    this.refusals.flush(true);
    const closed = new Promise<void>((resolve) => { this.server.close(() => { resolve(); }); });
    for (const connection of this.connections) connection.close('the broker is closing');
    this.connections.clear();
    await this.remoteLeaders.close();
    await closed;
  }
}
