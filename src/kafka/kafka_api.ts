/**
 * What one Kafka API served by the listener is: its key, the version range it promises (KIP-35:
 * every version in the range works), and a handler that reads a request body of a version in that
 * range and writes the response body. Handlers translate to the native handlers (src/broker,
 * src/group) so both protocols run the same validation, replication and group paths.
 */
import type { BrokerInfo } from '../controller/metadata_snapshot.js';
import type { HandlerTable, RequestContext } from '../net/request_server.js';
import type { ApiKey } from '../protocol/api_keys.js';
import type { KafkaReader, KafkaWriter } from './codec.js';
import type { RemotePartition } from './remote_leaders.js';
import type { KafkaRequestHeader } from './request_header.js';
import type { ClientSecurity } from '../security/client_security.js';
import type { SaslSession } from './sasl_session.js';

/** What the listener needs of the broker. */
export interface KafkaBrokerView {
  readonly brokerId: number;
  /** The native handler table, shared with the ZeroMQ request server. */
  readonly handlers: HandlerTable;
  /** The registered brokers of the applied metadata (their Kafka listeners included). */
  brokers(): readonly BrokerInfo[];
  /** The broker's own CURVE credentials for calling other brokers (with --key-file). */
  readonly clientSecurity?: ClientSecurity;
}

/**
 * A handler's answer: a response body (with closeAfter, the connection closes once it is written:
 * a failed SASL authentication), none (Produce acks=0), or "close the connection" (Kafka's answer
 * to a failed acks=0 produce).
 */
export type KafkaOutcome = { readonly kind: 'respond'; readonly body: KafkaWriter; readonly closeAfter?: string }
  | { readonly kind: 'silent' }
  | { readonly kind: 'close'; readonly reason: string };

export interface KafkaCall {
  readonly header: KafkaRequestHeader;
  readonly body: KafkaReader;
  readonly broker: KafkaBrokerView;
  /** Leaders of partitions this broker holds no replica of, asked of a replica broker (remote_leaders.ts). */
  lookUpLeaders(partitions: readonly RemotePartition[]): Promise<ReadonlyMap<string, number>>;
  /** The connection's SASL state; undefined when the listener has no SASL (--kafka-sasl-users). */
  readonly sasl: SaslSession | undefined;
  /** The native request context for a call of api (this connection's peer id and reply budget). */
  nativeContext(api: ApiKey, rawFrames?: readonly Buffer[]): RequestContext;
}

export interface KafkaApi {
  readonly key: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(call: KafkaCall): Promise<KafkaOutcome> | KafkaOutcome;
}

export function respond(body: KafkaWriter): KafkaOutcome {
  return { kind: 'respond', body };
}
