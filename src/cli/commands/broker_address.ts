/** Parsing of broker addresses and voter lists, with one-line errors for the command line. */
import type { HostPort } from '../../broker/broker.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseHostPort(text: string, what: string): HostPort {
  const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (match?.[1] === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ConfigError(`${what}: expected host:port, got ${JSON.stringify(text)}`);
  }
  return { host: match[1], port };
}

/** `1@127.0.0.1:19091,2@127.0.0.1:19092` (Kafka's controller.quorum.voters). */
export function parseVoters(text: string): Map<number, HostPort> {
  const voters = parseIdAddressList(text, '--voters', 'voter');
  if (voters.size === 0) throw new ConfigError('--voters: at least one voter is needed');
  return voters;
}

/**
 * `--raft-dial 2@127.0.0.1:29092,3@127.0.0.1:29093`: the address to dial for each listed peer instead
 * of its own Raft address (a fault-injecting relay in tests). Empty means no override; a broker
 * cannot redirect its links to itself.
 */
export function parseRaftDial(text: string, selfId: number): Map<number, HostPort> {
  const dial = parseIdAddressList(text, '--raft-dial', 'broker');
  if (dial.has(selfId)) throw new ConfigError(`--raft-dial: broker ${selfId} is this broker, not a peer`);
  return dial;
}

/** `id@host:port,...` with positive, distinct ids; `flag` and `noun` name the option and its ids in errors. */
function parseIdAddressList(text: string, flag: string, noun: string): Map<number, HostPort> {
  const addresses = new Map<number, HostPort>();
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [idText, address, extra] = part.split('@');
    const id = Number(idText);
    if (!Number.isInteger(id) || id < 1 || address === undefined || extra !== undefined) {
      throw new ConfigError(`${flag}: expected id@host:port, got ${JSON.stringify(part)}`);
    }
    if (addresses.has(id)) throw new ConfigError(`${flag}: ${noun} ${id} is listed twice`);
    addresses.set(id, parseHostPort(address, `${flag} (${noun} ${id})`));
  }
  return addresses;
}
