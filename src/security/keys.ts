/**
 * CURVE key files. `tributary keys generate --out PREFIX` writes
 *
 *   PREFIX.key  the secret key and its public key (one file loads the pair), mode 0600
 *   PREFIX.pub  the public key alone (Z85, one line), for peers' and clients' key lists
 *
 * and refuses to overwrite either. Loading a .key checks its mode (nobody but the owner may read
 * it), its format, and that the public key is the secret key's. Public key lists:
 *
 *   --peer-keys     lines `brokerId publicKey`
 *   --client-keys   lines `User:name publicKey`
 *   --server-key    one public key (a .pub file), or lines `brokerId publicKey`
 *
 * Blank lines and lines starting with # are ignored (no Z85 key starts with #: its first block
 * would be over 2^32). Every problem is one line naming the file
 * and line (KeyFileError, a TributaryError INVALID_CONFIG, so library callers get a typed error).
 */
import fs from 'node:fs';
import * as zmq from 'zeromq';

import { TributaryError } from '../common/errors.js';
import { authToken } from './auth_token.js';
import { curveKeyBytes } from './z85.js';

export interface KeyPair {
  /** Z85, 40 characters. */
  readonly publicKey: string;
  /** Z85, 40 characters. */
  readonly secretKey: string;
}

/** A key file that cannot be used; the message is one line naming the file. */
export class KeyFileError extends TributaryError<'INVALID_CONFIG'> {
  override readonly name = 'KeyFileError';
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

/** The public keys a client may be given with --server-key: one for every broker, or one per broker id. */
export interface ServerKeys {
  readonly single: string | null;
  readonly byBroker: ReadonlyMap<number, string>;
}

const SECRET_HEADER = '# Tributary CURVE key pair. Secret: keep this file private (mode 0600).';

export function generateKeyPair(): KeyPair {
  return zmq.curveKeyPair();
}

/**
 * Writes PREFIX.key (mode 0600) and PREFIX.pub. Refuses, writing nothing, when either exists;
 * the secret file is created exclusively, so a file appearing meanwhile is not overwritten either.
 */
export function writeKeyPair(prefix: string, pair: KeyPair):
  { readonly secretPath: string; readonly publicPath: string } {
  const secretPath = `${prefix}.key`;
  const publicPath = `${prefix}.pub`;
  for (const file of [secretPath, publicPath]) {
    if (fs.existsSync(file)) throw new KeyFileError(`${file} exists; not overwriting it (remove it first)`);
  }
  const secretText = `${SECRET_HEADER}\npublic-key ${pair.publicKey}\nsecret-key ${pair.secretKey}\n`;
  try {
    fs.writeFileSync(secretPath, secretText, { mode: 0o600, flag: 'wx' });
    fs.chmodSync(secretPath, 0o600); // the umask may have taken bits away, never added any: be exact
    fs.writeFileSync(publicPath, `${pair.publicKey}\n`, { mode: 0o644, flag: 'wx' });
  } catch (error) {
    throw new KeyFileError(`cannot write ${prefix}.key/.pub: ${describe(error)}`);
  }
  return { secretPath, publicPath };
}

/** Loads a PREFIX.key written by writeKeyPair; checks its mode, format and that the halves match. */
export function loadKeyPair(path: string): KeyPair {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch (error) {
    throw new KeyFileError(`key file ${path}: ${describe(error)}`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new KeyFileError(`key file ${path} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); ` +
      `run chmod 600 ${path}`);
  }
  const fields = new Map<string, string>();
  const lines = meaningfulLines(readText(path, 'key file'));
  if (lines.length === 1 && lines[0]?.words.length === 1) {
    throw new KeyFileError(`key file ${path} holds a public key only (a .pub file); give the PREFIX.key`);
  }
  for (const { number, words } of lines) {
    const [name, value] = words;
    if (words.length !== 2 || name === undefined || value === undefined
      || (name !== 'public-key' && name !== 'secret-key')) {
      throw new KeyFileError(`key file ${path} line ${number}: expected "public-key KEY" or "secret-key KEY"`);
    }
    if (fields.has(name)) throw new KeyFileError(`key file ${path} line ${number}: ${name} given twice`);
    fields.set(name, checkedKey(value, `key file ${path} line ${number}`));
  }
  const publicKey = fields.get('public-key');
  const secretKey = fields.get('secret-key');
  if (publicKey === undefined || secretKey === undefined) {
    throw new KeyFileError(`key file ${path} needs both a public-key and a secret-key line (a .pub file is not a key pair)`);
  }
  if (!pairMatches({ publicKey, secretKey })) {
    throw new KeyFileError(`key file ${path}: the public key is not the secret key's`);
  }
  return { publicKey, secretKey };
}

/** --peer-keys: broker id to public key. */
export function loadPeerKeys(path: string): Map<number, string> {
  const keys = new Map<number, string>();
  for (const { number, words } of meaningfulLines(readText(path, 'peer keys file'))) {
    const where = `peer keys file ${path} line ${number}`;
    const [idText, key] = words;
    const id = Number(idText);
    if (words.length !== 2 || key === undefined || !/^\d+$/.test(idText ?? '') || !Number.isSafeInteger(id) || id < 1) {
      throw new KeyFileError(`${where}: expected "brokerId publicKey"`);
    }
    if (keys.has(id)) throw new KeyFileError(`${where}: broker ${id} is listed twice`);
    keys.set(id, checkedKey(key, where));
  }
  checkDistinctKeys(keys, `peer keys file ${path}`);
  return keys;
}

/** --client-keys: public key to principal (`User:name`). */
export function loadClientKeys(path: string): Map<string, string> {
  const principals = new Map<string, string>();
  for (const { number, words } of meaningfulLines(readText(path, 'client keys file'))) {
    const where = `client keys file ${path} line ${number}`;
    const [principal, key] = words;
    if (words.length !== 2 || principal === undefined || key === undefined || !/^User:[^\s:]+$/.test(principal)) {
      throw new KeyFileError(`${where}: expected "User:name publicKey"`);
    }
    const checked = checkedKey(key, where);
    const known = principals.get(checked);
    if (known !== undefined) throw new KeyFileError(`${where}: the key is ${known}'s already`);
    principals.set(checked, principal);
  }
  return principals;
}

/** --server-key: a single public key (a .pub file), or lines `brokerId publicKey`. */
export function loadServerKeys(path: string): ServerKeys {
  const lines = meaningfulLines(readText(path, 'server key file'));
  const first = lines[0];
  if (lines.length === 1 && first !== undefined && first.words.length === 1) {
    return { single: checkedKey(first.words[0] ?? '', `server key file ${path} line ${first.number}`),
      byBroker: new Map() };
  }
  const byBroker = loadPeerKeys(path);
  if (byBroker.size === 0) throw new KeyFileError(`server key file ${path} holds no key`);
  return { single: null, byBroker };
}

function pairMatches(pair: KeyPair): boolean {
  // X25519 with our own public key gives the same secret from both halves only when they belong together.
  const probe = generateKeyPair();
  return authToken(pair, probe.publicKey).equals(authToken(probe, pair.publicKey));
}

function checkedKey(text: string, where: string): string {
  if (curveKeyBytes(text) === null) throw new KeyFileError(`${where}: "${abbreviate(text)}" is not a 40-character Z85 key`);
  return text;
}

function checkDistinctKeys(keys: ReadonlyMap<number, string>, what: string): void {
  const owners = new Map<string, number>();
  for (const [id, key] of keys) {
    const other = owners.get(key);
    if (other !== undefined) throw new KeyFileError(`${what}: brokers ${other} and ${id} have the same key`);
    owners.set(key, id);
  }
}

function readText(path: string, what: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (error) {
    throw new KeyFileError(`${what} ${path}: ${describe(error)}`);
  }
}

function meaningfulLines(text: string): { readonly number: number; readonly words: string[] }[] {
  return text.split('\n').map((line, index) => ({ number: index + 1, words: line.trim().split(/\s+/) }))
    .filter(({ words }) => words[0] !== '' && words[0]?.startsWith('#') !== true);
}

function abbreviate(text: string): string {
  return text.length > 12 ? `${text.slice(0, 8)}...` : text;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
