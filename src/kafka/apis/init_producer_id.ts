/**
 * InitProducerId (key 22), v0-1 (identical), for idempotent producers: a cluster-unique producer
 * id at epoch 0 from the native handler (producer_ids.ts). The partitions then apply Kafka's
 * sequence rules to that producer's batches (partition/producer_state.ts). Transactions are not
 * supported: a transactional id gets INVALID_REQUEST.
 */
import { ERROR_TABLE } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { KafkaWriter } from '../codec.js';
import { kafkaErrorCode } from '../error_codes.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { callNative } from '../native_call.js';

function answer(errorCode: number, producerId: number, producerEpoch: number): KafkaOutcome {
  return respond(new KafkaWriter().int32(0).int16(errorCode).int64(producerId).int16(producerEpoch));
}

export const initProducerIdApi: KafkaApi = {
  key: 22, name: 'InitProducerId', minVersion: 0, maxVersion: 1,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const transactionalId = call.body.nullableString();
    call.body.int32(); // transaction_timeout_ms
    if (transactionalId !== null) return answer(ERROR_TABLE.INVALID_REQUEST.wire, -1, -1);
    const { response } = await callNative(call, API_KEYS.INIT_PRODUCER_ID, {});
    return answer(kafkaErrorCode(response.errorCode), response.producerId, response.producerEpoch);
  },
};
