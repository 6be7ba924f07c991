/**
 * What the runner knows about a run that the history does not say: how it was started and with
 * which settings. The runner writes it as meta.json beside history.jsonl, so a report can be
 * rendered again from the folder alone.
 */

export interface RunMeta {
  /** The command line that started the run, as typed. */
  readonly commandLine: string;
  /** The seed of the schedule, to replay the run. */
  readonly seed: number | string;
  /** Broker count. */
  readonly nodes: number;
  /** Nemesis families the schedule drew from. */
  readonly nemeses: readonly string[];
  readonly durationSeconds: number;
  /** Producer acks setting: 'all', 1, ... */
  readonly acks: string | number;
  /** Broker fsync policy: true/false or a policy name. */
  readonly fsync: string | boolean;
  /** Wall-clock start of the run, ISO 8601. */
  readonly startedAt: string;
  /** How the final drain went, in words ('all keys read to the end', 'timed out on key 3', ...). */
  readonly drain: string;
  /** Operation counts as the runner tallied them, if it did; the page counts the history itself too. */
  readonly operationCounts?: Readonly<Record<string, number>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fieldError(field: string, expected: string): Error {
  return new Error(`meta.json: '${field}' must be ${expected}`);
}

/** Checks untrusted meta.json content field by field, naming the first field that is wrong. */
export function parseRunMeta(json: unknown): RunMeta {
  if (!isRecord(json)) throw new Error('meta.json: expected an object');
  const { commandLine, seed, nodes, nemeses, durationSeconds, acks, fsync, startedAt, drain, operationCounts } = json;
  if (typeof commandLine !== 'string') throw fieldError('commandLine', 'a string');
  if (typeof seed !== 'number' && typeof seed !== 'string') throw fieldError('seed', 'a number or string');
  if (typeof nodes !== 'number') throw fieldError('nodes', 'a number');
  if (!Array.isArray(nemeses) || !nemeses.every((nemesis): nemesis is string => typeof nemesis === 'string')) {
    throw fieldError('nemeses', 'an array of strings');
  }
  if (typeof durationSeconds !== 'number') throw fieldError('durationSeconds', 'a number');
  if (typeof acks !== 'number' && typeof acks !== 'string') throw fieldError('acks', 'a number or string');
  if (typeof fsync !== 'boolean' && typeof fsync !== 'string') throw fieldError('fsync', 'a boolean or string');
  if (typeof startedAt !== 'string') throw fieldError('startedAt', 'an ISO 8601 string');
  if (typeof drain !== 'string') throw fieldError('drain', 'a string');
  const meta: RunMeta = { commandLine, seed, nodes, nemeses, durationSeconds, acks, fsync,
    startedAt, drain };
  if (operationCounts === undefined) return meta;
  if (!isRecord(operationCounts) || !Object.values(operationCounts).every((count) => typeof count === 'number')) {
    throw fieldError('operationCounts', 'an object of numbers');
  }
  return { ...meta, operationCounts: operationCounts as Record<string, number> };
}
