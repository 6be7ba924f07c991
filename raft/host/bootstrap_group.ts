/**
 * Writes a new group's bootstrap (raft/core/bootstrap.ts: one committed add_voter entry per initial
 * voter) into a replica's storage, when the replica has not begun the group yet: no hard state saved
 * (term 0, so it never voted nor acknowledged an entry: a new term is saved before any answer
 * leaves) and a log that is empty or holds the start of these very entries. The latter is a
 * bootstrap cut short by a crash between the entries' append and the hard state's save; left as it
 * was, its entries would stay uncommitted, the replica would not count itself a voter, and a group
 * whose only voter it is would never elect a leader. Anything else in the log came from a leader
 * and is left to Raft.
 *
 * The entries are made durable before the hard state that commits them, so no crash leaves a
 * commit index past the log (which a restart takes for lost entries, to be brought back by peers
 * before the replica votes: a sole voter would wait forever).
 */
import { bootstrapEntries, isStorageError } from '../core/index.js';
import type { Entry, NodeId } from '../core/index.js';
import type { ReplicaStorage } from './replica.js';

export type BootstrapStorage = Pick<ReplicaStorage, 'initialState' | 'lastIndex' | 'entries' | 'append' | 'sync' |
  'saveHardState'>;

/** True when it bootstrapped the group here, false when the replica had already begun it. */
export async function bootstrapUnstartedGroup(storage: BootstrapStorage, voters: readonly NodeId[]): Promise<boolean> {
  if (storage.initialState().hardState.term !== 0) return false;
  const boot = bootstrapEntries(voters);
  const held = storage.lastIndex();
  if (held > boot.entries.length) return false;
  if (held > 0) {
    const existing = storage.entries(1, held + 1, Number.MAX_SAFE_INTEGER);
    if (isStorageError(existing) || existing.some((entry, i) => !sameEntry(entry, boot.entries[i]))) return false;
  }
  await storage.append(boot.entries);
  await storage.sync();
  await storage.saveHardState(boot.hardState);
  return true;
}

function sameEntry(held: Entry, bootstrap: Entry | undefined): boolean {
  return bootstrap !== undefined && held.index === bootstrap.index && held.term === bootstrap.term
    && held.type === bootstrap.type && Buffer.from(held.data).equals(bootstrap.data);
}
