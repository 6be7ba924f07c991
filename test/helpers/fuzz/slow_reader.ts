/**
 * A slow client: DEALER sockets that send Fetch requests with large replies (the canary from
 * offset 0) and never read a reply, with the smallest receive queue zeromq allows. A broker that
 * queues replies for such a peer without bound grows by the size of every reply; the peak RSS
 * check after the class catches that. Meanwhile WellBehavedSource keeps asking small questions
 * through the fuzz driver: they must still be answered in time.
 */
import { Dealer } from 'zeromq';

import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { decodeResponseBodyFrames, encodeRequest } from '../../../src/protocol/envelope.js';
import type { FuzzContext } from './context.js';
import type { FuzzReply, FuzzRequest, RequestSource } from './driver.js';

export interface SlowReaderOptions {
  readonly address: string;
  readonly topic: string;
  readonly sockets: number;
  /** Per socket; with replies of up to fetchBytesMax each, this bounds what a broker could queue. */
  readonly requestsPerSocket: number;
  readonly fetchBytesMax: number;
  readonly wallMs: number;
}

export class SlowReader {
  sent = 0;
  /** Sends that zeromq refused within the send timeout (the broker stopped reading this peer). */
  refused = 0;
  private readonly dealers: Dealer[] = [];

  constructor(private readonly options: SlowReaderOptions) {}

  /** Floods from every socket at once; resolves when each has sent its share, been refused, or run out of time. */
  async flood(): Promise<void> {
    const deadline = Date.now() + this.options.wallMs;
    await Promise.all(Array.from({ length: this.options.sockets }, async (_, s) => {
      const dealer = new Dealer({ linger: 0, receiveHighWaterMark: 1, sendTimeout: 200 });
      this.dealers.push(dealer);
      dealer.connect(`tcp://${this.options.address}`);
      for (let i = 0; i < this.options.requestsPerSocket && Date.now() < deadline; i++) {
        const frames = encodeRequest(s * 1_000_000 + i + 1, API_KEYS.FETCH, 'fuzz-slow-reader', {
          maxWaitMs: 0, minBytes: 1, maxBytes: this.options.fetchBytesMax,
          partitions: [{ topic: this.options.topic, partition: 0, fetchOffset: 0,
            partitionMaxBytes: this.options.fetchBytesMax, currentLeaderEpoch: -1 }] }, []);
        try {
          await dealer.send(frames);
          this.sent += 1;
        } catch {
          this.refused += 1;
          return;
        }
      }
    }));
  }

  /** Closes the sockets unread (linger 0). Call after the memory has been measured. */
  close(): void {
    for (const dealer of this.dealers) dealer.close();
  }
}

/**
 * Small, valid requests a well-behaved client sends while the slow reader floods. Like a real
 * client it follows the leader hint of a NOT_LEADER_OR_FOLLOWER answer (the flooded broker may lose
 * its leadership: that is allowed, leaving the others unserved is not).
 */
export class WellBehavedSource implements RequestSource {
  private leader: number;
  /** Leader changes seen through hints. */
  leaderMoves = 0;

  constructor(private readonly context: FuzzContext) {
    this.leader = context.leaderOf(context.topics.canary);
  }

  private followHint(reply: FuzzReply, api: typeof API_KEYS.FETCH | typeof API_KEYS.LIST_OFFSETS): void {
    if (reply.head.errorCode !== 0) return;
    const body = decodeResponseBodyFrames(api, reply.frames);
    const hint = typeof body === 'string' ? undefined : body.body.partitions[0]?.currentLeader?.leaderId;
    if (hint !== undefined && hint > 0 && hint !== this.leader) {
      this.leader = hint;
      this.leaderMoves += 1;
    }
  }

  next(cid: () => number): FuzzRequest {
    const { canary } = this.context.topics;
    const roll = this.context.prng.int(0, 2);
    if (roll === 0) {
      return { broker: this.context.anyBroker(), frames: encodeRequest(cid(), API_KEYS.METADATA, 'fuzz-good',
        { topics: [canary] }, []) as Buffer[] };
    }
    const partitions = [{ topic: canary, partition: 0, timestamp: -1 }];
    if (roll === 1) {
      return { broker: this.leader, frames: encodeRequest(cid(), API_KEYS.LIST_OFFSETS, 'fuzz-good',
        { partitions }, []) as Buffer[], onReply: (reply) => { this.followHint(reply, API_KEYS.LIST_OFFSETS); } };
    }
    return { broker: this.leader, frames: encodeRequest(cid(), API_KEYS.FETCH, 'fuzz-good', {
      maxWaitMs: 0, minBytes: 1, maxBytes: 4096,
      partitions: [{ topic: canary, partition: 0, fetchOffset: 0, partitionMaxBytes: 4096, currentLeaderEpoch: -1 }] },
    []) as Buffer[], onReply: (reply) => { this.followHint(reply, API_KEYS.FETCH); } };
  }
}
