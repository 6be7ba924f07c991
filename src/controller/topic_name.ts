/**
 * Kafka's topic name rules (Topic.validate): 1 to 249 characters of [a-zA-Z0-9._-], and not "." or
 * "..". The length leaves room for a partition suffix in the folder name `<topic>-<partition>`.
 */
export const TOPIC_NAME_LENGTH_MAX = 249;

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Why name is not a legal topic name, or null when it is. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) {
    return 'the topic name is empty';
  }
  if (name === '.' || name === '..') {
    return `the topic name cannot be "${name}"`;
  }
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    return `the topic name is ${name.length} characters long; the limit is ${TOPIC_NAME_LENGTH_MAX}`;
  }
  if (!LEGAL.test(name)) {
    return `the topic name "${name}" has characters outside [a-zA-Z0-9._-]`;
  }
  return null;
}

export function isValidTopicName(name: string): boolean {
  return topicNameProblem(name) === null;
}

/**
 * Names starting with `__` are internal (Kafka's rule for `__consumer_offsets` and the like): the
 * controller's own log is `__controller-0` in the same folder as partition logs, so a client topic
 * named `__controller` would be the controller log. Clients can neither create, delete nor
 * produce to such a name. Brokers host a partition under one only for a topic of
 * INTERNAL_TOPIC_NAMES created with the internal flag, which only brokers set.
 */
export const INTERNAL_NAME_PREFIX = '__';

export function isInternalName(name: string): boolean {
  return name.startsWith(INTERNAL_NAME_PREFIX);
}

/** The group coordinator's topic (src/group/offsets_topic.ts). */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';

/**
 * The internal topics brokers may create (with CreateTopic.internal) and host. Never `__controller`,
 * whose partition 0 would be the controller's own log.
 */
export const INTERNAL_TOPIC_NAMES: readonly string[] = [CONSUMER_OFFSETS_TOPIC];

/** Whether a topic is one brokers host: any non-internal name, or a known internal one created as internal. */
export function isHostableTopic(topic: { readonly name: string; readonly internal: boolean }): boolean {
  return !isInternalName(topic.name) || (topic.internal && INTERNAL_TOPIC_NAMES.includes(topic.name));
}

/** Why a topic with this name and internal flag may not be created, or null. */
export function internalFlagProblem(name: string, internal: boolean): string | null {
  if (!internal) return internalNameProblem(name);
  return INTERNAL_TOPIC_NAMES.includes(name) ? null
    : `"${name}" is not an internal topic; internal ones are ${INTERNAL_TOPIC_NAMES.join(', ')}`;
}

/** Why a client may not create, delete or write `name`, or null when it is not internal. */
export function internalNameProblem(name: string): string | null {
  return isInternalName(name)
    ? `"${name}" is reserved: names starting with "${INTERNAL_NAME_PREFIX}" are internal to Tributary`
    : null;
}
