/**
 * The connection limits of one listener (issue 16 point 5; docs/security.md "Limits"): Kafka's
 * max.connections and max.connections.per.ip, and a limit per principal. Pure bookkeeping: a
 * listener tells it what happens to a connection and acts on its answers (the Kafka listener
 * closes a refused socket, as Kafka does; the ZeroMQ listener, which cannot close one peer,
 * refuses every request of a refused connection).
 *
 * A connection is open()ed (the total and per-address limits; the ZeroMQ listener knows no
 * address) and then admit()ted once its principal is known (the per-principal limit). A refusal
 * is kept until close(): the connection stays refused, as a closed one would, and counts toward no
 * limit, so that refused connections cannot crowd out later ones. A limit of 0 means none.
 */
import { assert } from '../../raft/core/assert.js';

export interface ConnectionLimitSettings {
  /** Connections open at once on the listener (Kafka's max.connections); 0: no limit. */
  readonly maxConnections: number;
  /** Connections open at once from one client address (Kafka's max.connections.per.ip); 0: no limit. */
  readonly maxConnectionsPerAddress: number;
  /** Connections open at once of one principal; 0: no limit. */
  readonly maxConnectionsPerPrincipal: number;
}

export const NO_CONNECTION_LIMITS: ConnectionLimitSettings = {
  maxConnections: 0, maxConnectionsPerAddress: 0, maxConnectionsPerPrincipal: 0,
};

/** Which limit refused a connection (a metrics label). */
export type ConnectionLimitReason = 'total' | 'address' | 'principal';

export interface ConnectionRefusal {
  readonly reason: ConnectionLimitReason;
  /** The limit in force when it was refused. */
  readonly limit: number;
  /** For the client and the log. */
  readonly message: string;
}

type ConnectionEntry =
  | { readonly state: 'open'; readonly address: string | undefined }
  | { readonly state: 'admitted'; readonly address: string | undefined; readonly principal: string }
  | { readonly state: 'refused'; readonly refusal: ConnectionRefusal };

export type ConnectionState = ConnectionEntry['state'];

export class ConnectionLimits {
  private readonly connections = new Map<string, ConnectionEntry>();
  private readonly byAddress = new Map<string, number>();
  private readonly byPrincipal = new Map<string, number>();
  /** Open or admitted connections: what maxConnections bounds. */
  private counted = 0;

  constructor(readonly settings: ConnectionLimitSettings) {
    for (const [name, value] of Object.entries(settings)) {
      assert(Number.isSafeInteger(value) && value >= 0, () => `${name} must be an integer >= 0, got ${String(value)}`);
    }
  }

  /** A connection was accepted: null when it may go on, else why it is refused (it stays refused until close). */
  open(id: string, address?: string): ConnectionRefusal | null {
    assert(!this.connections.has(id), () => `connection ${id} opened twice`);
    const { maxConnections, maxConnectionsPerAddress } = this.settings;
    let refusal: ConnectionRefusal | null = null;
    if (maxConnections > 0 && this.counted >= maxConnections) {
      refusal = { reason: 'total', limit: maxConnections,
        message: `the listener has ${this.counted} connections open, its limit (--max-connections)` };
    } else if (address !== undefined && maxConnectionsPerAddress > 0
      && (this.byAddress.get(address) ?? 0) >= maxConnectionsPerAddress) {
      refusal = { reason: 'address', limit: maxConnectionsPerAddress,
        message: `${address} has ${maxConnectionsPerAddress} connections open, its limit (--max-connections-per-ip)` };
    }
    if (refusal !== null) {
      this.connections.set(id, { state: 'refused', refusal });
      return refusal;
    }
    this.connections.set(id, { state: 'open', address });
    this.counted += 1;
    if (address !== undefined) increment(this.byAddress, address);
    return null;
  }

  /**
   * The connection proved its principal: null when it may go on, else why it is refused. Only the
   * first call decides; later ones return the same answer (a connection's principal is the first
   * one it proved).
   */
  admit(id: string, principal: string): ConnectionRefusal | null {
    const entry = this.connections.get(id);
    assert(entry !== undefined, () => `connection ${id} admitted before it was opened`);
    if (entry.state === 'refused') return entry.refusal;
    if (entry.state === 'admitted') return null;
    const limit = this.settings.maxConnectionsPerPrincipal;
    if (limit > 0 && (this.byPrincipal.get(principal) ?? 0) >= limit) {
      const refusal: ConnectionRefusal = { reason: 'principal', limit,
        message: `${principal} has ${limit} connections open, its limit (--max-connections-per-principal)` };
      this.uncount(entry.address);
      this.connections.set(id, { state: 'refused', refusal });
      return refusal;
    }
    increment(this.byPrincipal, principal);
    this.connections.set(id, { state: 'admitted', address: entry.address, principal });
    return null;
  }

  /** The connection closed: whatever it counted toward is freed. False when it was not known. */
  close(id: string): boolean {
    const entry = this.connections.get(id);
    if (entry === undefined) return false;
    this.connections.delete(id);
    if (entry.state === 'refused') return true;
    this.uncount(entry.address);
    if (entry.state === 'admitted') decrement(this.byPrincipal, entry.principal);
    return true;
  }

  stateOf(id: string): ConnectionState | undefined {
    return this.connections.get(id)?.state;
  }

  /** The refusal a refused connection got, or null. */
  refusalOf(id: string): ConnectionRefusal | null {
    const entry = this.connections.get(id);
    return entry?.state === 'refused' ? entry.refusal : null;
  }

  /** Connections known now: counted (open or admitted) and refused ones (for tests and logs). */
  get size(): { readonly counted: number; readonly refused: number } {
    return { counted: this.counted, refused: this.connections.size - this.counted };
  }

  /** Admitted connections of a principal. */
  connectionsOfPrincipal(principal: string): number {
    return this.byPrincipal.get(principal) ?? 0;
  }

  /** Counted connections from an address. */
  connectionsOfAddress(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  private uncount(address: string | undefined): void {
    this.counted -= 1;
    assert(this.counted >= 0, 'connection count went negative');
    if (address !== undefined) decrement(this.byAddress, address);
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Counts at zero are removed, so that the maps hold only what is open. */
function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 0) - 1;
  assert(left >= 0, () => `connection count of ${key} went negative`);
  if (left === 0) counts.delete(key);
  else counts.set(key, left);
}
