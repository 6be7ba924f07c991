/**
 * The Kafka listener's users file (--kafka-sasl-users): one SCRAM-SHA-256 credential per user, never
 * a password, one line each:
 *
 *   alice SCRAM-SHA-256 iterations=4096 salt=BASE64 stored-key=BASE64 server-key=BASE64
 *
 * Blank lines and lines starting with # are ignored. `tributary users add` writes entries (mode
 * 0600: a StoredKey and ServerKey let whoever reads them pose as the broker to that user, or try
 * passwords offline). The broker reads it at start and again whenever it changes, as --client-keys
 * (SaslUserStore); a file that no longer parses keeps the users in force. An authenticated user
 * `alice` is the principal `User:alice`.
 */
import fs from 'node:fs';
import path from 'node:path';

import { TributaryError } from '../common/errors.js';
import type { SecurityLogger } from './broker_security.js';
import { SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_SHA_256 } from './scram.js';
import type { ScramCredential } from './scram.js';

/** How often the users file is checked for changes (as --client-keys). */
export const SASL_USERS_RELOAD_MS = 1_000;
/** A user name is a principal's name: no whitespace, colon, comma or equals sign. */
const USER_NAME_PATTERN = /^[^\s:,=#][^\s:,=]{0,254}$/;
const KEY_BYTES = 32;

/** A users file that cannot be used; the message is one line naming the file (and line). */
export class UsersFileError extends TributaryError<'INVALID_CONFIG'> {
  override readonly name = 'UsersFileError';
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

/** Whether name can be a SASL user (and so `User:name`). */
export function isValidUserName(name: string): boolean {
  return USER_NAME_PATTERN.test(name);
}

export function formatUserLine(name: string, credential: ScramCredential): string {
  return `${name} ${SCRAM_SHA_256} iterations=${credential.iterations} salt=${credential.salt.toString('base64')} ` +
    `stored-key=${credential.storedKey.toString('base64')} server-key=${credential.serverKey.toString('base64')}`;
}

const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

function base64Field(value: string | undefined, field: string, where: string, bytes?: number): Buffer {
  if (value === undefined || !BASE64_PATTERN.test(value) || value.length % 4 !== 0) {
    throw new UsersFileError(`${where}: ${field}= must be base64`);
  }
  const decoded = Buffer.from(value, 'base64');
  if (bytes !== undefined && decoded.length !== bytes) throw new UsersFileError(`${where}: ${field} must be ${bytes} bytes`);
  return decoded;
}

/** One line's user and credential; throws UsersFileError naming where. */
function parseUserLine(words: readonly string[], where: string):
  { readonly name: string; readonly credential: ScramCredential } {
  const [name, mechanism, ...fields] = words;
  if (name === undefined || !isValidUserName(name)) {
    throw new UsersFileError(`${where}: expected "name ${SCRAM_SHA_256} iterations=N salt=... stored-key=... server-key=..."`);
  }
  if (mechanism !== SCRAM_SHA_256) throw new UsersFileError(`${where}: the mechanism must be ${SCRAM_SHA_256}`);
  const values = new Map<string, string>();
  for (const field of fields) {
    const at = field.indexOf('=');
    const key = field.slice(0, at);
    if (at <= 0 || !['iterations', 'salt', 'stored-key', 'server-key'].includes(key)) {
      throw new UsersFileError(`${where}: unknown field ${JSON.stringify(field.slice(0, 20))}`);
    }
    if (values.has(key)) throw new UsersFileError(`${where}: ${key} given twice`);
    values.set(key, field.slice(at + 1));
  }
  const iterationsText = values.get('iterations') ?? '';
  const iterations = Number(iterationsText);
  if (!/^\d+$/.test(iterationsText) || iterations < SCRAM_ITERATIONS_MIN || iterations > SCRAM_ITERATIONS_MAX) {
    throw new UsersFileError(`${where}: iterations= must be an integer from ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX}`);
  }
  const salt = base64Field(values.get('salt'), 'salt', where);
  if (salt.length < 8) throw new UsersFileError(`${where}: salt must be at least 8 bytes`);
  return { name, credential: { iterations, salt, storedKey: base64Field(values.get('stored-key'), 'stored-key', where, KEY_BYTES),
    serverKey: base64Field(values.get('server-key'), 'server-key', where, KEY_BYTES) } };
}

interface Line { readonly number: number; readonly text: string; readonly words: string[] }

function lines(text: string): Line[] {
  return text.split('\n').map((line, index) => ({ number: index + 1, text: line, words: line.trim().split(/\s+/) }));
}

function meaningful(line: Line): boolean {
  return line.words[0] !== '' && line.words[0]?.startsWith('#') !== true;
}

/** The users of a users file's text; `file` names it in errors. */
export function parseSaslUsers(text: string, file: string): Map<string, ScramCredential> {
  const users = new Map<string, ScramCredential>();
  for (const line of lines(text).filter(meaningful)) {
    const where = `users file ${file} line ${line.number}`;
    const { name, credential } = parseUserLine(line.words, where);
    if (users.has(name)) throw new UsersFileError(`${where}: ${name} is listed twice`);
    users.set(name, credential);
  }
  return users;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads and parses a users file; refuses one that others may read, as a key file. */
export function loadSaslUsers(file: string): Map<string, ScramCredential> {
  let text: string;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsersFileError(`users file ${file}: ${describe(error)}`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new UsersFileError(`users file ${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); ` +
      `run chmod 600 ${file}`);
  }
  return parseSaslUsers(text, file);
}

/**
 * Writes name's credential into the users file, replacing its line or appending one, keeping every
 * other line; creates the file. The new text goes to a temporary file (mode 0600) renamed over the
 * old one, so a broker reloading it never reads half a file. A file that does not parse is left alone.
 */
export function upsertSaslUser(file: string, name: string, credential: ScramCredential): 'added' | 'updated' {
  if (!isValidUserName(name)) throw new UsersFileError(`user name ${JSON.stringify(name)}: no whitespace, ':', ',' or '='`);
  let text = '';
  if (fs.existsSync(file)) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsersFileError(`users file ${file}: ${describe(error)}`);
    }
    parseSaslUsers(text, file);
  }
  const entry = formatUserLine(name, credential);
  const existing = lines(text);
  const index = existing.findIndex((line) => meaningful(line) && line.words[0] === name);
  let updated: string[];
  if (index >= 0) {
    updated = existing.map((line, at) => (at === index ? entry : line.text));
  } else {
    updated = existing.map((line) => line.text);
    if (updated.at(-1) === '') updated.pop();
    updated.push(entry);
  }
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, `${updated.join('\n')}\n`, { mode: 0o600 });
    fs.chmodSync(temporary, 0o600);
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw new UsersFileError(`cannot write users file ${file}: ${describe(error)}`);
  }
  return index >= 0 ? 'updated' : 'added';
}

function versionOf(file: string): string {
  try {
    const stat = fs.statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** The users in force: read at start (errors throw), then reloaded when the file changes. */
export class SaslUserStore {
  private users: ReadonlyMap<string, ScramCredential>;
  private version = '';
  private reloadTimer: NodeJS.Timeout | undefined;

  private constructor(readonly file: string, private readonly logger: SecurityLogger) {
    this.users = this.read();
  }

  /** Loads the file; throws a one-line UsersFileError when it cannot be used. */
  static load(file: string, logger: SecurityLogger): SaslUserStore {
    return new SaslUserStore(file, logger);
  }

  /** A user's credential, or undefined for a name not in the file. */
  credential(user: string): ScramCredential | undefined {
    return this.users.get(user);
  }

  get size(): number {
    return this.users.size;
  }

  startReloading(intervalMs = SASL_USERS_RELOAD_MS): void {
    if (this.reloadTimer !== undefined) return;
    this.reloadTimer = setInterval(() => { this.reloadIfChanged(); }, intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.reloadTimer);
    this.reloadTimer = undefined;
  }

  /** Reloads when the file's inode, size or time changed; true when new users are in force. */
  reloadIfChanged(): boolean {
    if (versionOf(this.file) === this.version) return false;
    try {
      this.users = this.read();
    } catch (error) {
      this.logger.error({ file: this.file, err: error }, 'users file changed but cannot be used; the previous users stay');
      return false;
    }
    this.logger.info({ file: this.file, users: this.users.size }, 'reloaded the SASL users');
    return true;
  }

  private read(): ReadonlyMap<string, ScramCredential> {
    // The version is taken before reading: a change during the read shows as a change next time.
    this.version = versionOf(this.file);
    return loadSaslUsers(this.file);
  }
}
