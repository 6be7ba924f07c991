/**
 * A diagnostic event trace for following one write through the brokers: with
 * TRIBUTARY_TRACE_DIR set, each broker process appends `<epoch ms, µs precision> <pid> <event>`
 * lines to <dir>/trace-<pid>.txt, from the request server (a request in, its reply out) and the
 * Raft host (proposals, Readies, persists, applies, deliveries). Clocks of processes on one machine
 * agree, so `node dist/bench/trace_breakdown.js <dir>` can line the files up into a breakdown of the
 * write path (docs/performance.md). Each event is a synchronous write: for diagnosis at light load,
 * never for throughput figures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const TRACE_DIR_ENVIRONMENT = 'TRIBUTARY_TRACE_DIR';

export class EventTrace {
  private constructor(private readonly descriptor: number) {}

  /** The trace of this process when TRIBUTARY_TRACE_DIR names a folder, else undefined. */
  static fromEnvironment(environment: NodeJS.ProcessEnv = process.env): EventTrace | undefined {
    const directory = environment[TRACE_DIR_ENVIRONMENT];
    if (directory === undefined || directory === '') return undefined;
    fs.mkdirSync(directory, { recursive: true });
    return new EventTrace(fs.openSync(path.join(directory, `trace-${process.pid}.txt`), 'a'));
  }

  event(what: string): void {
    fs.writeSync(this.descriptor, `${(performance.timeOrigin + performance.now()).toFixed(3)} ${process.pid} ${what}\n`);
  }

  close(): void {
    fs.closeSync(this.descriptor);
  }
}
