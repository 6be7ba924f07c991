/**
 * The simulator's network: per directed link it drops, delays, duplicates and (through random
 * delays) reorders messages, and a partition blocks any set of directed links. Messages wait in
 * per-tick buckets; everything is driven by the seeded Prng, so a seed replays exactly.
 */
import type { Message, NodeId, Prng } from '../../raft/core/index.js';

export interface NetworkFaults {
  dropProbability: number;
  duplicateProbability: number;
  /** Delivery happens 1..delayTicksMax ticks after sending. */
  delayTicksMax: number;
  /** Shuffle the messages due in one tick; a healthy link is FIFO like one TCP connection. */
  reorder: boolean;
}

export const healthyNetwork: NetworkFaults = {
  dropProbability: 0, duplicateProbability: 0, delayTicksMax: 1, reorder: false,
};

/** A bound on messages in flight, so a runaway sender fails the run instead of eating memory. */
export const inFlightMessagesMax = 200_000;

export class SimNetwork {
  faults: NetworkFaults = healthyNetwork;
  private readonly buckets = new Map<number, Message[]>();
  private readonly blocked = new Set<number>();
  private inFlight = 0;
  sentCount = 0;

  constructor(private readonly prng: Prng) {}

  private static link(from: NodeId, to: NodeId): number {
    return from * 1024 + to;
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(SimNetwork.link(from, to));
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(SimNetwork.link(from, to));
  }

  heal(): void {
    this.blocked.clear();
  }

  blockedLinkCount(): number {
    return this.blocked.size;
  }

  send(message: Message, nowTick: number): void {
    this.sentCount += 1;
    if (this.isBlocked(message.from, message.to)) return;
    if (this.prng.nextFloat() < this.faults.dropProbability) return;
    this.schedule(message, nowTick);
    if (this.prng.nextFloat() < this.faults.duplicateProbability) this.schedule(message, nowTick);
  }

  private schedule(message: Message, nowTick: number): void {
    if (this.inFlight >= inFlightMessagesMax) throw new Error('simulated network overflow');
    const dueTick = nowTick + 1 + this.prng.nextInt(Math.max(1, this.faults.delayTicksMax));
    const bucket = this.buckets.get(dueTick);
    if (bucket === undefined) {
      this.buckets.set(dueTick, [message]);
    } else {
      bucket.push(message);
    }
    this.inFlight += 1;
  }

  /** Messages due at tick (shuffled if reordering); links blocked meanwhile lose their messages. */
  takeDue(tick: number): Message[] {
    const bucket = this.buckets.get(tick);
    if (bucket === undefined) return [];
    this.buckets.delete(tick);
    this.inFlight -= bucket.length;
    for (let i = this.faults.reorder ? bucket.length - 1 : 0; i > 0; i--) {
      const j = this.prng.nextInt(i + 1);
      const swap = bucket[i]!;
      bucket[i] = bucket[j]!;
      bucket[j] = swap;
    }
    return bucket.filter((message) => !this.isBlocked(message.from, message.to));
  }
}
