/**
 * Each broker's committed log of every jepsen partition, read offline from its data folder once
 * the cluster has stopped: entries up to the durable commit index, their records' values by
 * offset. Opening a log runs storage recovery (it may cut a torn tail, which was never committed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeBatch } from '../src/client/compression.js';
import { EntryType, LogManager } from '../storage/index.js';
import type { StorageLogger } from '../storage/index.js';
import type { ReplicaLogs } from './history.js';
import { keyOf } from './history.js';

const PARTITION_FOLDER = /^(jepsen-\d+)-(\d+)$/;

/** Storage's complaints while opening, kept for the run's notes. */
class CollectingLogger implements StorageLogger {
  readonly lines: string[] = [];
  info(): void { /* Routine. */ }
  warn(object: object, message: string): void { this.lines.push(`warn: ${message} ${JSON.stringify(object)}`); }
  error(object: object, message: string): void { this.lines.push(`error: ${message} ${JSON.stringify(object)}`); }
}

export interface ReplicaRead {
  readonly logs: ReplicaLogs;
  /** Storage warnings, and offsets that were not dense within one replica. */
  readonly notes: readonly string[];
}

interface ReplicaLog { logStart: number; values: number[] }

async function readBroker(dataDirectory: string, brokerId: number, into: Map<number, Record<string, ReplicaLog>>,
  notes: string[]): Promise<void> {
  const root = path.join(dataDirectory, 'partitions');
  if (!fs.existsSync(root)) return;
  const logger = new CollectingLogger();
  const manager = LogManager.open({ dataDirectory, logger });
  try {
    for (const name of fs.readdirSync(root).sort()) {
      const match = PARTITION_FOLDER.exec(name);
      if (match === null) continue;
      const key = keyOf(match[1] ?? '', Number(match[2]));
      if (key === null) continue;
      const log = await manager.openLog(name);
      const replica: ReplicaLog = { logStart: -1, values: [] };
      const commit = Math.min(log.hardState().commit, log.lastIndex);
      if (commit >= log.firstIndex) {
        for (const entry of log.entries(log.firstIndex, commit + 1)) {
          if (entry.type !== EntryType.data) continue;
          for (const record of decodeBatch(entry.payload).records) {
            if (replica.logStart < 0) replica.logStart = record.offset;
            const expected = replica.logStart + replica.values.length;
            if (record.offset !== expected) notes.push(`broker ${brokerId} key ${key}: offset ${record.offset} where ${expected} was next`);
            const value = Number(record.value?.toString() ?? 'x');
            replica.values.push(Number.isSafeInteger(value) && value > 0 ? value : -1);
          }
        }
      }
      if (replica.logStart < 0) replica.logStart = 0;
      const byBroker = into.get(key) ?? {};
      byBroker[String(brokerId)] = replica;
      into.set(key, byBroker);
    }
  } finally {
    await manager.close();
    notes.push(...logger.lines.map((line) => `broker ${brokerId} storage ${line}`));
  }
}

/** dataDirectories: broker id -> its data folder. */
export async function readReplicaLogs(dataDirectories: ReadonlyMap<number, string>): Promise<ReplicaRead> {
  const byKey = new Map<number, Record<string, ReplicaLog>>();
  const notes: string[] = [];
  for (const [brokerId, directory] of dataDirectories) {
    try {
      await readBroker(directory, brokerId, byKey, notes);
    } catch (error) {
      notes.push(`broker ${brokerId}: its logs could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const logs: Record<string, Record<string, ReplicaLog>> = {};
  for (const key of [...byKey.keys()].sort((a, b) => a - b)) logs[String(key)] = byKey.get(key) ?? {};
  return { logs, notes };
}
