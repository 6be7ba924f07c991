/**
 * Kafka requests name partitions grouped by topic; the native ones list them flat. These helpers
 * flatten a Kafka request's topics and regroup the native answers, which come back in request
 * order, under the topics they were asked under.
 */
import { assert } from '../../../raft/core/assert.js';

export interface TopicGroup<P> { readonly topic: string; readonly partitions: readonly P[] }

export function flatten<P, F>(groups: readonly TopicGroup<P>[], each: (topic: string, partition: P) => F): F[] {
  return groups.flatMap((group) => group.partitions.map((partition) => each(group.topic, partition)));
}

/** Regroups `answers` (one per flattened partition, in order) under the request's topics. */
export function regroup<P, A>(groups: readonly TopicGroup<P>[], answers: readonly A[]): TopicGroup<A>[] {
  const total = groups.reduce((sum, group) => sum + group.partitions.length, 0);
  assert(answers.length === total, () => `${answers.length} answers for ${total} partitions`);
  let at = 0;
  return groups.map((group) => {
    const partitions = answers.slice(at, at + group.partitions.length);
    at += group.partitions.length;
    return { topic: group.topic, partitions };
  });
}
