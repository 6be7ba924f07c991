/**
 * Membership changes, one server at a time (thesis §4.1): each change alters the voter set by at
 * most one node, so any majority of the old set overlaps any majority of the new one. A change
 * takes effect when its committed entry is applied; a leader proposes no new change until the
 * previous one is applied, and a node does not campaign while a committed change is unapplied.
 */
import { assert, assertNever, assertNatural } from './assert.js';
import type { ConfState } from './entries.js';
import type { NodeId } from './ids.js';

export const ConfChangeType = {
  addVoter: 'add_voter',
  addLearner: 'add_learner',
  promoteLearner: 'promote_learner',
  removeNode: 'remove_node',
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

const typeCodes: readonly ConfChangeType[] = [
  ConfChangeType.addVoter, ConfChangeType.addLearner,
  ConfChangeType.promoteLearner, ConfChangeType.removeNode,
];
const encodedBytes = 9;

/** Layout: 1 byte type code, 8 bytes node id (float64, an exact safe integer). */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const bytes = new Uint8Array(encodedBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, typeCodes.indexOf(change.type));
  view.setFloat64(1, assertNatural(change.nodeId, 'nodeId'));
  return bytes;
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  assert(bytes.byteLength === encodedBytes, () => `conf change must be ${encodedBytes} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = typeCodes[view.getUint8(0)];
  assert(type !== undefined, 'unknown conf change type');
  return { type, nodeId: assertNatural(view.getFloat64(1), 'nodeId') };
}

/** Why a change cannot be applied to conf, or undefined if it can. */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | undefined {
  const isVoter = conf.voters.includes(change.nodeId);
  const isLearner = conf.learners.includes(change.nodeId);
  switch (change.type) {
    case ConfChangeType.addVoter:
      return isVoter ? 'already a voter' : undefined;
    case ConfChangeType.addLearner:
      return isVoter || isLearner ? 'already a member' : undefined;
    case ConfChangeType.promoteLearner:
      return isLearner ? undefined : 'not a learner';
    case ConfChangeType.removeNode:
      if (isVoter && conf.voters.length === 1) return 'cannot remove the last voter';
      return isVoter || isLearner ? undefined : 'not a member';
    default:
      return assertNever(change.type, 'conf change type');
  }
}

/** The membership after change; an invalid change (decided when proposed) leaves conf as is. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  if (confChangeProblem(conf, change) !== undefined) return conf;
  const id = change.nodeId;
  const voters = conf.voters.filter((voter) => voter !== id);
  const learners = conf.learners.filter((learner) => learner !== id);
  switch (change.type) {
    case ConfChangeType.addVoter:
    case ConfChangeType.promoteLearner:
      voters.push(id);
      break;
    case ConfChangeType.addLearner:
      learners.push(id);
      break;
    case ConfChangeType.removeNode:
      break;
    default:
      return assertNever(change.type, 'conf change type');
  }
  return { voters: voters.sort((a, b) => a - b), learners: learners.sort((a, b) => a - b) };
}

export function confStateEqual(a: ConfState, b: ConfState): boolean {
  return a.voters.length === b.voters.length && a.learners.length === b.learners.length &&
    a.voters.every((id, i) => b.voters[i] === id) && a.learners.every((id, i) => b.learners[i] === id);
}
