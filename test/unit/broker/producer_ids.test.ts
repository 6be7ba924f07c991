/**
 * Goal: the broker's producer id allocator hands out ids only from blocks the controller's metadata
 * granted it, never the same id twice (across allocators sharing one metadata, and after a restart),
 * shares one allocation among concurrent callers, asks ahead before a block runs out, recovers when
 * another broker's allocation wins the same block start, and answers a retriable
 * COORDINATOR_LOAD_IN_PROGRESS when no block comes in time.
 * Method: allocators over one real MetadataStateMachine; their commands are applied to it as the
 * controller log would apply them (in order, one index each), possibly after another broker's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ProducerIdAllocator } from '../../../src/broker/producer_ids.js';
import type { ProducerIdGrants } from '../../../src/broker/producer_ids.js';
import { TributaryError } from '../../../src/common/errors.js';
import { decodeCommand } from '../../../src/controller/commands.js';
import type { MetadataCommand } from '../../../src/controller/commands.js';
import type { MetadataStateMachine } from '../../../src/controller/metadata_state_machine.js';
import { machineWithBrokers } from '../controller/helpers.js';

/** One controller log shared by the allocators: commands apply in order, after a turn of the event loop. */
class Controller {
  readonly submitted: MetadataCommand[] = [];
  /** Applied before the next submitted command, as if another broker's had reached the log first. */
  readonly interlopers: MetadataCommand[] = [];
  applying = true;

  constructor(readonly machine: MetadataStateMachine) {}

  grantsFor(brokerId: number): ProducerIdGrants {
    return {
      nextFreeId: () => this.machine.nextProducerId(),
      grantedBlock: () => this.machine.producerIdBlock(brokerId),
      submitUntil: async (command, done, timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        while (!done() && Date.now() < deadline) {
          this.submitted.push(decodeCommand(command));
          await new Promise((resolve) => setTimeout(resolve, 1));
          if (!this.applying) continue;
          for (const interloper of this.interlopers.splice(0)) this.apply(interloper);
          this.apply(decodeCommand(command));
        }
        return done();
      },
    };
  }

  apply(command: MetadataCommand): void {
    this.machine.apply(command, this.machine.lastAppliedIndex + 1);
  }
}

void describe('ProducerIdAllocator', () => {
  void test('ids come from granted blocks only and never repeat across brokers, restarts and concurrent calls', async () => {
    const controller = new Controller(machineWithBrokers(3));
    const seen = new Set<number>();
    const take = async (allocator: ProducerIdAllocator, count: number): Promise<void> => {
      const ids = await Promise.all(Array.from({ length: count }, () => allocator.nextId()));
      for (const id of ids) {
        assert.ok(!seen.has(id), `id ${id} handed out twice`);
        seen.add(id);
        assert.ok(id < controller.machine.nextProducerId(), `id ${id} is past the granted blocks`);
      }
    };
    const allocators = [1, 2, 3].map((brokerId) => new ProducerIdAllocator({ brokerId, blockSize: 100,
      grants: controller.grantsFor(brokerId) }));
    await Promise.all(allocators.map((allocator) => take(allocator, 1_050)));
    assert.equal(seen.size, 3_150);
    // Broker 2 restarts: a new allocator with nothing in memory.
    const restarted = new ProducerIdAllocator({ brokerId: 2, blockSize: 100, grants: controller.grantsFor(2) });
    await take(restarted, 250);
    assert.equal(seen.size, 3_400);
  });

  void test('concurrent callers share one allocation, and the next block is asked for while half is left', async () => {
    const controller = new Controller(machineWithBrokers(1));
    const allocator = new ProducerIdAllocator({ brokerId: 1, blockSize: 10, grants: controller.grantsFor(1) });
    const first = await Promise.all(Array.from({ length: 4 }, () => allocator.nextId()));
    assert.deepEqual(first.sort((a, b) => a - b), [0, 1, 2, 3]);
    assert.equal(controller.submitted.length, 1, 'one command for four waiting callers');
    assert.equal(await allocator.nextId(), 4);
    assert.equal(await allocator.nextId(), 5, 'four left: below half, so the next block is asked for');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(controller.submitted.length, 2);
    assert.equal(controller.machine.nextProducerId(), 20, 'granted ahead of need');
    const rest = [];
    for (let i = 0; i < 14; i += 1) rest.push(await allocator.nextId());
    assert.deepEqual(rest, [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  void test('when another broker takes the block start first, the allocator asks again from the new start', async () => {
    const controller = new Controller(machineWithBrokers(2));
    controller.interlopers.push({ type: 'allocateProducerIds', brokerId: 2, blockStart: 0, blockSize: 50 });
    const allocator = new ProducerIdAllocator({ brokerId: 1, blockSize: 10, grants: controller.grantsFor(1) });
    assert.equal(await allocator.nextId(), 50);
    assert.deepEqual(controller.machine.producerIdBlock(1), { brokerId: 1, blockStart: 50, blockSize: 10 });
    assert.deepEqual(controller.submitted.map((c) => c.type === 'allocateProducerIds' ? c.blockStart : -1), [0, 50]);
  });

  void test('no block in time is a retriable COORDINATOR_LOAD_IN_PROGRESS, and a later call recovers', async () => {
    const controller = new Controller(machineWithBrokers(1));
    controller.applying = false;
    const allocator = new ProducerIdAllocator({ brokerId: 1, blockSize: 10, allocationTimeoutMs: 50,
      grants: controller.grantsFor(1) });
    const started = Date.now();
    await assert.rejects(allocator.nextId(), (error: unknown) => error instanceof TributaryError
      && error.code === 'COORDINATOR_LOAD_IN_PROGRESS' && error.retriable);
    assert.ok(Date.now() - started < 1_000);
    controller.applying = true;
    assert.equal(await allocator.nextId(), 0);
  });

  void test('refuses a block size the controller would reject', () => {
    const controller = new Controller(machineWithBrokers(1));
    assert.throws(() => new ProducerIdAllocator({ brokerId: 1, blockSize: 0, grants: controller.grantsFor(1) }));
    assert.throws(() => new ProducerIdAllocator({ brokerId: 1, blockSize: 2_000_000,
      grants: controller.grantsFor(1) }));
  });
});
