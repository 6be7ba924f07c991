/**
 * Topics are created on first use of one of their keys: `jepsen-<k div 2>` with 2 partitions and
 * replication factor min(3, brokers), through the Admin client. Creation is shared by every
 * worker; a failed attempt (a fault in the way) is forgotten so that the next use tries again.
 */
import type { Admin } from '../src/client/index.js';
import { TributaryError } from '../src/common/errors.js';
import { PARTITIONS_PER_TOPIC, topicOfKey } from './history.js';

export class TopicCreator {
  private readonly creating = new Map<string, Promise<void>>();
  private readonly created = new Set<string>();

  constructor(private readonly admin: Admin, private readonly replicationFactor: number) {}

  isCreated(key: number): boolean {
    return this.created.has(topicOfKey(key).topic);
  }

  /** Resolves once the key's topic exists; rejects when this attempt failed. */
  ensure(key: number): Promise<void> {
    const { topic } = topicOfKey(key);
    if (this.created.has(topic)) return Promise.resolve();
    let pending = this.creating.get(topic);
    if (pending === undefined) {
      pending = this.create(topic).finally(() => { this.creating.delete(topic); });
      this.creating.set(topic, pending);
    }
    return pending;
  }

  private async create(topic: string): Promise<void> {
    try {
      await this.admin.createTopic({ name: topic, partitions: PARTITIONS_PER_TOPIC,
        replicationFactor: this.replicationFactor });
    } catch (error) {
      if (!(error instanceof TributaryError && error.code === 'TOPIC_ALREADY_EXISTS')) throw error;
    }
    this.created.add(topic);
  }
}
