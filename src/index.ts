/**
 * `import { Producer, Consumer, Admin } from '@tributary-log/tributary'`: the library entry point. The client
 * and the typed errors; the broker is run with the `tributary` command, not imported.
 */
export * from './client/index.js';
export {
  ERROR_TABLE,
  NotLeaderOrFollowerError,
  OffsetOutOfRangeError,
  TributaryError,
} from './common/errors.js';
export type { ErrorCode } from './common/errors.js';
