/**
 * FindCoordinator on a broker that holds no replica of the group's offsets partition: only the
 * partition's replicas know its Raft leader, so this broker asks them (the client protocol's own
 * FindCoordinator) and passes on the first answer naming a leader. A forwarded request carries a
 * client id that marks it, and a broker never forwards such a request again, so a stale metadata
 * view cannot send requests around in a loop.
 */
import type { Logger } from 'pino';
import { Connection } from '../client/connection.js';
import type { BrokerContext } from '../broker/broker_context.js';
import { API_KEYS } from '../protocol/api_keys.js';
import { curveOptionsFor } from '../security/client_security.js';
import type { ResponseOf } from '../protocol/messages.js';

/** The client id of a FindCoordinator one broker sends another. */
export const FORWARDED_LOOKUP_CLIENT_ID = 'tributary-coordinator-lookup';
const LOOKUP_TIMEOUT_MS = 3_000;

export class CoordinatorLookup {
  private readonly connections = new Map<number, { readonly address: string; readonly connection: Connection }>();
  private closed = false;

  constructor(private readonly context: BrokerContext, private readonly logger: Logger) {}

  /** The first answer with a coordinator from the replicas' brokers, or null when none gives one. */
  async ask(key: string, replicaIds: readonly number[]): Promise<ResponseOf<typeof API_KEYS.FIND_COORDINATOR> | null> {
    for (const brokerId of replicaIds) {
      const connection = this.connectionTo(brokerId);
      if (connection === null) continue;
      try {
        const { response } = await connection.request(API_KEYS.FIND_COORDINATOR, { key }, [],
          { timeoutMs: LOOKUP_TIMEOUT_MS });
        if (response.errorCode === 0) {
          return { errorCode: 0, errorMessage: '', nodeId: response.nodeId, host: response.host, port: response.port };
        }
      } catch {
        // This replica's broker did not answer (it may be down): ask the next.
      }
    }
    return null;
  }

  private connectionTo(brokerId: number): Connection | null {
    if (this.closed) return null;
    const broker = this.context.controller.metadata.broker(brokerId);
    if (broker === undefined || broker.fenced) return null;
    const address = `${broker.host}:${broker.port}`;
    const known = this.connections.get(brokerId);
    if (known?.address === address) return known.connection;
    if (known !== undefined) void known.connection.close();
    const connection = new Connection({ address, clientId: FORWARDED_LOOKUP_CLIENT_ID,
      requestTimeoutMs: LOOKUP_TIMEOUT_MS, logger: this.logger,
      ...curveOptionsFor(this.context.clientSecurity, brokerId) });
    this.connections.set(brokerId, { address, connection });
    return connection;
  }

  async close(): Promise<void> {
    this.closed = true;
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(connections.map((known) => known.connection.close()));
  }
}
