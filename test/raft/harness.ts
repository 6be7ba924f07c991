/**
 * A small synchronous harness for paper-style unit tests (etcd's raft_paper_test.go network):
 * nodes on MemoryStorage, a FIFO message queue, cut links, and helpers that perform Ready
 * batches exactly as ready.ts prescribes (persist, send, apply, advance).
 */
import type { AppendRequest, AppendResponse, Entry, Message, NodeId, RaftConfigOptions, ReadState, Ready }
  from '../../raft/core/index.js';
import { MemoryStorage, MessageType, RawNode, SeededPrng, bootstrapEntries, makeConfig } from '../../raft/core/index.js';

export const testDefaults: RaftConfigOptions = {
  electionTimeoutTicks: 10, heartbeatIntervalTicks: 1, preVote: false, checkQuorum: false,
};

export class TestNode {
  readonly raw: RawNode;
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];

  constructor(readonly id: NodeId, readonly storage: MemoryStorage, options: RaftConfigOptions,
    seed: number) {
    this.raw = new RawNode(makeConfig(id, 1, new SeededPrng(seed), { ...testDefaults, ...options }), storage);
  }

  get raft(): RawNode['raft'] {
    return this.raw.raft;
  }

  /** Performs a Ready completely (persist, apply, advance) and returns the messages it carried. */
  persistReady(ready: Ready): Message[] {
    if (ready.snapshot !== undefined) this.storage.applySnapshot(ready.snapshot);
    this.storage.append(ready.entries);
    if (ready.hardState !== undefined) this.storage.setHardState(ready.hardState);
    for (const entry of ready.committedEntries) this.applied.push(entry);
    for (const read of ready.readStates) this.readStates.push(read);
    this.raw.advance();
    return ready.messages.slice();
  }

  /** Performs Ready batches until none is left; returns every message they released. */
  drain(): Message[] {
    const messages: Message[] = [];
    for (let round = 0; round < 16 && this.raw.hasReady(); round++) {
      messages.push(...this.persistReady(this.raw.ready()));
    }
    return messages;
  }

  appliedData(): string[] {
    const normal = this.applied.filter((entry) => entry.type === 'normal');
    return normal.map((entry) => new TextDecoder().decode(entry.data));
  }
}

export function bootstrappedStorage(voters: readonly NodeId[]): MemoryStorage {
  const storage = new MemoryStorage();
  const boot = bootstrapEntries(voters);
  storage.append(boot.entries);
  storage.setHardState(boot.hardState);
  return storage;
}

export class Harness {
  readonly nodes = new Map<NodeId, TestNode>();
  readonly queue: Message[] = [];
  private readonly cutLinks = new Set<string>();

  constructor(voters: readonly NodeId[], options: RaftConfigOptions = {},
    extraNodes: readonly NodeId[] = []) {
    for (const id of voters) this.add(id, bootstrappedStorage(voters), options);
    for (const id of extraNodes) this.add(id, new MemoryStorage(), options);
  }

  add(id: NodeId, storage: MemoryStorage, options: RaftConfigOptions = {}): TestNode {
    const node = new TestNode(id, storage, options, id * 7919);
    this.nodes.set(id, node);
    this.queue.push(...node.drain());
    return node;
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(`${a}-${b}`);
    this.cutLinks.add(`${b}-${a}`);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cutLinks.add(`${from}-${to}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cutLinks.clear();
  }

  /** Runs every node's Ready work and queues the messages. */
  flush(): void {
    for (const node of this.nodes.values()) this.queue.push(...node.drain());
  }

  /** Delivers queued messages (and the replies they cause) until nothing is left. */
  stabilize(roundsMax = 200): void {
    this.flush();
    for (let round = 0; round < roundsMax && this.queue.length > 0; round++) {
      const batch = this.queue.splice(0);
      for (const message of batch) this.deliver(message);
      this.flush();
    }
  }

  deliver(message: Message): void {
    if (this.cutLinks.has(`${message.from}-${message.to}`)) return;
    this.nodes.get(message.to)?.raw.step(message);
  }

  tick(id: NodeId, ticks = 1): void {
    for (let i = 0; i < ticks; i++) this.node(id).raw.tick();
  }

  tickAll(ticks = 1): void {
    for (let i = 0; i < ticks; i++) {
      for (const node of this.nodes.values()) node.raw.tick();
      this.stabilize();
    }
  }

  /** Makes id campaign and lets the cluster settle; returns the node. */
  elect(id: NodeId): TestNode {
    this.node(id).raw.campaign();
    this.stabilize();
    return this.node(id);
  }

  propose(id: NodeId, text: string): ReturnType<RawNode['propose']> {
    const result = this.node(id).raw.propose(new TextEncoder().encode(text));
    this.stabilize();
    return result;
  }
}

export function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A normal entry whose data names its place (e5t3). */
export function entry(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: encode(`e${index}t${term}`) };
}

export function appendRequests(messages: readonly Message[]): AppendRequest[] {
  return messages.filter((m): m is AppendRequest => m.type === MessageType.appendRequest);
}

export function appendResponses(messages: readonly Message[]): AppendResponse[] {
  return messages.filter((m): m is AppendResponse => m.type === MessageType.appendResponse);
}
