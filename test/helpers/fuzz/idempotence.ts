/**
 * Idempotence fuzzing: many producer sessions (InitProducerId, then batches with producer id,
 * epoch and sequences) driven through hostile sequences: resends of the last batch, resends right
 * after an acks = 1 reply (before the batch is committed), gaps, sequences near 2^31, negative
 * sequences, epoch bumps and batches of an old epoch. Each session pipelines a few batches, as a
 * producer does.
 *
 * The check after the class (storedSequenceProblems) reads the partition back: per producer id,
 * epochs never go back and, within an epoch, batches start at sequence 0 and follow on without a
 * gap or a repeat. A duplicate in the log is exactly what idempotence exists to prevent.
 */
import { ACKS, API_KEYS } from '../../../src/protocol/api_keys.js';
import { decodeResponseBodyFrames, encodeRequest } from '../../../src/protocol/envelope.js';
import { BASE_SEQUENCE_OFFSET, computeBatchCrc, CRC_OFFSET, encodeRecordBatch, readBatchHeader }
  from '../../../src/protocol/record_batch.js';
import type { FuzzContext } from './context.js';
import type { FuzzRequest, RequestSource } from './driver.js';

const SESSIONS_MAX = 48;
const INFLIGHT_PER_SESSION = 5;
const SEQUENCE_MAX = 2 ** 31 - 1;

interface Session {
  producerId: number | null;
  initializing: boolean;
  epoch: number;
  nextSequence: number;
  inflight: number;
  last: Buffer | null;
}

export class IdempotenceFuzzer implements RequestSource {
  private readonly sessions: Session[] = [];
  private readonly followUps: { session: Session; batch: Buffer }[] = [];
  readonly steps: Record<string, number> = {};
  private turn = 0;

  constructor(private readonly context: FuzzContext) {}

  next(cid: () => number): FuzzRequest {
    const followUp = this.followUps.shift();
    if (followUp !== undefined) return this.produce(cid, followUp.session, followUp.batch, ACKS.LEADER, 'resend-after-ack');
    if (this.sessions.length < SESSIONS_MAX) return this.init(cid, this.newSession());
    for (let tries = 0; tries < this.sessions.length; tries++) {
      const session = this.sessions[this.turn++ % this.sessions.length]!;
      if (session.producerId !== null && session.inflight < INFLIGHT_PER_SESSION) return this.step(cid, session);
      if (session.producerId === null && !session.initializing) return this.init(cid, session);
    }
    // Every session is busy: a harmless Metadata keeps the pipeline full without a new producer.
    return { broker: this.context.anyBroker(), frames: encodeRequest(cid(), API_KEYS.METADATA, 'fuzz-idem',
      { topics: [this.context.topics.idempotence] }, []) as Buffer[] };
  }

  private newSession(): Session {
    const session: Session = { producerId: null, initializing: false, epoch: 0, nextSequence: 0, inflight: 0,
      last: null };
    this.sessions.push(session);
    return session;
  }

  private init(cid: () => number, session: Session): FuzzRequest {
    session.initializing = true;
    this.count('init');
    return {
      broker: this.context.anyBroker(),
      frames: encodeRequest(cid(), API_KEYS.INIT_PRODUCER_ID, 'fuzz-idem', { producerId: -1, producerEpoch: -1 }, []) as Buffer[],
      onReply: (reply) => {
        session.initializing = false;
        if (reply.head.errorCode !== 0) return;
        const body = decodeResponseBodyFrames(API_KEYS.INIT_PRODUCER_ID, reply.frames);
        if (typeof body === 'string' || body.body.errorCode !== 0) return;
        Object.assign(session, { producerId: body.body.producerId, epoch: body.body.producerEpoch, nextSequence: 0 });
      },
      onNoReply: () => { session.initializing = false; },
    };
  }

  private step(cid: () => number, session: Session): FuzzRequest {
    const prng = this.context.prng;
    const acks = prng.chance(0.5) ? ACKS.LEADER : ACKS.ALL;
    const roll = prng.int(0, 99);
    const batchAt = (sequence: number, epoch = session.epoch): Buffer => this.batch(session, epoch, sequence);
    if (roll < 60 || session.last === null) {
      const batch = batchAt(session.nextSequence);
      session.nextSequence = (session.nextSequence + readBatchHeader(batch).recordCount) % (SEQUENCE_MAX + 1);
      session.last = batch;
      return this.produce(cid, session, batch, acks, 'next', prng.chance(0.5));
    }
    if (roll < 72) return this.produce(cid, session, session.last, acks, 'resend-last');
    if (roll < 78) return this.produce(cid, session, batchAt(session.nextSequence + prng.int(1, 50)), acks, 'gap');
    if (roll < 84 && session.epoch > 0) {
      return this.produce(cid, session, batchAt(session.nextSequence, session.epoch - 1), acks, 'old-epoch');
    }
    if (roll < 89) {
      session.epoch = Math.min(session.epoch + 1, 0x7fff);
      session.nextSequence = 0;
      const batch = batchAt(0);
      session.nextSequence = readBatchHeader(batch).recordCount;
      session.last = batch;
      return this.produce(cid, session, batch, acks, 'bump-epoch');
    }
    if (roll < 94) return this.produce(cid, session, patchSequence(batchAt(0), -prng.int(1, 2 ** 31)), acks, 'negative-sequence');
    return this.produce(cid, session, batchAt(SEQUENCE_MAX - prng.int(0, 2)), acks, 'sequence-near-wrap');
  }

  private batch(session: Session, epoch: number, sequence: number): Buffer {
    const prng = this.context.prng;
    return encodeRecordBatch({ baseTimestamp: Date.now(), producerId: session.producerId ?? 0, producerEpoch: epoch,
      baseSequence: sequence % (SEQUENCE_MAX + 1), records: Array.from({ length: prng.int(1, 3) }, (_, i) => ({
        key: null, value: Buffer.from(`${session.producerId}-${epoch}-${sequence + i}`) })) });
  }

  /** resendAfterAck: once an acks = 1 reply says OK, send the very same batch again at once. */
  private produce(cid: () => number, session: Session, batch: Buffer, acks: -1 | 1, step: string,
    resendAfterAck = false): FuzzRequest {
    this.count(step);
    session.inflight += 1;
    const topic = this.context.topics.idempotence;
    const frames = encodeRequest(cid(), API_KEYS.PRODUCE, 'fuzz-idem', { acks, timeoutMs: 5_000,
      partitions: [{ topic, partition: 0, rawFrameIndex: 0 }] }, [batch]) as Buffer[];
    const done = (): void => { session.inflight -= 1; };
    return {
      broker: this.context.leaderOf(topic),
      frames,
      onReply: (reply) => {
        done();
        if (!resendAfterAck || acks !== ACKS.LEADER || reply.head.errorCode !== 0) return;
        const body = decodeResponseBodyFrames(API_KEYS.PRODUCE, reply.frames);
        if (typeof body !== 'string' && body.body.partitions[0]?.errorCode === 0) this.followUps.push({ session, batch });
      },
      onNoReply: done,
    };
  }

  private count(step: string): void {
    this.steps[step] = (this.steps[step] ?? 0) + 1;
  }
}

/** The batch with baseSequence overwritten and its CRC recomputed (the encoder refuses such values). */
function patchSequence(batch: Buffer, baseSequence: number): Buffer {
  const out = Buffer.from(batch);
  out.writeInt32BE(baseSequence | 0, BASE_SEQUENCE_OFFSET);
  out.writeUInt32BE(computeBatchCrc(out), CRC_OFFSET);
  return out;
}

/** What the stored log of an idempotence partition must satisfy; returns each violation found. */
export function storedSequenceProblems(batches: readonly Uint8Array[]): string[] {
  const problems: string[] = [];
  const state = new Map<number, { epoch: number; nextSequence: number }>();
  for (const bytes of batches) {
    const header = readBatchHeader(bytes);
    if (header.producerId < 0) continue;
    const where = `producer ${header.producerId} epoch ${header.producerEpoch} sequence ${header.baseSequence} ` +
      `at offset ${header.baseOffset}`;
    const seen = state.get(header.producerId);
    if (seen !== undefined && header.producerEpoch < seen.epoch) {
      problems.push(`${where}: epoch went back from ${seen.epoch}`);
      continue;
    }
    const expected = seen === undefined || header.producerEpoch > seen.epoch ? 0 : seen.nextSequence;
    if (header.baseSequence !== expected) {
      problems.push(`${where}: expected sequence ${expected}${header.baseSequence < expected ? ' (a duplicate)' : ' (a gap)'}`);
    }
    state.set(header.producerId, { epoch: header.producerEpoch,
      nextSequence: (header.baseSequence + header.recordCount) % (SEQUENCE_MAX + 1) });
  }
  return problems;
}
