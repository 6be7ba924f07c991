/**
 * Producer ids for InitProducerId, in blocks the controller hands out (as Kafka's
 * RPCProducerIdManager gets them): the broker proposes AllocateProducerIds for the block that starts
 * at the metadata's next free id, and owns the block once its command is applied, which the
 * metadata shows as this broker's last granted block. Every id handed out lies in a block whose end
 * was replicated first, so ids never repeat across brokers or restarts (a restart loses the rest of
 * its block, as in Kafka).
 *
 * Callers waiting together share one allocation; the next block is asked for while half of the
 * current one is left. When no block comes in time the caller gets COORDINATOR_LOAD_IN_PROGRESS,
 * which Kafka's producers retry.
 */
import { assert } from '../../raft/core/index.js';
import { TributaryError } from '../common/errors.js';
import { encodeCommand } from '../controller/commands.js';
import { PRODUCER_ID_BLOCK_SIZE_MAX } from '../controller/metadata_state_machine.js';
import type { ProducerIdBlock } from '../controller/metadata_state_machine.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

/** Kafka's block size (ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
const ALLOCATION_TIMEOUT_MS = 5_000;

/** What the allocator needs of the broker: the applied metadata and a way to submit commands. */
export interface ProducerIdGrants {
  /** The next free producer id in this broker's applied metadata. */
  nextFreeId(): number;
  /** The last block this broker's applied metadata granted it. */
  grantedBlock(): ProducerIdBlock | undefined;
  /** Proposes (or forwards) the command until `done` holds or time runs out. */
  submitUntil(command: Uint8Array, done: () => boolean, timeoutMs: number): Promise<boolean>;
}

export interface ProducerIdAllocatorOptions {
  readonly brokerId: number;
  readonly grants: ProducerIdGrants;
  readonly blockSize?: number;
  /** How long one allocation may take before callers are told to retry. */
  readonly allocationTimeoutMs?: number;
}

interface Range { next: number; readonly end: number }

export class ProducerIdAllocator {
  private readonly blockSize: number;
  private readonly allocationTimeoutMs: number;
  private current: Range | undefined;
  /** A block granted ahead of need, taken when `current` runs out. */
  private spare: Range | undefined;
  private allocation: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: ProducerIdAllocatorOptions) {
    this.blockSize = options.blockSize ?? PRODUCER_ID_BLOCK_SIZE;
    assert(Number.isSafeInteger(this.blockSize) && this.blockSize >= 2 && this.blockSize <= PRODUCER_ID_BLOCK_SIZE_MAX,
      () => `producer id block size ${this.blockSize}`);
    this.allocationTimeoutMs = options.allocationTimeoutMs ?? ALLOCATION_TIMEOUT_MS;
  }

  /** A producer id no other call on any broker got or will get. */
  async nextId(): Promise<number> {
    const deadline = monotonicNowMs() + this.allocationTimeoutMs;
    for (;;) {
      const id = this.take();
      if (id !== undefined) return id;
      if (this.closed) throw new TributaryError('COORDINATOR_LOAD_IN_PROGRESS', 'the broker is shutting down');
      if (monotonicNowMs() >= deadline) {
        throw new TributaryError('COORDINATOR_LOAD_IN_PROGRESS', 'no producer id block from the controller in time');
      }
      await this.allocate();
    }
  }

  /** Stops asking for blocks; waiting callers get a retriable error. */
  close(): void {
    this.closed = true;
  }

  private take(): number | undefined {
    if ((this.current === undefined || this.current.next >= this.current.end) && this.spare !== undefined) {
      this.current = this.spare;
      this.spare = undefined;
    }
    const range = this.current;
    if (range === undefined || range.next >= range.end) return undefined;
    const id = range.next;
    range.next += 1;
    if (range.end - range.next < this.blockSize / 2 && this.spare === undefined) {
      // Ask ahead, so callers rarely wait; a failure here only means the next caller asks again.
      this.allocate().catch(() => undefined);
    }
    return id;
  }

  /** One allocation at a time: concurrent callers share it. Resolves whether or not it got a block. */
  private allocate(): Promise<void> {
    if (this.allocation !== undefined) return this.allocation;
    this.allocation = this.requestBlock().finally(() => { this.allocation = undefined; });
    return this.allocation;
  }

  private async requestBlock(): Promise<void> {
    const { grants, brokerId } = this.options;
    const deadline = monotonicNowMs() + this.allocationTimeoutMs;
    while (!this.closed && monotonicNowMs() < deadline) {
      const blockStart = grants.nextFreeId();
      // Granted blocks all end at or below the next free id, so a grant starting there is this request's.
      const won = (): boolean => grants.grantedBlock()?.blockStart === blockStart;
      const command = encodeCommand({ type: 'allocateProducerIds', brokerId, blockStart, blockSize: this.blockSize });
      // Done when ours is applied, or when another allocation took blockStart first (then ask again).
      await grants.submitUntil(command, () => won() || grants.nextFreeId() !== blockStart,
        Math.max(1, deadline - monotonicNowMs()));
      if (won()) {
        const granted = grants.grantedBlock();
        assert(granted?.blockSize === this.blockSize && granted.brokerId === brokerId,
          () => `granted ${JSON.stringify(granted)} for a request of ${this.blockSize} ids by broker ${brokerId}`);
        this.install({ next: blockStart, end: blockStart + this.blockSize });
        return;
      }
    }
  }

  private install(range: Range): void {
    assert(this.current === undefined || range.next >= this.current.end,
      () => `block ${range.next} starts inside the current one ending at ${this.current?.end ?? 0}`);
    if (this.current === undefined || this.current.next >= this.current.end) {
      this.current = range;
      return;
    }
    assert(this.spare === undefined, 'a block was asked for while one was spare');
    this.spare = range;
  }
}
