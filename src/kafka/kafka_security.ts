/**
 * The Kafka listener's security at broker start: TLS credentials (kafka_tls.ts) and SASL users
 * (security/sasl_users.ts, reloaded while the broker runs), read before anything is opened so a bad
 * file stops the start with one line. It logs what the listener requires, and warns once when
 * PLAIN passwords would cross the network in the clear (SASL without TLS).
 */
import crypto from 'node:crypto';
import type { Logger } from 'pino';

import { SaslUserStore } from '../security/sasl_users.js';
import { loadKafkaTls } from './kafka_tls.js';
import type { KafkaTlsCredentials, KafkaTlsFiles } from './kafka_tls.js';
import type { SaslSettings } from './sasl_session.js';

export interface KafkaSaslFiles {
  readonly usersFile: string;
  /** Unauthenticated clients are served as User:ANONYMOUS (they may still authenticate). */
  readonly allowAnonymous?: boolean;
}

export interface KafkaSecurityOptions {
  readonly tls?: KafkaTlsFiles;
  readonly sasl?: KafkaSaslFiles;
}

export interface KafkaSecurity {
  readonly tls?: KafkaTlsCredentials;
  readonly sasl?: SaslSettings;
  /** Stops reloading the users file. */
  stop(): void;
}

/** Loads the files (throwing a one-line INVALID_CONFIG error) and starts watching the users file. */
export function startKafkaSecurity(options: KafkaSecurityOptions, logger: Logger): KafkaSecurity {
  const tls = options.tls === undefined ? undefined : loadKafkaTls(options.tls);
  if (options.sasl === undefined) {
    return { ...(tls === undefined ? {} : { tls }), stop: () => undefined };
  }
  const users = SaslUserStore.load(options.sasl.usersFile, logger);
  users.startReloading();
  const allowAnonymous = options.sasl.allowAnonymous === true;
  logger.info({ usersFile: users.file, users: users.size, tls: tls !== undefined, allowAnonymous },
    'Kafka listener: SASL (PLAIN, SCRAM-SHA-256) required');
  if (tls === undefined) {
    logger.warn('Kafka listener: SASL/PLAIN is accepted without TLS; passwords cross the network in the clear ' +
      '(give --kafka-tls-cert and --kafka-tls-key)');
  }
  const sasl: SaslSettings = { lookUp: (user) => users.credential(user), allowAnonymous,
    decoySecret: crypto.randomBytes(32) };
  return { ...(tls === undefined ? {} : { tls }), sasl, stop: () => { users.stop(); } };
}
