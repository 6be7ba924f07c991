/**
 * A linearizability search in the style of Wing & Gong as improved by Lowe, the algorithm of
 * Porcupine: the calls and returns of all operations form one list in time order; the search walks
 * it, linearizing any call whose model step is legal and backtracking when it meets the return of
 * an operation it has not linearized. A cache of (linearized set, state) pairs keeps it from
 * exploring one configuration twice, and a time budget makes it answer 'unknown' rather than run
 * on: the problem is NP-complete in general.
 *
 * States are numbers (the length of a log, in our one model), so they compare with ===.
 */
import { assert } from '../../raft/core/assert.js';

export interface SearchOperation {
  /** When it was invoked; -Infinity for an operation that may have happened at any time. */
  readonly callTime: number;
  /** When it returned; Infinity for one that may take effect until the end of the history. */
  readonly returnTime: number;
  /**
   * A stable read leaves the state unchanged and, once legal, stays legal in every later state.
   * Linearizing it as soon as it is legal then never loses a linearization, so the search does not
   * backtrack over it: without this, failing histories with many concurrent polls would try every
   * subset of them.
   */
  readonly stableRead: boolean;
}

export interface SearchModel {
  readonly initialState: number;
  /** The state after the operation, or null when the operation is illegal in this state. */
  step(state: number, operation: number): number | null;
}

/** Where the longest partial linearization stopped: its state, and the operation that returned unplaced. */
export interface DeadEnd {
  readonly state: number;
  readonly linearizedCount: number;
  readonly blockedOperation: number;
}

export type SearchResult =
  | { readonly outcome: 'linearizable' }
  | { readonly outcome: 'nonlinearizable'; readonly deadEnd: DeadEnd }
  | { readonly outcome: 'unknown' };

/** How many search steps run between two looks at the clock. */
const STEPS_PER_CLOCK_CHECK = 1024;

export function searchLinearization(operations: readonly SearchOperation[], model: SearchModel, budgetMs: number):
  SearchResult {
  const list = new EntryList(operations);
  const linearized = new LinearizedSet(operations.length);
  const cache = new Map<string, Uint32Array[]>();
  const stack: { readonly call: number; readonly state: number }[] = [];
  const isStableRead = (entry: number): boolean => operations[list.operationOf(entry)]?.stableRead ?? false;
  const deadline = performance.now() + budgetMs;
  let deadEnd: DeadEnd | null = null;
  let state = model.initialState;
  let entry = list.first();
  for (let steps = 0; list.first() !== EntryList.END; steps++) {
    if (steps % STEPS_PER_CLOCK_CHECK === 0 && performance.now() >= deadline) return { outcome: 'unknown' };
    // The list always ends with a return, so the walk meets one before running off its end.
    assert(entry !== EntryList.END, 'the search walk meets a return before the end of the list');
    if (list.isCall(entry)) {
      const next = model.step(state, list.operationOf(entry));
      if (next !== null && linearized.addIfNew(list.operationOf(entry), next, cache)) {
        stack.push({ call: entry, state });
        state = next;
        list.lift(entry);
        entry = list.first();
        continue;
      }
      // A legal stable read whose successor configuration already failed dooms this one too.
      if (next === null || !isStableRead(entry)) {
        entry = list.next(entry);
        continue;
      }
    } else if (deadEnd === null || stack.length > deadEnd.linearizedCount) {
      deadEnd = { state, linearizedCount: stack.length, blockedOperation: list.operationOf(entry) };
    }
    // Backtrack: undo the last choice and try the entries after it; stable reads are never worth undoing.
    for (;;) {
      const top = stack.pop();
      if (top === undefined) {
        assert(deadEnd !== null, 'a failed search met a return it could not place');
        return { outcome: 'nonlinearizable', deadEnd };
      }
      linearized.remove(list.operationOf(top.call));
      list.unlift(top.call);
      state = top.state;
      entry = top.call;
      if (!isStableRead(top.call)) break;
    }
    entry = list.next(entry);
  }
  return { outcome: 'linearizable' };
}

/**
 * The time-ordered doubly linked list of call and return entries (entry 2i is operation i's call,
 * 2i+1 its return). At equal times calls come first, so intervals are closed: two operations that
 * touch may take effect in either order.
 */
class EntryList {
  static readonly END = -1;
  private readonly head: number;
  private readonly nextOf: Int32Array;
  private readonly previousOf: Int32Array;

  constructor(operations: readonly SearchOperation[]) {
    const count = operations.length * 2;
    this.head = count;
    this.nextOf = new Int32Array(count + 1).fill(EntryList.END);
    this.previousOf = new Int32Array(count + 1).fill(EntryList.END);
    const timeOf = (entry: number): number => {
      const operation = operations[entry >> 1];
      assert(operation !== undefined && operation.callTime <= operation.returnTime, 'operation times are ordered');
      return entry % 2 === 0 ? operation.callTime : operation.returnTime;
    };
    const order = Array.from({ length: count }, (_, entry) => entry)
      .sort((a, b) => compareNumbers(timeOf(a), timeOf(b)) || (a % 2) - (b % 2) || a - b);
    let previous = this.head;
    for (const entry of order) {
      this.nextOf[previous] = entry;
      this.previousOf[entry] = previous;
      previous = entry;
    }
  }

  first(): number {
    return this.nextOf[this.head] ?? EntryList.END;
  }

  next(entry: number): number {
    return this.nextOf[entry] ?? EntryList.END;
  }

  isCall(entry: number): boolean {
    return entry % 2 === 0;
  }

  operationOf(entry: number): number {
    return entry >> 1;
  }

  /** Takes a linearized call and its return out of the list. */
  lift(call: number): void {
    this.unlink(call);
    this.unlink(call + 1);
  }

  /** Puts them back, in the reverse order of lift, so every link is restored exactly. */
  unlift(call: number): void {
    this.relink(call + 1);
    this.relink(call);
  }

  private unlink(entry: number): void {
    const previous = this.previousOf[entry] ?? EntryList.END;
    const next = this.nextOf[entry] ?? EntryList.END;
    assert(previous !== EntryList.END, () => `entry ${entry} is linked`);
    this.nextOf[previous] = next;
    if (next !== EntryList.END) this.previousOf[next] = previous;
  }

  private relink(entry: number): void {
    const previous = this.previousOf[entry] ?? EntryList.END;
    const next = this.nextOf[entry] ?? EntryList.END;
    this.nextOf[previous] = entry;
    if (next !== EntryList.END) this.previousOf[next] = entry;
  }
}

/**
 * The set of linearized operations as a bitset with two incremental Zobrist hashes, so the cache
 * lookup costs one short string; equal hashes are confirmed by comparing the bitsets.
 */
class LinearizedSet {
  private readonly bits: Uint32Array;
  private readonly saltsLow: Uint32Array;
  private readonly saltsHigh: Uint32Array;
  private hashLow = 0;
  private hashHigh = 0;

  constructor(size: number) {
    this.bits = new Uint32Array(Math.ceil(size / 32));
    this.saltsLow = new Uint32Array(size).map((_, i) => mix32(2 * i + 1));
    this.saltsHigh = new Uint32Array(size).map((_, i) => mix32(2 * i + 2));
  }

  /** Adds the operation and records (set, state) in the cache; undoes the add when the pair was cached. */
  addIfNew(operation: number, state: number, cache: Map<string, Uint32Array[]>): boolean {
    this.flip(operation);
    const key = `${this.hashLow}:${this.hashHigh}:${state}`;
    const seen = cache.get(key) ?? [];
    if (seen.some((bits) => bits.every((word, i) => word === this.bits[i]))) {
      this.flip(operation);
      return false;
    }
    seen.push(this.bits.slice());
    cache.set(key, seen);
    return true;
  }

  remove(operation: number): void {
    const present = ((this.bits[operation >> 5] ?? 0) & (1 << (operation & 31))) !== 0;
    assert(present, 'only a linearized operation is removed');
    this.flip(operation);
  }

  private flip(operation: number): void {
    const word = operation >> 5;
    this.bits[word] = (this.bits[word] ?? 0) ^ (1 << (operation & 31));
    this.hashLow = (this.hashLow ^ (this.saltsLow[operation] ?? 0)) >>> 0;
    this.hashHigh = (this.hashHigh ^ (this.saltsHigh[operation] ?? 0)) >>> 0;
  }
}

/** Unlike subtraction, also orders two infinite times (Infinity - Infinity is NaN). */
function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** MurmurHash3's 32-bit finalizer: a fixed, well-spread salt per operation (no randomness needed). */
function mix32(seed: number): number {
  let h = seed >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
