/**
 * Goal: the error table carries Kafka's wire numbers and retriable flags, and the classes expose
 * them. Method: compare against the numbers of Kafka's Errors.java and check each subclass.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  CorruptMessageError,
  ERROR_TABLE,
  errorCodeFromWire,
  errorFromWire,
  InvalidRecordError,
  kafkaWireCode,
  MessageTooLargeError,
  NotLeaderOrFollowerError,
  OffsetOutOfRangeError,
  TributaryError,
  UnsupportedCompressionError,
  wireCodeOf,
} from '../../../src/common/errors.js';
import type { ErrorCode } from '../../../src/common/errors.js';

const KAFKA_NUMBERS: Record<Exclude<ErrorCode, 'CORRUPT_SEGMENT' | 'TOO_MANY_REQUESTS' | 'CONNECTION_LIMIT_EXCEEDED'>,
  number> = {
  UNKNOWN_SERVER_ERROR: -1, OFFSET_OUT_OF_RANGE: 1, CORRUPT_MESSAGE: 2, UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5, NOT_LEADER_OR_FOLLOWER: 6, REQUEST_TIMED_OUT: 7, MESSAGE_TOO_LARGE: 10,
  NETWORK_EXCEPTION: 13, COORDINATOR_LOAD_IN_PROGRESS: 14, NOT_ENOUGH_REPLICAS: 19, INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  REBALANCE_IN_PROGRESS: 27, COORDINATOR_NOT_AVAILABLE: 15, NOT_COORDINATOR: 16, INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24, UNKNOWN_MEMBER_ID: 25, INVALID_SESSION_TIMEOUT: 26, NON_EMPTY_GROUP: 68, GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79, PREFERRED_LEADER_NOT_AVAILABLE: 80, ELECTION_NOT_NEEDED: 84, GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82, OFFSET_METADATA_TOO_LARGE: 12,
  UNSUPPORTED_VERSION: 35, TOPIC_ALREADY_EXISTS: 36, INVALID_REQUEST: 42, OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  INVALID_PRODUCER_EPOCH: 47, KAFKA_STORAGE_ERROR: 56, UNSUPPORTED_COMPRESSION_TYPE: 76, INVALID_RECORD: 87,
  INVALID_TOPIC_EXCEPTION: 17, INVALID_PARTITIONS: 37, INVALID_REPLICATION_FACTOR: 38, INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40, STALE_BROKER_EPOCH: 77, DUPLICATE_BROKER_REGISTRATION: 101, BROKER_ID_NOT_REGISTERED: 102,
  REASSIGNMENT_IN_PROGRESS: 60, NO_REASSIGNMENT_IN_PROGRESS: 85,
  SASL_AUTHENTICATION_FAILED: 58, BROKER_NOT_AVAILABLE: 8, NOT_CONTROLLER: 41,
  DUPLICATE_VOTER: 126, VOTER_NOT_FOUND: 127,
  TOPIC_AUTHORIZATION_FAILED: 29, GROUP_AUTHORIZATION_FAILED: 30, CLUSTER_AUTHORIZATION_FAILED: 31,
  UNSUPPORTED_SASL_MECHANISM: 33, ILLEGAL_SASL_STATE: 34,
};

void describe('error table', () => {
  void test('wire numbers follow Kafka and are unique', () => {
    for (const [code, wire] of Object.entries(KAFKA_NUMBERS)) {
      assert.equal(kafkaWireCode(code as ErrorCode), wire, code);
      assert.equal(errorCodeFromWire(wire), code);
    }
    const wires = Object.values(ERROR_TABLE).map((spec) => spec.wire);
    assert.equal(new Set(wires).size, wires.length);
  });

  void test('the private CORRUPT_SEGMENT reaches Kafka clients as KAFKA_STORAGE_ERROR', () => {
    const privateWire: number = ERROR_TABLE.CORRUPT_SEGMENT.wire;
    assert.ok(privateWire < -1);
    assert.equal(kafkaWireCode('CORRUPT_SEGMENT'), 56);
    assert.equal(new TributaryError('CORRUPT_SEGMENT').wireCode, 56);
  });

  void test('the private CONNECTION_LIMIT_EXCEEDED is not retriable and reaches Kafka clients as NETWORK_EXCEPTION', () => {
    const privateWire: number = ERROR_TABLE.CONNECTION_LIMIT_EXCEEDED.wire;
    assert.ok(privateWire < -1);
    assert.equal(errorCodeFromWire(privateWire), 'CONNECTION_LIMIT_EXCEEDED');
    assert.equal(errorFromWire(privateWire).retriable, false);
    assert.equal(new TributaryError('CONNECTION_LIMIT_EXCEEDED').wireCode, ERROR_TABLE.NETWORK_EXCEPTION.wire);
  });

  void test('retriable flags for the codes clients retry on', () => {
    const retriable = (Object.keys(ERROR_TABLE) as ErrorCode[]).filter((code) => ERROR_TABLE[code].retriable);
    assert.deepEqual(retriable.sort(), ['COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'CORRUPT_MESSAGE',
      'ELECTION_NOT_NEEDED', 'KAFKA_STORAGE_ERROR', 'LEADER_NOT_AVAILABLE', 'NETWORK_EXCEPTION', 'NOT_CONTROLLER',
      'NOT_COORDINATOR', 'NOT_ENOUGH_REPLICAS', 'NOT_LEADER_OR_FOLLOWER', 'PREFERRED_LEADER_NOT_AVAILABLE', 'REQUEST_TIMED_OUT',
      'TOO_MANY_REQUESTS', 'UNKNOWN_TOPIC_OR_PARTITION']);
  });

  void test('errorFromWire and wireCodeOf', () => {
    const error = errorFromWire(6);
    assert.equal(error.code, 'NOT_LEADER_OR_FOLLOWER');
    assert.equal(error.retriable, true);
    assert.equal(error.message, ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.message);
    const unknown = errorFromWire(9999);
    assert.equal(unknown.code, 'UNKNOWN_SERVER_ERROR');
    assert.match(unknown.message, /9999/);
    assert.equal(wireCodeOf(new Error('boom')), -1);
    assert.equal(wireCodeOf('not an error'), -1);
    assert.equal(wireCodeOf(new MessageTooLargeError(10, 5)), 10);
  });
});

void describe('error classes', () => {
  void test('subclasses carry their code, name, fields and cause', () => {
    const cause = new Error('disk');
    const corrupt = new CorruptMessageError(1, 2, { cause });
    assert.ok(corrupt instanceof TributaryError && corrupt instanceof Error);
    assert.equal(corrupt.name, 'CorruptMessageError');
    assert.equal(corrupt.cause, cause);
    assert.match(corrupt.message, /0x00000001.*0x00000002/);
    assert.equal(new InvalidRecordError('BAD_MAGIC', 'x').reason, 'BAD_MAGIC');
    assert.equal(new UnsupportedCompressionError(4, 'x').wireCode, 76);
    const range = new OffsetOutOfRangeError(50, 10, 40);
    assert.equal(range.logStartOffset, 10);
    assert.equal(range.wireCode, 1);
    assert.equal(new NotLeaderOrFollowerError(3).leaderHint, 3);
    assert.equal(new NotLeaderOrFollowerError(null).retriable, true);
    assert.equal(new TributaryError('REQUEST_TIMED_OUT').cause, undefined);
  });
});
