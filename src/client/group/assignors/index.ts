/** The built-in assignors by Kafka name, and the default order a consumer offers them in. */
import type { PartitionAssignor } from './assignor.js';
import { rangeAssignor } from './range.js';
import { roundRobinAssignor } from './round_robin.js';
import { stickyAssignor } from './sticky.js';

export type { AssignorMember, GroupAssignment, PartitionAssignor, PartitionCounts } from './assignor.js';
export { rangeAssignor, roundRobinAssignor, stickyAssignor };

export const BUILT_IN_ASSIGNORS: ReadonlyMap<string, PartitionAssignor> = new Map(
  [rangeAssignor, roundRobinAssignor, stickyAssignor].map((a) => [a.name, a]));

/** Kafka 3.x's default partition.assignment.strategy starts with range. */
export const DEFAULT_ASSIGNORS: readonly PartitionAssignor[] = [rangeAssignor];
