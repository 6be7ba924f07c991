/**
 * Bootstrapping a new group: every initial voter starts with the same committed config entries
 * at term 1, one add_voter per voter, so that a node added later learns the full membership
 * history from the log (or from a snapshot) like any other entry.
 */
import { assert } from './assert.js';
import { ConfChangeType, encodeConfChange } from './conf_change.js';
import type { Entry, HardState } from './entries.js';
import { EntryType } from './entries.js';
import type { NodeId } from './ids.js';

export const bootstrapTerm = 1;

export function bootstrapEntries(voters: readonly NodeId[]): { entries: Entry[]; hardState: HardState } {
  assert(voters.length > 0 && new Set(voters).size === voters.length, 'bootstrap needs distinct voters');
  const entries = voters.map((nodeId, i): Entry => ({
    term: bootstrapTerm, index: i + 1, type: EntryType.config,
    data: encodeConfChange({ type: ConfChangeType.addVoter, nodeId }),
  }));
  return { entries, hardState: { term: bootstrapTerm, vote: 0, commit: entries.length } };
}
