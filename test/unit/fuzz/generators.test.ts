/**
 * The fuzz generators checked against the protocol's own decoders, so that the end-to-end fuzz
 * test (test/e2e/fuzz.test.ts) can trust them: every malformed batch kind is refused by the
 * client's decoder while its CRC is valid, every valid one decodes; the hand-rolled protobuf
 * writer agrees with protobufjs; the field fuzzer never names a guarded topic where it must not;
 * and the stored-log idempotence check tells a clean log from duplicates, gaps and old epochs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeBatch } from '../../../src/client/compression.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { decodeRequest } from '../../../src/protocol/envelope.js';
import { pb } from '../../../src/protocol/messages.js';
import { checkBatchCrc, encodeRecordBatch } from '../../../src/protocol/record_batch.js';
import { BatchFuzzer } from '../../helpers/fuzz/batches.js';
import { FuzzContext } from '../../helpers/fuzz/context.js';
import { FieldFuzzer } from '../../helpers/fuzz/fields.js';
import { storedSequenceProblems } from '../../helpers/fuzz/idempotence.js';
import { envelope, paddedVarint, varint } from '../../helpers/fuzz/wire.js';
import { TestPrng } from '../../helpers/test_prng.js';

const TOPICS = { canary: 'c', fields: 'f', batches: 'b', idempotence: 'i' };

function context(seed: number): FuzzContext {
  return new FuzzContext(new TestPrng(seed), [1, 2, 3], TOPICS, new Map([['f', 2], ['b', 3]]));
}

describe('fuzz generators', () => {
  it('write varints and envelopes that protobufjs reads back', () => {
    assert.deepEqual(varint(300n), Buffer.from([0xac, 0x02]));
    assert.equal(varint(-1n).length, 10);
    assert.equal(paddedVarint(1n, 10).length, 10);
    const decoded = pb.RequestEnvelope.decode(envelope({ correlationId: 2 ** 40, apiKey: API_KEYS.FETCH,
      clientId: Buffer.from('me'), rawFrameCount: 3 }));
    assert.equal(decoded.correlationId, 2 ** 40);
    assert.equal(decoded.apiKey, API_KEYS.FETCH);
    assert.equal(decoded.clientId, 'me');
    assert.equal(decoded.rawFrameCount, 3);
  });

  it('make malformed batches that carry a valid CRC and that the client decoder refuses', () => {
    const fuzzer = new BatchFuzzer(context(1));
    const kinds = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) {
      const generated = fuzzer.generate();
      kinds.set(generated.kind, (kinds.get(generated.kind) ?? 0) + 1);
      checkBatchCrc(generated.batch);
      if (generated.valid) {
        assert.equal(decodeBatch(generated.batch).records.length, generated.recordCount, generated.kind);
      } else {
        assert.throws(() => {
          const batch = decodeBatch(generated.batch);
          if (batch.records.some((r, at) => r.offsetDelta !== at)) throw new Error('offset deltas');
        }, generated.kind);
      }
    }
    assert.ok(kinds.size >= 17, `every kind is generated: ${[...kinds.keys()].join(', ')}`);
  });

  it('never deletes a session topic and never produces to a guarded one', () => {
    const fuzzer = new FieldFuzzer(context(2));
    let id = 1;
    for (let i = 0; i < 3_000; i++) {
      const request = fuzzer.next(() => id++);
      const decoded = decodeRequest(request.frames);
      if (decoded.type !== 'request') continue;
      if (decoded.api === API_KEYS.DELETE_TOPICS) {
        for (const name of decoded.body.topicNames) assert.ok(!['c', 'f', 'b', 'i'].includes(name), name);
      }
      if (decoded.api === API_KEYS.PRODUCE) {
        for (const p of decoded.body.partitions) assert.ok(!['c', 'b', 'i'].includes(p.topic), p.topic);
      }
    }
  });

  it('tell a clean idempotent log from duplicates, gaps and epochs going back', () => {
    const batch = (epoch: number, sequence: number, records = 2): Buffer => encodeRecordBatch({ baseTimestamp: 1,
      producerId: 7, producerEpoch: epoch, baseSequence: sequence,
      records: Array.from({ length: records }, () => ({ key: null, value: Buffer.from('v') })) });
    assert.deepEqual(storedSequenceProblems([batch(0, 0), batch(0, 2), batch(1, 0), batch(1, 2)]), []);
    assert.match(storedSequenceProblems([batch(0, 0), batch(0, 0)]).join(), /duplicate/);
    assert.match(storedSequenceProblems([batch(0, 0), batch(0, 5)]).join(), /gap/);
    assert.match(storedSequenceProblems([batch(0, 3)]).join(), /expected sequence 0/);
    assert.match(storedSequenceProblems([batch(1, 0), batch(0, 2)]).join(), /epoch went back/);
  });
});
