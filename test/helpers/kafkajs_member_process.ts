/**
 * A kafkajs 2.2.4 consumer-group member as a child process, for the Kafka-listener e2e tests (so a
 * test can SIGKILL it): it subscribes to a topic from the beginning and writes JSON lines on stdout:
 *   {"event":"assigned","partitions":[0,2]}   {"event":"record","partition":0,"key":"k"}
 *
 * Usage: node kafkajs_member_process.js '<json options>' with brokers, groupId, topic.
 */
import kafkajs from 'kafkajs';

interface MemberOptions {
  readonly brokers: string[];
  readonly groupId: string;
  readonly topic: string;
}

const { Kafka, logLevel } = kafkajs;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const options = JSON.parse(process.argv[2] ?? '{}') as MemberOptions;
const consumer = new Kafka({ brokers: options.brokers, clientId: 'kafkajs-member', logLevel: logLevel.NOTHING })
  .consumer({ groupId: options.groupId, sessionTimeout: 6_000, rebalanceTimeout: 10_000, heartbeatInterval: 300 });
consumer.on(consumer.events.GROUP_JOIN, (event) => {
  emit({ event: 'assigned', partitions: [...(event.payload.memberAssignment[options.topic] ?? [])].sort() });
});
await consumer.connect();
await consumer.subscribe({ topic: options.topic, fromBeginning: true });
await consumer.run({ eachMessage: ({ partition, message }) => {
  emit({ event: 'record', partition, key: message.key?.toString() ?? null });
  return Promise.resolve();
} });
process.on('SIGTERM', () => { void consumer.disconnect().then(() => process.exit(0)); });
