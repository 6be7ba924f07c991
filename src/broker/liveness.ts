/**
 * Broker liveness, kept by the controller leader (Kafka's broker heartbeats and session timeout):
 * every broker heartbeats the leader; a registered broker silent for `sessionTimeoutMs` is fenced
 * by a FenceBroker command, and unfenced when it heartbeats again with the same incarnation. A new
 * leader gives every broker a full session before fencing anyone, and so does a new registration
 * (a restarted broker registers unfenced, maybe before its first heartbeat of that incarnation
 * arrives: counting its silence from the leader's start fenced it at once, and a test then found
 * it fenced two seconds after seeing it unfenced). Pure bookkeeping: the broker
 * feeds it heartbeats and the clock, and proposes the commands it returns.
 */
import type { MetadataCommand } from '../controller/commands.js';
import type { BrokerInfo } from '../controller/metadata_state_machine.js';

const REPROPOSE_AFTER_MS = 2_000;

export class BrokerLiveness {
  private readonly lastSeenMs = new Map<number, { incarnation: number; atMs: number }>();
  private leaderSinceMs: number | null = null;
  /** When this leader first saw each broker's registered incarnation: its session starts there. */
  private readonly registeredSeenMs = new Map<number, { incarnation: number; atMs: number }>();
  /** When a fence or unfence was last proposed per broker: no re-proposal while it may still apply. */
  private readonly proposedAtMs = new Map<number, number>();

  constructor(private readonly sessionTimeoutMs: number) {}

  heartbeat(brokerId: number, incarnation: number, nowMs: number): void {
    this.lastSeenMs.set(brokerId, { incarnation, atMs: nowMs });
  }

  /** Called on every check; `isLeader` false forgets the grace period so the next term starts anew. */
  commands(brokers: readonly BrokerInfo[], isLeader: boolean, nowMs: number): MetadataCommand[] {
    if (!isLeader) {
      this.leaderSinceMs = null;
      this.registeredSeenMs.clear();
      return [];
    }
    this.leaderSinceMs ??= nowMs;
    const commands: MetadataCommand[] = [];
    for (const broker of brokers) {
      const registered = this.registeredSeenMs.get(broker.brokerId);
      if (registered?.incarnation !== broker.incarnation) {
        this.registeredSeenMs.set(broker.brokerId, { incarnation: broker.incarnation, atMs: nowMs });
      }
      const registeredAtMs = this.registeredSeenMs.get(broker.brokerId)?.atMs ?? nowMs;
      if (nowMs - (this.proposedAtMs.get(broker.brokerId) ?? -Infinity) < REPROPOSE_AFTER_MS) continue;
      const seen = this.lastSeenMs.get(broker.brokerId);
      const seenAtMs = seen?.incarnation === broker.incarnation ? seen.atMs : this.leaderSinceMs;
      const silentMs = nowMs - Math.max(seenAtMs, this.leaderSinceMs, registeredAtMs);
      const heardLately = seen?.incarnation === broker.incarnation && nowMs - seen.atMs < this.sessionTimeoutMs;
      let command: MetadataCommand | null = null;
      if (!broker.fenced && silentMs > this.sessionTimeoutMs) {
        command = { type: 'fenceBroker', brokerId: broker.brokerId, incarnation: broker.incarnation };
      } else if (broker.fenced && heardLately) {
        command = { type: 'unfenceBroker', brokerId: broker.brokerId, incarnation: broker.incarnation };
      }
      if (command === null) continue;
      this.proposedAtMs.set(broker.brokerId, nowMs);
      commands.push(command);
    }
    return commands;
  }
}
