/**
 * Long polls: fetches that found fewer than min_bytes wait until the high watermark moves or their
 * max wait passes. Bounded: past `waitersMax`, a new waiter is answered at once with what there is.
 */
export class FetchWaiters {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly waitersMax: number) {}

  /** Resolves when woken or after `maxWaitMs`, whichever is first. */
  wait(maxWaitMs: number): Promise<void> {
    if (maxWaitMs <= 0 || this.waiters.size >= this.waitersMax) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.waiters.add(done);
    });
  }

  wakeAll(): void {
    for (const done of [...this.waiters]) done();
  }
}
