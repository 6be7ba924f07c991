/**
 * Child process for crash.test.ts: appends entries to a log in a loop and prints `durable N T` each
 * time sync() reports index N durable (T: the term of entry N). The parent SIGKILLs it at a moment
 * of its choosing.
 * With `power-loss`, its files go through PowerLossFileIo (every byte not yet fdatasynced is lost
 * with the process, as in a power cut) and a small journal, so only the journal's replay can bring
 * back entries reported durable; it also cuts back its own unsynced tail now and then and rewrites
 * it in a new term (`truncated N`: entries from N on are gone), as a Raft follower does on a conflict.
 * Usage: node crash_writer.js <dataDirectory> <logName> [power-loss]
 */
import { LogManager, PowerLossFileIo, nodeFileIo } from '../../storage/index.js';
import { dataEntry } from '../helpers/storage_fixture.js';

const [dataDirectory, logName, mode] = process.argv.slice(2);
if (dataDirectory === undefined || logName === undefined) throw new Error('usage: crash_writer <dir> <log> [power-loss]');
const powerLoss = mode === 'power-loss';

const entriesPerBatchMax = 8;
const manager = LogManager.open({ dataDirectory, config: { segmentBytesMax: 256 * 1024 },
  ...(powerLoss ? { io: new PowerLossFileIo(nodeFileIo, { fsync: true }), journalFileBytes: 64 * 1024 } : {}) });
const log = await manager.openLog(logName);
let index = log.lastIndex + 1;
let term = log.lastTerm + 1;
process.stdout.write(`opened ${log.lastIndex}\n`);
const reportDurable = (durable: number): void => {
  process.stdout.write(`durable ${durable} ${durable === 0 ? 0 : log.termAt(durable)}\n`);
};
const syncsInFlight = new Set<Promise<void>>();
// Bounded: the parent kills it long before; the cap keeps an orphan from running forever.
for (let round = 0; round < 1_000_000; round += 1) {
  const truncating = powerLoss && round % 7 === 6;
  // A truncation waits for the syncs under way (a Raft host never cuts while its own sync runs):
  // what they report durable must not be cut.
  if (truncating) await Promise.all(syncsInFlight);
  const count = 1 + (round % entriesPerBatchMax);
  log.append(Array.from({ length: count }, (_, i) => dataEntry(index + i, term)));
  index += count;
  if (truncating) {
    // Cut back what no sync covered yet (at most 3 entries) and go on in a new term.
    const cut = Math.max(log.durableIndex + 1, log.lastIndex - 2);
    await log.truncateSuffix(cut);
    process.stdout.write(`truncated ${cut}\n`);
    index = cut;
    term += 1;
  }
  // Alternate awaited and overlapping syncs so kills land both inside and between fdatasyncs.
  if (round % 3 === 0) {
    reportDurable(await log.sync());
  } else {
    const sync = log.sync().then(reportDurable);
    syncsInFlight.add(sync);
    void sync.finally(() => { syncsInFlight.delete(sync); });
    await new Promise((resolve) => setImmediate(resolve));
  }
}
