/**
 * A broker's security settings, loaded at start: its key pair (--key-file), its peers' public keys
 * (--peer-keys), its clients' keys and principals (--client-keys, reloaded when the file changes),
 * --super-users and --allow-anonymous. It answers the questions the listeners ask:
 *
 * - ZAP (zap_handler.ts), domain 'raft': only a key of --peer-keys; domain 'client': a client key,
 *   a peer key (brokers call each other as clients, as `Broker:N`), or any key with --allow-anonymous.
 * - A request's auth token (auth_token.ts): whose it is, from tables precomputed for every known key
 *   (rebuilt on a reload), so a request costs one Map lookup.
 * - Raft: the token to send each peer, and which peer a received token belongs to.
 */
import fs from 'node:fs';

import { TokenTable, authToken } from './auth_token.js';
import { ClientSecurity } from './client_security.js';
import { KeyFileError, loadClientKeys, loadKeyPair, loadPeerKeys } from './keys.js';
import type { KeyPair } from './keys.js';
import { ANONYMOUS_PRINCIPAL, brokerPrincipal } from './principals.js';

export const CLIENT_ZAP_DOMAIN = 'client';
export const RAFT_ZAP_DOMAIN = 'raft';
/** How often --client-keys is checked for changes. */
export const CLIENT_KEYS_RELOAD_MS = 1_000;

/** Where reloads are logged (a pino logger does). */
export interface SecurityLogger {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface BrokerSecurityOptions {
  readonly keyFile: string;
  readonly peerKeysFile: string;
  readonly clientKeysFile?: string;
  readonly superUsers?: readonly string[];
  readonly allowAnonymous?: boolean;
}

export class BrokerSecurity {
  readonly superUsers: readonly string[];
  readonly allowAnonymous: boolean;
  private clientKeys: ReadonlyMap<string, string>;
  private principals: TokenTable<string>;
  private readonly peerIdsByKey: ReadonlyMap<string, number>;
  private readonly raftSenders: TokenTable<number>;
  private readonly raftTokens: ReadonlyMap<number, Buffer>;
  private clientKeysVersion = '';
  private reloadTimer: NodeJS.Timeout | undefined;

  private constructor(readonly brokerId: number, readonly pair: KeyPair, readonly peerKeys: ReadonlyMap<number, string>,
    private readonly options: BrokerSecurityOptions, private readonly logger: SecurityLogger) {
    this.superUsers = [...options.superUsers ?? []];
    this.allowAnonymous = options.allowAnonymous === true;
    this.peerIdsByKey = new Map([...peerKeys].map(([id, key]) => [key, id]));
    this.raftSenders = new TokenTable(pair, [...peerKeys].filter(([id]) => id !== brokerId)
      .map(([id, key]) => [key, id] as const));
    this.raftTokens = new Map([...peerKeys].filter(([id]) => id !== brokerId)
      .map(([id, key]) => [id, authToken(pair, key)]));
    this.clientKeys = this.readClientKeys();
    this.principals = this.principalTable();
  }

  /** Loads every file; throws a one-line KeyFileError when one cannot be used. */
  static load(brokerId: number, options: BrokerSecurityOptions, logger: SecurityLogger): BrokerSecurity {
    const pair = loadKeyPair(options.keyFile);
    const peerKeys = loadPeerKeys(options.peerKeysFile);
    const own = peerKeys.get(brokerId);
    if (own !== undefined && own !== pair.publicKey) {
      throw new KeyFileError(`--peer-keys ${options.peerKeysFile} lists another key for this broker (${brokerId}) than ` +
        `--key-file ${options.keyFile} holds`);
    }
    return new BrokerSecurity(brokerId, pair, peerKeys, options, logger);
  }

  /** ZAP, domain 'client': the principal of a key allowed to connect, or null. */
  authorizeClient(publicKey: string): string | null {
    const peer = this.peerIdsByKey.get(publicKey);
    if (peer !== undefined) return brokerPrincipal(peer);
    return this.clientKeys.get(publicKey) ?? (this.allowAnonymous ? ANONYMOUS_PRINCIPAL : null);
  }

  /** ZAP, domain 'raft': only registered peers (never this broker's own key from elsewhere). */
  authorizeRaft(publicKey: string): string | null {
    const peer = this.peerIdsByKey.get(publicKey);
    return peer === undefined || peer === this.brokerId ? null : brokerPrincipal(peer);
  }

  /** The principal a request's token proves; anonymous for none with --allow-anonymous, else null. */
  principalOf(token: Uint8Array): string | null {
    return this.principals.ownerOf(token) ?? (this.allowAnonymous ? ANONYMOUS_PRINCIPAL : null);
  }

  /** Raft: the token this broker puts on batches to a peer; undefined for a peer without a key. */
  raftTokenFor(peerId: number): Buffer | undefined {
    return this.raftTokens.get(peerId);
  }

  /** Raft: the peer a received token belongs to, or undefined. */
  raftSenderOf(token: Uint8Array): number | undefined {
    return this.raftSenders.ownerOf(token);
  }

  /** Credentials for this broker's own client connections to other brokers (their peer keys). */
  clientCredentials(): ClientSecurity {
    return ClientSecurity.forPair(this.pair, { single: null, byBroker: this.peerKeys });
  }

  /** Starts checking --client-keys for changes; a file that no longer parses keeps the keys in force. */
  startReloading(intervalMs = CLIENT_KEYS_RELOAD_MS): void {
    if (this.options.clientKeysFile === undefined || this.reloadTimer !== undefined) return;
    this.reloadTimer = setInterval(() => { this.reloadIfChanged(); }, intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.reloadTimer);
    this.reloadTimer = undefined;
  }

  /** Reloads --client-keys when its size, time or inode changed; true when new keys are in force. */
  reloadIfChanged(): boolean {
    const path = this.options.clientKeysFile;
    if (path === undefined || versionOf(path) === this.clientKeysVersion) return false;
    try {
      this.clientKeys = this.readClientKeys();
      this.principals = this.principalTable();
    } catch (error) {
      this.logger.error({ file: path, err: error }, 'client keys file changed but cannot be used; the previous keys stay');
      return false;
    }
    this.logger.info({ file: path, keys: this.clientKeys.size }, 'reloaded the client keys');
    return true;
  }

  private readClientKeys(): ReadonlyMap<string, string> {
    const path = this.options.clientKeysFile;
    if (path === undefined) return new Map();
    // The version is taken before reading: a change during the read shows as a change next time.
    this.clientKeysVersion = versionOf(path);
    const keys = loadClientKeys(path);
    for (const key of keys.keys()) {
      if (this.peerIdsByKey.has(key)) {
        throw new KeyFileError(`client keys file ${path}: a key is broker ${this.peerIdsByKey.get(key)}'s`);
      }
    }
    return keys;
  }

  private principalTable(): TokenTable<string> {
    const entries: (readonly [string, string])[] = [...this.clientKeys];
    for (const [id, key] of this.peerKeys) entries.push([key, brokerPrincipal(id)]);
    return new TokenTable(this.pair, entries);
  }
}

function versionOf(path: string): string {
  try {
    const stat = fs.statSync(path);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
