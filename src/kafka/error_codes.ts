/**
 * Error numbers in Kafka responses. The native responses already carry Kafka's numbers for
 * Kafka's errors (common/errors.ts); Tributary's private codes (below -1) become the Kafka code
 * a Kafka client should see (kafkaWireCode), and an unknown number UNKNOWN_SERVER_ERROR.
 */
import { ERROR_TABLE, errorCodeFromWire, kafkaWireCode, TributaryError } from '../common/errors.js';

export function kafkaErrorCode(nativeWire: number): number {
  if (nativeWire === 0) return 0;
  const code = errorCodeFromWire(nativeWire);
  return code === undefined ? ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire : kafkaWireCode(code);
}

/** The Kafka number for anything a handler threw: typed errors by their code, the rest UNKNOWN_SERVER_ERROR. */
export function kafkaErrorOf(error: unknown): number {
  return error instanceof TributaryError ? error.wireCode : ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire;
}
