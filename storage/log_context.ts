/** What a Log needs from its broker: where it lives, the shared LMDB maps, I/O, clock and logger. */
import type { FileIo } from './file_io.js';
import type { HardStateStore } from './hard_state_store.js';
import type { IndexMaps } from './index_maps.js';
import type { LogConfig } from './log_config.js';
import type { ReadBufferPool } from './read_buffer_pool.js';
import type { StorageLogger } from './types.js';

export interface LogContext {
  readonly name: string;
  readonly logId: number;
  readonly directory: string;
  readonly io: FileIo;
  readonly maps: IndexMaps;
  readonly hardStates: HardStateStore;
  readonly logger: StorageLogger;
  readonly nowMs: () => number;
  readonly config: LogConfig;
  /** The FileIo does not really sync (a test mode): a crash may lose committed entries. */
  readonly fsyncSkipped?: boolean;
  /** Memory that raw reads (Fetch) read into, shared by a broker's logs; without it, a new Buffer per read. */
  readonly readBuffers?: ReadBufferPool;
}
