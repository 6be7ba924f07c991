/**
 * Assertions for invariants (TigerStyle): a failed assertion is a programmer error, so it throws an
 * AssertionError that nothing below the process top catches. Operating errors (bad input, full disk)
 * are typed errors instead, never assertions.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === 'string' ? message : message());
  }
}

export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** Asserts that n is a safe non-negative integer and returns it, for ids and sizes. */
export function assertNatural(n: number, what: string): number {
  assert(Number.isSafeInteger(n) && n >= 0, () => `${what} must be a safe integer >= 0, got ${n}`);
  return n;
}

/** Returns value after asserting it is defined, for lookups whose presence is an invariant. */
export function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new AssertionError(`${what} must be defined`);
  }
  return value;
}
