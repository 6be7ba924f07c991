/**
 * The deterministic simulator: a cluster of SimNodes on a SimNetwork, driven tick by tick from
 * one seed. A fault phase mixes network faults, partitions, crashes with lost unsynced writes,
 * disk faults that lose a durable log suffix (disk_loss.ts), membership changes, leadership
 * transfers, reads and client proposals; then every fault heals and the cluster must elect a
 * leader and commit a new proposal within a tick bound. Safety invariants are checked after
 * every step (checkers.ts).
 */
import type { Message, Mutation, NodeId, RawNode, Ready } from '../../raft/core/index.js';
import { ConfChangeType, Role, SeededPrng, makeConfig } from '../../raft/core/index.js';
import { SafetyChecker, Violation } from './checkers.js';
import { describeMessage } from './describe.js';
import { DiskLossBudget, diskLossVotersMin, drawDiskLoss, membershipSettled } from './disk_loss.js';
import type { FaultPlan } from './fault_plan.js';
import { drawFaultPlan } from './fault_plan.js';
import { applyRandomPartition } from './partitions.js';
import { SimNetwork, healthyNetwork } from './sim_network.js';
import { SimNode } from './sim_node.js';
import { decodePayload, encodePayload } from './state_machine.js';
import { Trace } from './trace.js';
import { nextReassignmentStep } from '../../src/partition/reassignment_steps.js';

export interface SimOptions {
  readonly seed: number;
  /** Initial voters (3 or 5); one spare node more joins and leaves through membership changes. */
  readonly nodeCount: number;
  readonly faultTicks: number;
  readonly livenessTicksMax: number;
  readonly mutations?: readonly Mutation[];
  /** Events kept for the failure trace; 0 disables tracing (the fast path). */
  readonly traceEventsMax: number;
  /** Override the drawn fault plan (e.g. a calm run). */
  readonly plan?: FaultPlan;
  /** Override some rates of the drawn plan (e.g. disk loss on every crash). */
  readonly planOverrides?: Partial<FaultPlan>;
  /**
   * How membership changes are chosen: at random (the default), or as partition moves do, by
   * src/partition/reassignment_steps.ts towards targets of nodeCount nodes drawn in turn.
   */
  readonly membership?: 'random' | 'reassignment';
}

export interface SimStats {
  ticks: number;
  messagesSent: number;
  crashes: number;
  leaderChanges: number;
  acked: number;
  confChanges: number;
  transfers: number;
  reads: number;
  snapshotsSent: number;
  diskLosses: number;
  /** Disk losses that cut the log below the node's persisted commit. */
  diskLossesBelowCommit: number;
  /** Moves that reached their target (membership 'reassignment'). */
  movesDone: number;
}

const groupId = 1;
const readsPendingMax = 64;

export class SimCluster {
  readonly prng: SeededPrng;
  readonly plan: FaultPlan;
  readonly network: SimNetwork;
  readonly nodes: SimNode[];
  readonly checker: SafetyChecker;
  readonly trace: Trace;
  readonly stats: SimStats = { ticks: 0, messagesSent: 0, crashes: 0, leaderChanges: 0, acked: 0,
    confChanges: 0, transfers: 0, reads: 0, snapshotsSent: 0, diskLosses: 0, diskLossesBelowCommit: 0, movesDone: 0 };
  tick = 0;
  private nextProposalId = 1;
  private nextReadContext = 1;
  private readonly reads = new Map<number, number>();
  private healedTick = 0;
  livenessAckIndex = 0;
  private readonly roles = new Map<NodeId, string>();
  private readonly diskLossBudget = new DiskLossBudget();

  constructor(readonly options: SimOptions) {
    this.prng = new SeededPrng(options.seed);
    // Odd seeds run with broadcastCommit off, set here rather than drawn so that a seed's other
    // draws (its faults and proposals) stay what they were before the option existed.
    this.plan = { ...(options.plan ?? { ...drawFaultPlan(this.prng), broadcastCommit: options.seed % 2 === 0 }),
      ...options.planOverrides };
    this.network = new SimNetwork(this.prng);
    this.network.faults = { dropProbability: this.plan.dropProbability,
      duplicateProbability: this.plan.duplicateProbability, delayTicksMax: this.plan.delayTicksMax,
      reorder: true };
    const voters = Array.from({ length: options.nodeCount }, (_, i) => i + 1);
    const spare = options.nodeCount + 1;
    this.nodes = [...voters, spare].map((id) => new SimNode(id, id === spare ? undefined : voters));
    this.checker = new SafetyChecker((id) => this.node(id).storage);
    this.trace = new Trace(options.traceEventsMax);
    for (const node of this.nodes) this.startNode(node);
  }

  node(id: NodeId): SimNode {
    return this.nodes[id - 1]!;
  }

  private startNode(node: SimNode): void {
    const config = makeConfig(node.id, groupId, new SeededPrng(this.prng.nextUint32()), {
      electionTimeoutTicks: 10, heartbeatIntervalTicks: 2, inflightMessagesMax: 4,
      appendBytesMax: this.plan.appendBytesMax, broadcastCommit: this.plan.broadcastCommit,
      uncommittedBytesMax: 4096, snapshotTimeoutTicks: 40, outboxMessagesMax: 1024,
      ...(this.options.mutations === undefined ? {} : { mutations: this.options.mutations }),
    });
    node.start(config, this.checker);
    this.roles.set(node.id, '');
  }

  /** Runs the fault phase, heals, and requires liveness; throws Violation on any failure. */
  run(): void {
    for (let i = 0; i < this.options.faultTicks; i++) this.step(true);
    this.heal();
    while (!this.converged()) {
      if (this.tick - this.healedTick >= this.options.livenessTicksMax) {
        const what = this.livenessAckIndex === 0 ? 'no new proposal committed' : 'members did not catch up';
        throw new Violation('liveness',
          `${what} within ${this.options.livenessTicksMax} ticks after healing ` +
          `(leader: ${this.leader()?.id ?? 'none'})`);
      }
      this.step(false);
    }
    this.checker.checkFinalLogs(this.nodes);
    this.stats.ticks = this.tick;
    this.stats.messagesSent = this.network.sentCount;
    this.stats.acked = this.checker.acked.length;
  }

  /**
   * Liveness after healing: a proposal made after the heal was acknowledged, and every member of
   * the leader's configuration (learners too) has applied it.
   */
  private converged(): boolean {
    if (this.livenessAckIndex === 0) return false;
    const raw = this.leader()?.raw;
    if (raw === undefined) return false;
    const conf = raw.raft.tracker.conf;
    return [...conf.voters, ...conf.learners].every((id) => {
      const node = this.node(id);
      return node.alive && node.machine.appliedIndex >= this.livenessAckIndex;
    });
  }

  private heal(): void {
    this.network.heal();
    this.network.faults = healthyNetwork;
    for (const node of this.nodes) {
      if (!node.alive) this.restart(node);
    }
    this.healedTick = this.tick;
    this.trace.add(this.tick, () => 'HEAL: network healed, all nodes running');
  }

  step(faults: boolean): void {
    this.tick += 1;
    if (faults) this.injectFaults();
    for (const node of this.nodes) {
      if (!node.alive && node.restartTick <= this.tick && faults) this.restart(node);
    }
    this.clientActions(faults);
    for (const node of this.nodes) {
      if (node.raw === undefined) continue;
      node.raw.tick();
      this.afterStep(node);
    }
    for (const message of this.network.takeDue(this.tick)) this.deliver(message);
    for (const node of this.nodes) {
      if (node.pending !== undefined && node.pending.dueTick <= this.tick) this.persist(node);
      this.processReady(node);
    }
  }

  private deliver(message: Message): void {
    const node = this.node(message.to);
    if (node.raw === undefined) return;
    this.trace.add(this.tick, () => `deliver ${describeMessage(message)}`);
    node.raw.step(message);
    this.afterStep(node);
  }

  private afterStep(node: SimNode): void {
    const raw = node.raw!;
    this.checker.afterStep(node.id, raw);
    const r = raw.raft;
    const role = `${r.role}@${r.term}`;
    if (this.roles.get(node.id) !== role) {
      this.roles.set(node.id, role);
      if (r.role === Role.leader) this.stats.leaderChanges += 1;
      this.trace.add(this.tick, () => `node ${node.id} is ${r.role} term ${r.term} ` +
        `(last ${r.log.lastIndex()}, ` +
        `commit ${r.log.committed}, voters ${raw.raft.tracker.voters().join(',')})`);
    }
  }

  private processReady(node: SimNode): void {
    for (let round = 0; round < 4; round++) {
      const raw = node.raw;
      if (raw === undefined || node.pending !== undefined || !raw.hasReady()) return;
      const ready = raw.ready();
      this.handleReady(node, raw, ready);
      const delayTicks = this.prng.nextInt(this.plan.persistDelayTicksMax + 1);
      node.pending = { ready, dueTick: this.tick + delayTicks };
      if (delayTicks > 0) return;
      this.persist(node);
    }
  }

  /** The parts of a Ready a host may do before persisting: send, apply, answer reads. */
  private handleReady(node: SimNode, raw: RawNode, ready: Ready): void {
    for (const message of ready.messages) {
      if (message.type === 'snapshot_request') this.stats.snapshotsSent += 1;
      this.network.send(message, this.tick);
    }
    if (ready.snapshot !== undefined && ready.committedEntries.length > 0) {
      throw new Violation('ready', 'committed entries alongside a snapshot to install');
    }
    for (const entry of ready.committedEntries) {
      node.apply(entry, this.checker);
      const proposal = node.proposals.get(entry.index);
      if (proposal === undefined) continue;
      node.proposals.delete(entry.index);
      if (proposal.term !== entry.term || decodePayload(entry.data) !== proposal.proposalId) continue;
      this.checker.onAck({ proposalId: proposal.proposalId, index: entry.index, term: entry.term });
      this.trace.add(this.tick, () => `ack proposal ${proposal.proposalId} at ${entry.index} t${entry.term}`);
      if (this.healedTick > 0 && proposal.proposedTick > this.healedTick && this.livenessAckIndex === 0) {
        this.livenessAckIndex = entry.index;
      }
    }
    for (const read of ready.readStates) {
      const ackedAtRequest = this.reads.get(read.context);
      if (ackedAtRequest === undefined) continue;
      this.reads.delete(read.context);
      this.checker.onReadState(node.id, read.index, ackedAtRequest);
    }
    if (ready.entries.length > 0 || ready.hardState !== undefined) {
      this.trace.add(this.tick, () => `node ${node.id} ready: entries ${ready.entries.length} ` +
        `hard ${JSON.stringify(ready.hardState)} apply ${ready.committedEntries.length} ` +
        `send ${ready.messages.length}` +
        ` role ${raw.raft.role}`);
    }
  }

  private persist(node: SimNode): void {
    node.persist(this.checker);
    if (node.raw === undefined) return;
    this.afterStep(node);
    node.maybeCompact(this.plan.compactEntries);
  }

  private restart(node: SimNode): void {
    this.startNode(node);
    this.trace.add(this.tick, () => `node ${node.id} restarted (durable last ${node.storage.lastIndex()}, ` +
      `hard ${JSON.stringify(node.storage.hardState())})`);
  }

  private crash(node: SimNode): void {
    const entries = node.pending?.ready.entries.length ?? 0;
    const torn = entries > 0 && this.prng.nextFloat() < this.plan.tornWriteProbability ?
      this.prng.nextInt(entries) + 1 : 0;
    node.crash(torn, this.checker);
    node.restartTick = this.tick + 1 + this.prng.nextInt(this.plan.restartDelayTicksMax);
    this.stats.crashes += 1;
    this.trace.add(this.tick, () => `node ${node.id} CRASHED (kept ${torn} of ${entries} unsynced entries)`);
    if (this.prng.nextFloat() < this.plan.diskLossProbability) this.loseDisk(node);
  }

  /** The crashed node's disk also lost a durable suffix of its log, if the budget allows it. */
  private loseDisk(node: SimNode): void {
    if (!this.diskLossBudget.allows(node) || !membershipSettled(this.nodes)) return;
    // The bootstrap wrote one config entry per initial voter (see drawDiskLoss).
    const loss = drawDiskLoss(node, this.prng, this.plan.diskLossEntriesMax);
    if (loss === undefined) return;
    node.loseDurableSuffix(loss.fromIndex, this.checker);
    this.diskLossBudget.record(node, loss);
    this.stats.diskLosses += 1;
    if (loss.fromIndex <= loss.commitBefore) this.stats.diskLossesBelowCommit += 1;
    this.trace.add(this.tick, () => `node ${node.id} DISK LOST entries ${loss.fromIndex}..${loss.lastIndexBefore} ` +
      `(persisted commit ${loss.commitBefore})`);
  }

  private injectFaults(): void {
    if (this.prng.nextFloat() < this.plan.partitionProbability) {
      const shape = applyRandomPartition(this.network, this.nodes.map((node) => node.id), this.prng);
      this.trace.add(this.tick, () => shape);
    }
    if (this.prng.nextFloat() < this.plan.leaderFaultProbability) this.leaderFault();
    if (this.prng.nextFloat() < this.plan.crashProbability) {
      const node = this.nodes[this.prng.nextInt(this.nodes.length)]!;
      if (node.alive) this.crash(node);
    }
  }

  private leaderFault(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    if (this.prng.nextFloat() < 0.5) {
      this.crash(leader);
      return;
    }
    this.network.heal();
    for (const node of this.nodes) {
      if (node.id === leader.id) continue;
      this.network.block(leader.id, node.id);
      this.network.block(node.id, leader.id);
    }
    this.trace.add(this.tick, () => `partition isolate leader ${leader.id}`);
  }

  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes) {
      const r = node.raw?.raft;
      if (r?.role !== Role.leader) continue;
      if (best === undefined || r.term > best.raw!.raft.term) best = node;
    }
    return best;
  }

  private clientActions(faults: boolean): void {
    if (this.prng.nextFloat() < this.plan.proposalProbability) this.propose();
    if (this.prng.nextFloat() < this.plan.readProbability) this.read();
    if (faults && this.prng.nextFloat() < this.plan.confChangeProbability) this.changeMembership();
    if (faults && this.prng.nextFloat() < this.plan.transferProbability) this.transfer();
  }

  /** Clients talk to the newest leader, to any node that believes it leads, or to anyone. */
  private proposalTarget(): SimNode | undefined {
    const draw = this.prng.nextFloat();
    if (draw < 0.5) return this.leader();
    if (draw < 0.9) {
      const leaders = this.nodes.filter((node) => node.raw?.raft.role === Role.leader);
      return leaders[this.prng.nextInt(Math.max(1, leaders.length))];
    }
    return this.nodes[this.prng.nextInt(this.nodes.length)];
  }

  private propose(): void {
    const target = this.proposalTarget();
    const raw = target?.raw;
    if (target === undefined || raw === undefined) return;
    const proposalId = this.nextProposalId++;
    const result = raw.propose(encodePayload(proposalId));
    if (result.kind !== 'accepted') return;
    target.proposals.set(result.index, { proposalId, term: result.term, proposedTick: this.tick });
    this.trace.add(this.tick,
      () => `propose ${proposalId} at node ${target.id}: index ${result.index} t${result.term}`);
  }

  private read(): void {
    const leader = this.leader();
    if (leader?.raw === undefined || this.reads.size >= readsPendingMax) return;
    const context = this.nextReadContext++;
    if (leader.raw.readIndex(context).kind !== 'accepted') return;
    this.reads.set(context, this.checker.maxAckedIndex);
    this.stats.reads += 1;
  }

  /** The target of the move under way (membership 'reassignment'). */
  private moveTarget: NodeId[] | undefined;

  /** One step of a partition move, as a partition leader takes it; a new target once one is reached. */
  private stepMove(): void {
    const leader = this.leader();
    const raw = leader?.raw;
    if (leader === undefined || raw === undefined || this.diskLossBudget.outstanding()) return;
    if (this.moveTarget === undefined) {
      // nodeCount of the nodeCount + 1 nodes: one leaves each move, often the leader.
      const leaving = this.prng.nextInt(this.nodes.length) + 1;
      this.moveTarget = this.nodes.map((node) => node.id).filter((id) => id !== leaving);
    }
    const commit = raw.raft.log.committed;
    const matches = raw.matchIndexes();
    const step = nextReassignmentStep(raw.raft.tracker.conf, this.moveTarget, leader.id,
      (id) => (matches.get(id) ?? 0) + 8 >= commit);
    this.trace.add(this.tick, () => `move to ${this.moveTarget?.join(',') ?? ''} at ${leader.id}: ` +
      JSON.stringify(step));
    if (step.kind === 'done') {
      this.moveTarget = undefined;
      this.stats.movesDone += 1;
    } else if (step.kind === 'change') {
      if (raw.proposeConfChange(step.change).kind === 'accepted') this.stats.confChanges += 1;
    } else if (step.kind === 'transferLeadership') {
      if (raw.transferLeadership(step.to).kind === 'accepted') this.stats.transfers += 1;
    }
  }

  private changeMembership(): void {
    if (this.options.membership === 'reassignment') {
      this.stepMove();
      return;
    }
    const leader = this.leader();
    const raw = leader?.raw;
    if (leader === undefined || raw === undefined || this.diskLossBudget.outstanding()) return;
    const conf = raw.raft.tracker.conf;
    const outsiders = this.nodes.map((node) => node.id).filter((id) => !raw.raft.tracker.isMember(id));
    // With disk faults the voters other than one lost node must still form a quorum.
    const voterCountMin = Math.max(this.plan.diskLossProbability > 0 ? diskLossVotersMin : 2,
      this.options.nodeCount - 1);
    const options: { type: ConfChangeType; nodeId: NodeId }[] = [];
    for (const id of outsiders) {
      options.push({ type: ConfChangeType.addLearner, nodeId: id });
      options.push({ type: ConfChangeType.addVoter, nodeId: id });
    }
    for (const id of conf.learners) {
      options.push({ type: ConfChangeType.promoteLearner, nodeId: id });
      options.push({ type: ConfChangeType.removeNode, nodeId: id });
    }
    if (conf.voters.length > voterCountMin) {
      for (const id of conf.voters) options.push({ type: ConfChangeType.removeNode, nodeId: id });
    }
    const change = options[this.prng.nextInt(Math.max(1, options.length))];
    if (change === undefined) return;
    const result = raw.proposeConfChange(change);
    if (result.kind === 'accepted') this.stats.confChanges += 1;
    this.trace.add(this.tick,
      () => `conf change ${change.type} ${change.nodeId} at ${leader.id}: ${result.kind}`);
  }

  private transfer(): void {
    const leader = this.leader();
    const raw = leader?.raw;
    if (leader === undefined || raw === undefined) return;
    const others = raw.raft.tracker.voters().filter((id) => id !== leader.id);
    const target = others[this.prng.nextInt(Math.max(1, others.length))];
    if (target === undefined) return;
    const result = raw.transferLeadership(target);
    if (result.kind === 'accepted') this.stats.transfers += 1;
    this.trace.add(this.tick, () => `transfer leadership ${leader.id} -> ${target}: ${result.kind}`);
  }
}
