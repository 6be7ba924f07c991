/**
 * Client quotas, Kafka's model for user entities: a principal (`User:alice`) may have a produce
 * byte rate and a fetch byte rate (producer_byte_rate, consumer_byte_rate); `User:*` holds the
 * default for every principal without its own entry (Kafka's `<default>` user). A principal with
 * neither is unlimited, and so are the brokers themselves (`Broker:N`). Entries are replicated
 * through the controller; an alteration sets or removes one rate at a time and an entry left with
 * no rate is gone. Pure: the state machine and the request handlers check with the same functions.
 */
import { isBrokerPrincipal } from '../security/principals.js';

export const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate'] as const;
export type QuotaKey = (typeof QUOTA_KEYS)[number];

/** The principal whose entry is every other principal's default. */
export const DEFAULT_QUOTA_PRINCIPAL = 'User:*';
/** Quota entries the cluster holds at most (each is checked on every produce and fetch). */
export const QUOTA_ENTRIES_MAX = 10_000;
const PRINCIPAL_LENGTH_MAX = 256;
/** A rate above this is no limit worth having, and keeps values safe integers. */
const RATE_MAX = 2 ** 48;

export interface QuotaEntry {
  readonly principal: string;
  /** Bytes per second; absent: no produce quota of its own. */
  readonly producerByteRate?: number;
  readonly consumerByteRate?: number;
}

/** One change: set `key` to `value`, or remove it. */
export interface QuotaOp {
  readonly key: string;
  readonly value: number;
  readonly remove: boolean;
}

export interface QuotaAlteration {
  readonly principal: string;
  readonly ops: readonly QuotaOp[];
}

export function quotaPrincipalProblem(principal: string): string | null {
  if (principal.length > PRINCIPAL_LENGTH_MAX) return `principal is over ${PRINCIPAL_LENGTH_MAX} characters`;
  return /^User:(\*|[^\s*]+)$/.test(principal) ? null
    : `principal "${principal}" is not User:name or User:* (the default; no spaces, no * inside a name)`;
}

/** Why an alteration cannot be applied, or null. */
export function quotaAlterationProblem(alteration: QuotaAlteration): string | null {
  const principalProblem = quotaPrincipalProblem(alteration.principal);
  if (principalProblem !== null) return principalProblem;
  if (alteration.ops.length === 0) return `no change given for ${alteration.principal}`;
  const keys = new Set<string>();
  for (const op of alteration.ops) {
    if (!(QUOTA_KEYS as readonly string[]).includes(op.key)) {
      return `quota "${op.key}" is not one of ${QUOTA_KEYS.join(', ')}`;
    }
    if (keys.has(op.key)) return `${op.key} is changed twice for ${alteration.principal}`;
    keys.add(op.key);
    if (!op.remove && !(Number.isSafeInteger(op.value) && op.value >= 1 && op.value <= RATE_MAX)) {
      return `${op.key} must be a whole number of bytes per second from 1 to ${RATE_MAX}, got ${op.value}`;
    }
  }
  return null;
}

/** The entries after `alterations` (each checked already), sorted by principal. */
export function applyQuotaAlterations(entries: readonly QuotaEntry[], alterations: readonly QuotaAlteration[]):
  QuotaEntry[] {
  const byPrincipal = new Map(entries.map((entry) => [entry.principal, { ...entry }]));
  for (const { principal, ops } of alterations) {
    const rates = new Map<QuotaKey, number>();
    const current = byPrincipal.get(principal);
    if (current?.producerByteRate !== undefined) rates.set('producer_byte_rate', current.producerByteRate);
    if (current?.consumerByteRate !== undefined) rates.set('consumer_byte_rate', current.consumerByteRate);
    for (const op of ops) {
      if (op.remove) rates.delete(op.key as QuotaKey);
      else rates.set(op.key as QuotaKey, op.value);
    }
    const producerByteRate = rates.get('producer_byte_rate');
    const consumerByteRate = rates.get('consumer_byte_rate');
    if (rates.size === 0) byPrincipal.delete(principal);
    else byPrincipal.set(principal, { principal, ...(producerByteRate === undefined ? {} : { producerByteRate }),
      ...(consumerByteRate === undefined ? {} : { consumerByteRate }) });
  }
  return [...byPrincipal.values()].sort((left, right) => (left.principal < right.principal ? -1 : 1));
}

/** Why a list of entries is not a valid state (restored from a snapshot), or null. */
export function quotaEntriesProblem(entries: readonly QuotaEntry[]): string | null {
  if (entries.length > QUOTA_ENTRIES_MAX) return `${entries.length} quota entries, over ${QUOTA_ENTRIES_MAX}`;
  for (const [i, entry] of entries.entries()) {
    const previous = entries[i - 1];
    if (previous !== undefined && previous.principal >= entry.principal) return 'quota entries are not sorted and unique';
    const ops = [
      ...(entry.producerByteRate === undefined ? [] : [{ key: 'producer_byte_rate', value: entry.producerByteRate }]),
      ...(entry.consumerByteRate === undefined ? [] : [{ key: 'consumer_byte_rate', value: entry.consumerByteRate }]),
    ].map((op) => ({ ...op, remove: false }));
    if (ops.length === 0) return `quota entry ${entry.principal} has no rate`;
    const problem = quotaAlterationProblem({ principal: entry.principal, ops });
    if (problem !== null) return problem;
  }
  return null;
}

export type QuotaKind = 'produce' | 'fetch';

/**
 * The rate principal is held to for kind: its own entry's, else the default's; null when
 * unlimited (no quota, or a broker).
 */
export function quotaFor(entries: ReadonlyMap<string, QuotaEntry>, principal: string, kind: QuotaKind): number | null {
  if (isBrokerPrincipal(principal)) return null;
  const field = kind === 'produce' ? 'producerByteRate' : 'consumerByteRate';
  return entries.get(principal)?.[field] ?? entries.get(DEFAULT_QUOTA_PRINCIPAL)?.[field] ?? null;
}
