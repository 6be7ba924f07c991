/**
 * Broker logs for a person at a terminal: `tributary dev` passes each broker's stderr through here
 * when its own stderr is a TTY. JSON log lines (pino's) become one readable line each (time, level,
 * message, then the other fields on the same line) through pino-pretty; anything else passes unchanged. Brokers keep
 * writing JSON, so a file or a pipe still gets lines a machine can read.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { prettyFactory } from 'pino-pretty';

export interface PrettyOptions {
  readonly colorize: boolean;
}

/** One log line made readable; a line that is not a JSON object is returned as it came. */
export function prettyLine(line: string, format: (record: object) => string): string {
  if (!line.startsWith('{')) return `${line}\n`;
  try {
    const record: unknown = JSON.parse(line);
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return `${line}\n`;
    return format(record);
  } catch {
    return `${line}\n`;
  }
}

/** Copies `input` to `output` line by line, pretty-printing the JSON ones. */
export function prettyLogLines(input: Readable, output: Writable, options: PrettyOptions): void {
  const format = prettyFactory({ colorize: options.colorize, translateTime: 'SYS:HH:MM:ss.l', singleLine: true,
    ignore: 'pid,hostname' }) as (record: object) => string;
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => { output.write(prettyLine(line, format)); });
}
