/**
 * A broker's storage: one LMDB environment (index maps and hard state for every log) and one folder
 * of segment files per partition replica under `<data>/partitions/`.
 */
import path from 'node:path';
import { open as openLmdb } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { pino } from 'pino';
import { assert } from '../raft/core/assert.js';
import { nodeFileIo } from './file_io.js';
import type { FileIo } from './file_io.js';
import { HardStateStore } from './hard_state_store.js';
import { IndexMaps } from './index_maps.js';
import { Log } from './log.js';
import { defaultLogConfig, validateLogConfig } from './log_config.js';
import type { LogConfig } from './log_config.js';
import { partitionDirectory } from './paths.js';
import type { StorageLogger } from './types.js';

export interface LogManagerOptions {
  readonly dataDirectory: string;
  readonly config?: Partial<LogConfig>;
  readonly io?: FileIo;
  readonly logger?: StorageLogger;
  readonly nowMs?: () => number;
}

export class LogManager {
  private readonly logs = new Map<string, Log>();
  private readonly maps: IndexMaps;
  private readonly hardStates: HardStateStore;
  private readonly config: LogConfig;

  private constructor(private readonly root: RootDatabase, private readonly options: LogManagerOptions) {
    this.maps = new IndexMaps(root);
    this.hardStates = new HardStateStore(root);
    this.config = validateLogConfig({ ...defaultLogConfig, ...options.config });
  }

  static open(options: LogManagerOptions): LogManager {
    const io = options.io ?? nodeFileIo;
    io.makeDirectory(options.dataDirectory);
    // The default (overlapping sync) mode: index writes commit without waiting for the disk, and
    // hard state waits for `flushed`. maxDbs leaves room for the broker's own maps later.
    const root = openLmdb({ path: path.join(options.dataDirectory, 'meta.lmdb'), maxDbs: 32 });
    return new LogManager(root, options);
  }

  get logger(): StorageLogger {
    return this.options.logger ?? defaultLogger;
  }

  /** Opens (and recovers) the log named `<topic>-<partition>`, once. */
  async openLog(name: string): Promise<Log> {
    const known = this.logs.get(name);
    if (known !== undefined) return known;
    assert(/^[A-Za-z0-9._-]+$/.test(name), () => `log name ${JSON.stringify(name)} is not a safe file name`);
    const log = await Log.open({
      name,
      logId: await this.maps.logIdOf(name),
      directory: partitionDirectory(this.options.dataDirectory, name),
      io: this.options.io ?? nodeFileIo,
      maps: this.maps,
      hardStates: this.hardStates,
      logger: this.logger,
      nowMs: this.options.nowMs ?? Date.now,
      config: this.config,
    });
    this.logs.set(name, log);
    return log;
  }

  async close(): Promise<void> {
    for (const log of this.logs.values()) await log.close();
    this.logs.clear();
    await this.root.close();
  }
}

const defaultLogger: StorageLogger = pino({ name: 'storage' }, pino.destination(2));
