/**
 * Typed errors of the consumer's group mode that have no wire code of their own in Kafka either
 * (Java exceptions there): they carry the closest ERROR_TABLE code so that callers can match.
 */
import { TributaryError } from '../../common/errors.js';

/**
 * Kafka's IllegalStateException for consumers: subscribe() after assign() or the other way
 * round (a consumer is in one mode at a time), or a group call without a groupId.
 */
export class IllegalStateError extends TributaryError<'INVALID_REQUEST'> {
  override readonly name = 'IllegalStateError';

  constructor(message: string) {
    super('INVALID_REQUEST', message);
  }
}
