/**
 * The committed records of one partition replica, read from a stopped broker's files (the Raft
 * log up to its commit index, data entries only): offset and value, in log order. Tests compare
 * replicas on disk with what was acknowledged.
 */
import { decodeRecordBatch } from '../../src/protocol/record_batch.js';
import { EntryType, LogManager } from '../../storage/index.js';
import { RecordingLogger } from './storage_fixture.js';

export interface CommittedRecord {
  readonly offset: number;
  readonly value: string;
}

export interface CommittedLog {
  /** The offset of the log's first record (above 0 once retention or a snapshot moved it). */
  readonly logStartOffset: number;
  readonly records: readonly CommittedRecord[];
}

export async function committedRecordsOf(dataDirectory: string, logName: string): Promise<CommittedLog> {
  const manager = LogManager.open({ dataDirectory, logger: new RecordingLogger() });
  const records: CommittedRecord[] = [];
  try {
    const log = await manager.openLog(logName);
    const logStartOffset = log.logStartOffset;
    const commit = Math.min(log.hardState().commit, log.lastIndex);
    if (commit >= log.firstIndex) {
      for (const entry of log.entries(log.firstIndex, commit + 1)) {
        if (entry.type !== EntryType.data) continue;
        for (const record of decodeRecordBatch(entry.payload).records) {
          records.push({ offset: record.offset, value: record.value?.toString() ?? '' });
        }
      }
    }
    return { logStartOffset, records };
  } finally {
    await manager.close();
  }
}
