/**
 * Keys for a whole cluster in one folder, as docs/security.md sets them up by hand: a pair per
 * broker (broker-N.key/.pub), a pair per client user (user-NAME.key/.pub), and the lists brokers
 * load: `peer-keys` (brokerId publicKey; clients use it as --server-key too) and `client-keys`
 * (User:name publicKey). LocalCluster's secure mode (tests, the bench) uses it.
 */
import fs from 'node:fs';
import path from 'node:path';

import { generateKeyPair, writeKeyPair } from './keys.js';
import type { KeyPair } from './keys.js';

export interface ClusterKeyFiles {
  readonly directory: string;
  readonly peerKeys: string;
  readonly clientKeys: string;
  /** broker-N.key by broker id. */
  readonly brokerKeyFiles: ReadonlyMap<number, string>;
  /** user-NAME.key by user name. */
  readonly userKeyFiles: ReadonlyMap<string, string>;
}

/** Writes every file into `directory` (made if missing); refuses to overwrite keys that exist. */
export function writeClusterKeys(directory: string, brokerIds: readonly number[], users: readonly string[]):
  ClusterKeyFiles {
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const brokerKeyFiles = new Map<number, string>();
  const peerLines: string[] = [];
  for (const id of brokerIds) {
    const pair = generateKeyPair();
    brokerKeyFiles.set(id, writeKeyPair(path.join(directory, `broker-${id}`), pair).secretPath);
    peerLines.push(`${id} ${pair.publicKey}`);
  }
  const userKeyFiles = new Map<string, string>();
  const clientLines: string[] = [];
  for (const user of users) {
    const pair: KeyPair = generateKeyPair();
    userKeyFiles.set(user, writeKeyPair(path.join(directory, `user-${user}`), pair).secretPath);
    clientLines.push(`User:${user} ${pair.publicKey}`);
  }
  const peerKeys = path.join(directory, 'peer-keys');
  const clientKeys = path.join(directory, 'client-keys');
  fs.writeFileSync(peerKeys, `${peerLines.join('\n')}\n`, { flag: 'wx' });
  fs.writeFileSync(clientKeys, `${clientLines.join('\n')}\n`, { flag: 'wx' });
  return { directory, peerKeys, clientKeys, brokerKeyFiles, userKeyFiles };
}
