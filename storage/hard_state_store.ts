/**
 * Raft hard state (term, vote, commit) per log, in the broker's LMDB environment. `save` resolves
 * only after LMDB has flushed the transaction to disk: a vote must never be forgotten by a crash.
 *
 * Beside it, a high-water mark: the highest index the log had made durable when the hard state
 * was last saved. Entries up to it may have been acknowledged to a leader, so if the log comes
 * back shorter (a damaged tail) the replica must recover them before it votes (see
 * Log.recoveredHardState). It only goes down when the log legitimately shrinks (lowerHighWater).
 */
import type { Database, RootDatabase } from 'lmdb';
import { assert } from '../raft/core/assert.js';
import type { HardState } from './types.js';

/** [term, vote, commit, high water]; records older than the high water have three fields. */
type Stored = [number, number, number, number?];

const NO_VOTE = -1;

export class HardStateStore {
  private readonly states: Database<Stored, number>;

  constructor(private readonly root: RootDatabase) {
    this.states = root.openDB({ name: 'hard_state' });
  }

  load(logId: number): HardState {
    const value = this.states.get(logId);
    if (value === undefined) return { term: 0, vote: null, commit: 0 };
    return { term: value[0], vote: value[1] === NO_VOTE ? null : value[1], commit: value[2] };
  }

  highWater(logId: number): number {
    const value = this.states.get(logId);
    return value === undefined ? 0 : value[3] ?? value[2];
  }

  /** Saves the hard state; the high water only rises here (to `highWater` when given). */
  async save(logId: number, state: HardState, highWater = 0): Promise<void> {
    assert(Number.isSafeInteger(state.term) && state.term >= 0, 'term must be an integer >= 0');
    assert(Number.isSafeInteger(state.commit) && state.commit >= 0, 'commit must be an integer >= 0');
    assert(state.vote === null || (Number.isSafeInteger(state.vote) && state.vote >= 0), 'bad vote');
    const previous = this.load(logId);
    assert(state.term >= previous.term, () => `term went back from ${previous.term} to ${state.term}`);
    assert(state.term > previous.term || previous.vote === null || state.vote === previous.vote,
      'a vote cannot change within a term');
    const water = Math.max(this.highWater(logId), highWater, state.commit);
    await this.states.put(logId, [state.term, state.vote ?? NO_VOTE, state.commit, water]);
    await this.root.flushed;
  }

  /** The log lost entries on purpose (a Raft conflict, a snapshot reset, a test-mode clamp). */
  async lowerHighWater(logId: number, to: number): Promise<void> {
    const value = this.states.get(logId);
    if (value === undefined || (value[3] ?? value[2]) <= to) return;
    await this.states.put(logId, [value[0], value[1], value[2], Math.max(to, value[2])]);
    await this.root.flushed;
  }

  async remove(logId: number): Promise<void> {
    await this.states.remove(logId);
    await this.root.flushed;
  }
}
