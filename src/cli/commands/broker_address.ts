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
  const voters = new Map<number, HostPort>();
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [idText, address] = part.split('@');
    const id = Number(idText);
    if (!Number.isInteger(id) || id < 1 || address === undefined) {
      throw new ConfigError(`--voters: expected id@host:port, got ${JSON.stringify(part)}`);
    }
    if (voters.has(id)) throw new ConfigError(`--voters: voter ${id} is listed twice`);
    voters.set(id, parseHostPort(address, `--voters (voter ${id})`));
  }
  if (voters.size === 0) throw new ConfigError('--voters: at least one voter is needed');
  return voters;
}
