/**
 * A broker's storage: one folder of segment files per partition replica under `<data>/partitions/`,
 * and two LMDB environments shared by all of its logs:
 *  - `index.lmdb`, the index maps. They are derived from the segment files, so this environment is
 *    opened with noSync: its commits cost no fsync next to the segments' own. A process crash loses
 *    nothing (the page cache survives); an OS crash or power loss may damage it, so after any reboot
 *    since it was last opened it is discarded and every log rebuilds its index from its files.
 *  - `state.lmdb`, what cannot be derived: Raft hard state, log ids and log starts. Every commit is
 *    flushed to disk before it is acknowledged.
 */
import path from 'node:path';
import { open as openLmdb } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { pino } from 'pino';
import { assert } from '../raft/core/assert.js';
import { nodeFileIo } from './file_io.js';
import type { FileIo } from './file_io.js';
import { HardStateStore } from './hard_state_store.js';
import { JOURNAL_FILE_BYTES_DEFAULT, JournaledFileIo } from './journal/journaled_file_io.js';
import { IndexMaps } from './index_maps.js';
import { Log } from './log.js';
import { defaultLogConfig, validateLogConfig } from './log_config.js';
import type { LogConfig } from './log_config.js';
import { partitionDirectory } from './paths.js';
import { READ_BUFFER_POOL_DEFAULTS, ReadBufferPool } from './read_buffer_pool.js';
import type { ReadBufferPoolOptions } from './read_buffer_pool.js';
import { RaftLogStorage } from './raft_log_storage.js';
import type { RaftLogStorageOptions } from './raft_log_storage.js';
import { SnapshotStore } from './snapshot_store.js';
import type { StorageLogger } from './types.js';

export interface LogManagerOptions {
  readonly dataDirectory: string;
  readonly config?: Partial<LogConfig>;
  readonly io?: FileIo;
  /**
   * Set when `io` skips fsync (a test mode): a log whose committed entries a crash lost is then
   * opened with its commit index clamped, instead of failing.
   */
  readonly fsyncSkipped?: boolean;
  readonly logger?: StorageLogger;
  readonly nowMs?: () => number;
  /** The slabs the logs' raw reads (Fetch) share; see read_buffer_pool.ts. */
  readonly readBuffers?: ReadBufferPoolOptions;
  /** Size of each of the journal's two files (JOURNAL_FILE_BYTES_DEFAULT). */
  readonly journalFileBytes?: number;
}

export class LogManager {
  private readonly logs = new Map<string, Log>();
  private readonly maps: IndexMaps;
  private readonly hardStates: HardStateStore;
  private readonly snapshots: SnapshotStore;
  private readonly config: LogConfig;
  private readonly readBuffers: ReadBufferPool;

  private constructor(
    private readonly indexRoot: RootDatabase,
    private readonly stateRoot: RootDatabase,
    private readonly options: LogManagerOptions,
    /** The FileIo the logs use: the journal, over the given one. */
    private readonly io: JournaledFileIo,
  ) {
    this.maps = new IndexMaps(indexRoot, stateRoot);
    this.hardStates = new HardStateStore(stateRoot);
    this.snapshots = new SnapshotStore(stateRoot);
    this.config = validateLogConfig({ ...defaultLogConfig, ...options.config });
    this.readBuffers = new ReadBufferPool(options.readBuffers ?? READ_BUFFER_POOL_DEFAULTS);
  }

  static open(options: LogManagerOptions): LogManager {
    const io = options.io ?? nodeFileIo;
    const logger = options.logger ?? defaultLogger;
    io.makeDirectory(options.dataDirectory);
    // maxDbs leaves room for the broker's own maps later.
    const stateRoot = openLmdb({ path: path.join(options.dataDirectory, STATE_ENVIRONMENT), maxDbs: 32 });
    const indexPath = path.join(options.dataDirectory, INDEX_ENVIRONMENT);
    const bootId = io.readText(BOOT_ID_FILE)?.trim() ?? 'unknown';
    const bootIds = stateRoot.openDB<string, string>({ name: 'boot' });
    const lastBootId = bootIds.get('index');
    if (lastBootId !== undefined && lastBootId !== bootId && io.exists(indexPath)) {
      logger.warn({ indexPath, lastBootId, bootId }, 'the machine restarted: rebuilding the index maps from segments');
      io.removeTree(indexPath);
    }
    bootIds.putSync('index', bootId);
    const indexRoot = openLmdb({ path: indexPath, maxDbs: 16, noSync: true });
    // Before any log is opened: the journal's replay puts back segment writes a power loss took.
    const journal = JournaledFileIo.open(io, { dataDirectory: options.dataDirectory, logger,
      directory: path.join(options.dataDirectory, JOURNAL_DIRECTORY),
      fileBytes: options.journalFileBytes ?? JOURNAL_FILE_BYTES_DEFAULT });
    return new LogManager(indexRoot, stateRoot, options, journal);
  }

  get logger(): StorageLogger {
    return this.options.logger ?? defaultLogger;
  }

  /** Opens (and recovers) the log named `<topic>-<partition>`, once; `overrides` are per-log limits. */
  async openLog(name: string, overrides: Partial<LogConfig> = {}): Promise<Log> {
    const known = this.logs.get(name);
    if (known !== undefined) return known;
    assert(/^[A-Za-z0-9._-]+$/.test(name), () => `log name ${JSON.stringify(name)} is not a safe file name`);
    const log = await Log.open({
      name,
      logId: await this.maps.logIdOf(name),
      directory: partitionDirectory(this.options.dataDirectory, name),
      io: this.io,
      maps: this.maps,
      hardStates: this.hardStates,
      logger: this.logger,
      nowMs: this.options.nowMs ?? Date.now,
      config: validateLogConfig({ ...this.config, ...overrides }),
      fsyncSkipped: this.options.fsyncSkipped ?? false,
      readBuffers: this.readBuffers,
    });
    this.logs.set(name, log);
    return log;
  }

  /** The log `name` as the Raft core's storage, with its snapshot in the state environment. */
  async openRaftStorage(name: string, options: RaftLogStorageOptions, overrides: Partial<LogConfig> = {}):
    Promise<RaftLogStorage> {
    const log = await this.openLog(name, overrides);
    return new RaftLogStorage(log, await this.maps.logIdOf(name), this.snapshots, options);
  }

  /** Whether the log `name` has a folder on disk, open or not. */
  hasLog(name: string): boolean {
    return this.logs.has(name) ||
      this.io.exists(partitionDirectory(this.options.dataDirectory, name));
  }

  /** Closes the log `name` (if open) and deletes its files, index entries, hard state and snapshot. */
  async deleteLog(name: string): Promise<void> {
    const log = this.logs.get(name);
    if (log !== undefined) await log.close();
    this.logs.delete(name);
    const logId = await this.maps.logIdOf(name);
    this.io.removeTree(partitionDirectory(this.options.dataDirectory, name));
    await this.maps.removeLog(logId);
    await this.hardStates.remove(logId);
    await this.snapshots.remove(logId);
  }

  async close(): Promise<void> {
    for (const log of this.logs.values()) await log.close();
    this.logs.clear();
    await this.io.shutdown();
    await this.indexRoot.close();
    await this.stateRoot.close();
  }
}

const STATE_ENVIRONMENT = 'state.lmdb';
const INDEX_ENVIRONMENT = 'index.lmdb';
const JOURNAL_DIRECTORY = 'journal';
const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

const defaultLogger: StorageLogger = pino({ name: 'storage' }, pino.destination(2));
