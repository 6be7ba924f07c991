/**
 * membership: change which brokers hold what while the workload runs. Kinds (membership_plan.ts
 * picks one, keeping the broker count within start..start+2):
 * - move: a random jepsen partition's replicas go to another random set of live brokers of the
 *   same size (Admin.reassignPartitions); the heal waits, bounded, until the move is done;
 * - add: a fresh non-voter broker with a new id joins (its own ports, behind the relays);
 * - remove: `cluster decommission` of a non-voter (one added first when there is none to spare);
 * - replace-voter: `cluster controllers add` of a non-voter, then `controllers remove` of an old
 *   voter, which stays a broker.
 * A step that a command refuses, that this build does not support, or that times out does not stop
 * the run: its outcome goes into the history (the fault's `error`) and into the run's tallies.
 */
import { assert } from '../../raft/core/assert.js';
import type { Admin } from '../../src/client/index.js';
import { describeError } from '../client.js';
import type { JepsenCluster } from '../cluster.js';
import { topicOfKey } from '../history.js';
import { addControllerVoter, decommission, removeControllerVoter } from './membership_commands.js';
import type { CommandOutcome } from './membership_commands.js';
import { chooseMembershipStep, chooseNewReplicas } from './membership_plan.js';
import type { MembershipState, MembershipStep } from './membership_plan.js';
import type { Fault, Nemesis, NemesisContext } from './nemesis.js';
import { pickOne, sorted } from './targets.js';

/** How long the heal of a move waits for it to finish. */
const MOVE_WAIT_MS = 30_000;
/** How long a joining broker may take to register. */
const JOIN_WAIT_MS = 20_000;
/** How long a decommissioned broker may take to exit by itself. */
const DEPARTURE_WAIT_MS = 30_000;
const POLL_MS = 250;
/** Replication factor of the jepsen topics (topics.ts): min(3, starting brokers). */
const JEPSEN_RF_MAX = 3;

/** What membership faults did over a run, by step and outcome ("move ok", "decommission unsupported"). */
export type MembershipTallies = Record<string, number>;

interface Move {
  readonly key: number;
  readonly topic: string;
  readonly partition: number;
  readonly from: readonly number[];
  readonly to: readonly number[];
}

async function describeVoters(admin: Admin): Promise<{ voters: number[]; live: number[] } | null> {
  try {
    const cluster = await admin.describeCluster();
    const fenced = new Set(cluster.fencedBrokers.map((broker) => broker.id));
    return { voters: [...cluster.controllerVoterIds],
      live: cluster.brokers.map((broker) => broker.id).filter((id) => !fenced.has(id)) };
  } catch {
    return null;
  }
}

/** A random key's partition and a new replica set for it, or null when none can be planned now. */
async function planMove(context: NemesisContext, live: readonly number[]): Promise<Move | null> {
  const keys = context.liveKeys();
  if (keys.length === 0) return null;
  const key = pickOne(context.prng, keys);
  const { topic, partition } = topicOfKey(key);
  try {
    const described = await context.admin.describeTopic(topic);
    const from = described.partitions.find((p) => p.partition === partition)?.replicaIds ?? [];
    if (from.length === 0) return null;
    const to = chooseNewReplicas(context.prng, from, live);
    return to === null ? null : { key, topic, partition, from: [...from], to };
  } catch {
    return null;
  }
}

/** Whether the move is done: no longer listed as under way, and the replicas are the target. */
async function moveDone(admin: Admin, move: Move): Promise<boolean> {
  try {
    const ongoing = await admin.listPartitionReassignments();
    if (ongoing.some((m) => m.topic === move.topic && m.partition === move.partition)) return false;
    const described = await admin.describeTopic(move.topic);
    const replicas = described.partitions.find((p) => p.partition === move.partition)?.replicaIds ?? [];
    const target = sorted(move.to);
    return replicas.length === target.length && sorted(replicas).every((id, i) => id === target[i]);
  } catch {
    return false;
  }
}

function describeStep(step: MembershipStep, move: Move | null): string {
  switch (step.kind) {
    case 'move':
      assert(move !== null, 'a move step has a planned move');
      return `move key ${move.key} (${move.topic}/${move.partition}) [${move.from.join(',')}] -> [${move.to.join(',')}]`;
    case 'add': return `add broker ${step.id}`;
    case 'remove': return step.added ? `add broker ${step.id}, then decommission it` : `decommission broker ${step.id}`;
    case 'replace-voter':
      return `replace controller voter ${step.demote} with ${step.promote}${step.added ? ` (broker ${step.promote} added first)` : ''}`;
  }
}

function nodesOf(step: MembershipStep, move: Move | null): number[] {
  switch (step.kind) {
    case 'move': return sorted([...new Set([...move?.from ?? [], ...move?.to ?? []])]);
    case 'add': case 'remove': return [step.id];
    case 'replace-voter': return sorted([step.promote, step.demote]);
  }
}

/** One run's membership nemesis: it remembers the voters its own commands set and tallies outcomes. */
export function createMembershipNemesis(): Nemesis & { readonly tallies: MembershipTallies } {
  const tallies: MembershipTallies = {};
  let knownVoters: number[] | null = null;
  const tally = (name: string): void => { tallies[name] = (tallies[name] ?? 0) + 1; };

  async function join(cluster: JepsenCluster, voters: readonly number[], notes: string[]): Promise<number> {
    const id = await cluster.addBroker(voters);
    const listed = await cluster.waitUntilListed(id, JOIN_WAIT_MS);
    tally(listed ? 'add ok' : 'add indeterminate');
    notes.push(listed ? `broker ${id} joined` : `broker ${id} started, not registered within ${JOIN_WAIT_MS} ms`);
    return id;
  }

  function record(step: string, outcome: CommandOutcome, notes: string[]): boolean {
    tally(`${step} ${outcome.status}`);
    notes.push(outcome.text);
    return outcome.status === 'ok';
  }

  return {
    family: 'membership',
    tallies,
    plan: async (context) => {
      const { cluster, admin, prng } = context;
      knownVoters ??= cluster.startingIds();
      const described = await describeVoters(admin);
      const voters = described?.voters ?? knownVoters;
      const members = cluster.ids();
      const live = members.filter((id) => cluster.state(id) === 'running' && (described?.live.includes(id) ?? true));
      const rf = Math.min(JEPSEN_RF_MAX, cluster.startingIds().length);
      const state: MembershipState = { startCount: cluster.startingIds().length, brokers: members, voters,
        leaving: members.filter((id) => cluster.isLeaving(id)),
        nextId: cluster.peekNextId(), spareIds: cluster.spareIdsLeft(),
        movable: live.length > rf && context.liveKeys().length > 0 };
      let step = chooseMembershipStep(prng, state);
      let move: Move | null = null;
      if (step?.kind === 'move') {
        move = await planMove(context, live);
        if (move === null) step = chooseMembershipStep(prng, { ...state, movable: false });
      }
      const notes: string[] = [];
      if (step === null) {
        tally('none possible');
        return { value: { family: 'membership', description: 'no membership change possible', nodes: [] },
          apply: () => Promise.resolve(), heal: () => Promise.resolve(), outcome: () => null };
      }
      const chosen = step;
      let moveStarted = false;
      const apply = async (): Promise<void> => {
        switch (chosen.kind) {
          case 'move': {
            assert(move !== null, 'a move step has a planned move');
            try {
              const [result] = await admin.reassignPartitions([{ topic: move.topic, partition: move.partition,
                replicas: move.to }]);
              if (result?.error != null) {
                record('move', { status: 'refused', text: `move refused: ${describeError(result.error)}` }, notes);
              } else {
                moveStarted = true;
              }
            } catch (error) {
              // The request may have been recorded: the heal still waits for the move.
              moveStarted = true;
              notes.push(`move request unanswered: ${describeError(error)}`);
            }
            return;
          }
          case 'add':
            await join(cluster, voters, notes);
            return;
          case 'remove': {
            if (chosen.added) await join(cluster, voters, notes);
            cluster.setLeaving(chosen.id, true);
            const outcome = await decommission(cluster, chosen.id);
            if (record('decommission', outcome, notes)) {
              const left = await cluster.awaitDeparture(chosen.id, DEPARTURE_WAIT_MS);
              notes.push(left ? `broker ${chosen.id} exited by itself` : `broker ${chosen.id} did not exit; stopped`);
            } else if (outcome.status === 'unsupported') {
              cluster.setLeaving(chosen.id, false);
            }
            // Otherwise (refused after it may have begun, or timed out) it stays a member that may
            // still leave: if it exits 0 by itself it is gone, and no later step picks it.
            return;
          }
          case 'replace-voter': {
            if (chosen.added) await join(cluster, voters, notes);
            const promoted = await addControllerVoter(cluster, chosen.promote);
            if (!record('controllers-add', promoted, notes)) return;
            knownVoters = sorted([...new Set([...voters, chosen.promote])]);
            const demoted = await removeControllerVoter(cluster, chosen.demote);
            if (record('controllers-remove', demoted, notes)) knownVoters = knownVoters.filter((id) => id !== chosen.demote);
            return;
          }
        }
      };
      const heal = async (): Promise<void> => {
        if (chosen.kind !== 'move' || move === null || !moveStarted) return;
        const started = Date.now();
        let done = await moveDone(admin, move);
        while (!done && Date.now() - started < MOVE_WAIT_MS) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          done = await moveDone(admin, move);
        }
        tally(done ? 'move ok' : 'move indeterminate');
        notes.push(done ? 'move done' : `move not done within ${MOVE_WAIT_MS} ms of the heal`);
      };
      const fault: Fault = {
        value: { family: 'membership', description: describeStep(chosen, move), nodes: nodesOf(chosen, move) },
        apply, heal, outcome: () => (notes.length === 0 ? null : notes.join('; ')),
      };
      return fault;
    },
  };
}
