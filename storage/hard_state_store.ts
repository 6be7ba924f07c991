/**
 * Raft hard state (term, vote, commit) per log, in the broker's LMDB environment. `save` resolves
 * only after LMDB has flushed the transaction to disk: a vote must never be forgotten by a crash.
 */
import type { Database, RootDatabase } from 'lmdb';
import { assert } from '../raft/core/assert.js';
import type { HardState } from './types.js';

type Stored = [number, number, number];

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

  async save(logId: number, state: HardState): Promise<void> {
    assert(Number.isSafeInteger(state.term) && state.term >= 0, 'term must be an integer >= 0');
    assert(Number.isSafeInteger(state.commit) && state.commit >= 0, 'commit must be an integer >= 0');
    assert(state.vote === null || (Number.isSafeInteger(state.vote) && state.vote >= 0), 'bad vote');
    const previous = this.load(logId);
    assert(state.term >= previous.term, () => `term went back from ${previous.term} to ${state.term}`);
    assert(state.term > previous.term || previous.vote === null || state.vote === previous.vote,
      'a vote cannot change within a term');
    await this.states.put(logId, [state.term, state.vote ?? NO_VOTE, state.commit]);
    await this.root.flushed;
  }

  async remove(logId: number): Promise<void> {
    await this.states.remove(logId);
    await this.root.flushed;
  }
}
