/**
 * Child process for crash.test.ts: appends entries to a log in a loop and prints `durable N` each
 * time sync() reports index N durable. The parent SIGKILLs it at a moment of its choosing.
 * Usage: node crash_writer.js <dataDirectory> <logName>
 */
import { LogManager } from '../../storage/index.js';
import { dataEntry } from '../helpers/storage_fixture.js';

const [dataDirectory, logName] = process.argv.slice(2);
if (dataDirectory === undefined || logName === undefined) throw new Error('usage: crash_writer <dir> <log>');

const entriesPerBatchMax = 8;
const manager = LogManager.open({ dataDirectory, config: { segmentBytesMax: 256 * 1024 } });
const log = await manager.openLog(logName);
let index = log.lastIndex + 1;
const term = log.lastTerm + 1;
process.stdout.write(`opened ${log.lastIndex}\n`);
// Bounded: the parent kills it long before; the cap keeps an orphan from running forever.
for (let round = 0; round < 1_000_000; round += 1) {
  const count = 1 + (round % entriesPerBatchMax);
  log.append(Array.from({ length: count }, (_, i) => dataEntry(index + i, term)));
  index += count;
  // Alternate awaited and overlapping syncs so kills land both inside and between fdatasyncs.
  if (round % 3 === 0) {
    const durable = await log.sync();
    process.stdout.write(`durable ${durable}\n`);
  } else {
    void log.sync().then((durable) => { process.stdout.write(`durable ${durable}\n`); });
    await new Promise((resolve) => setImmediate(resolve));
  }
}
