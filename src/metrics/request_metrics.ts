/**
 * The request server's observer for BrokerMetrics: counts requests and their latency per API (and
 * Produce's per acks), and the records and bytes each Produce stored and each Fetch sent per topic.
 * Records are counted from the batch headers (record count at a fixed offset), never decoded: a
 * Produce partition counts when it succeeded, a Fetch partition by the batches it returned.
 */
import { errorCodeFromWire } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import type { HandlerResult, RequestObserver } from '../net/request_server.js';
import { API_KEYS, apiName, isApiKey } from '../protocol/api_keys.js';
import type { ApiKey } from '../protocol/api_keys.js';
import type { DecodedRequest } from '../protocol/envelope.js';
import { BATCH_LENGTH_OFFSET, LOG_OVERHEAD_BYTES, RECORDS_OFFSET, RECORD_COUNT_OFFSET }
  from '../protocol/record_batch.js';
import type { BrokerMetrics } from './broker_metrics.js';

/** Records in the whole batches of `bytes` (one or more stored batches back to back); a torn tail is not counted. */
export function recordsInBatches(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let records = 0;
  for (let position = 0; position + RECORDS_OFFSET <= bytes.length;) {
    const batchBytes = LOG_OVERHEAD_BYTES + view.getInt32(position + BATCH_LENGTH_OFFSET);
    if (batchBytes < RECORDS_OFFSET || position + batchBytes > bytes.length) break;
    records += Math.max(0, view.getInt32(position + RECORD_COUNT_OFFSET));
    position += batchBytes;
  }
  return records;
}

function errorName(wire: number): string {
  return errorCodeFromWire(wire) ?? `WIRE_${wire}`;
}

export class RequestMetrics implements RequestObserver {
  private readonly apiNames = new Map<number, string>();
  private openConnections = 0;

  constructor(private readonly metrics: BrokerMetrics) {}

  /** Client connections open now, as libzmq reported them. */
  get connections(): number {
    return this.openConnections;
  }

  handled(request: DecodedRequest, result: HandlerResult<ApiKey> | null, errorCode: ErrorCode | null,
    seconds: number): void {
    this.metrics.requestHandled(this.nameOf(request.api), errorCode ?? 'NONE', seconds);
    if (request.api === API_KEYS.PRODUCE) {
      // Only the three valid values: any other is refused (INVALID_REQUIRED_ACKS) and must not make a series.
      const acks = request.body.acks;
      if (acks === -1 || acks === 0 || acks === 1) this.metrics.produceHandled(acks, seconds);
      if (result !== null) this.countProduce(request, result);
    } else if (request.api === API_KEYS.FETCH && result !== null) {
      this.countFetch(result);
    }
  }

  refused(api: number, code: ErrorCode): void {
    this.metrics.requestRefused(this.nameOf(api), code);
  }

  connectionsChanged(delta: 1 | -1): void {
    // A disconnect libzmq reports for a connection it never reported accepted cannot take the count below 0.
    this.openConnections = Math.max(0, this.openConnections + delta);
  }

  private countProduce(request: DecodedRequest & { api: typeof API_KEYS.PRODUCE },
    result: HandlerResult<typeof API_KEYS.PRODUCE>): void {
    const partitions = request.body.partitions;
    const answers = result.response.partitions ?? [];
    for (let i = 0; i < answers.length; i += 1) {
      const answer = answers[i];
      const data = partitions[i];
      // The handler answers the partitions in the request's order; anything else is not counted.
      if (answer === undefined || data === undefined || answer.topic !== data.topic) continue;
      const code = answer.errorCode ?? 0;
      if (code !== 0) {
        this.metrics.partitionError('PRODUCE', errorName(code));
        continue;
      }
      const batch = request.rawFrames[data.rawFrameIndex];
      if (batch !== undefined) this.metrics.recordsIn(data.topic, recordsInBatches(batch), batch.length);
    }
  }

  private countFetch(result: HandlerResult<typeof API_KEYS.FETCH>): void {
    const frames = result.rawFrames ?? [];
    for (const answer of result.response.partitions ?? []) {
      const code = answer.errorCode ?? 0;
      if (code !== 0) {
        this.metrics.partitionError('FETCH', errorName(code));
        continue;
      }
      const indexes = answer.rawFrameIndexes ?? [];
      if (indexes.length === 0 || answer.topic === undefined || answer.topic === null) continue;
      let records = 0;
      let bytes = 0;
      for (const index of indexes) {
        const frame = frames[index];
        if (frame === undefined) continue;
        records += recordsInBatches(frame);
        bytes += frame.length;
      }
      this.metrics.recordsOut(answer.topic, records, bytes);
    }
  }

  private nameOf(api: number): string {
    let name = this.apiNames.get(api);
    if (name === undefined) {
      // Unknown keys share one label, so that a client sending random keys cannot grow the series.
      name = isApiKey(api) ? apiName(api) : 'UNKNOWN';
      if (isApiKey(api)) this.apiNames.set(api, name);
    }
    return name;
  }
}
