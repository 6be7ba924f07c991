/**
 * How far V8 lets a broker's (or the bench's) heap grow between full collections. A broker's
 * JavaScript heap stays small under load (about 18 MB live) while every record passes through
 * buffers that V8 counts beside it: ZeroMQ hands each received message over as an external buffer.
 * V8 sets the next full collection from the live heap with that memory counted in, so at its
 * default growth a broker writing flat out ran a full mark-compact about every 100 ms (some 24 in a
 * 2M-record `bench produce`, 250-300 ms of its main thread, each a pause on the write path). The
 * bench's own process, whose producer and consumer live on a heap of about 11 MB, ran one every
 * 1-3 seconds at a light load, each stalling its event loop (and every write in flight) for 10-20 ms.
 *
 * So while what is live is small, the heap may grow to five times it, up to a budget of 96 MB,
 * before the next full collection: about six remain in that run, nearly all started by the external
 * memory itself (V8's own 64 MB step for it), which keeps that memory bounded as before. Once more
 * than half the budget is live, V8's own growth applies again, so a broker holding much (a client
 * that reads slowly, many partitions) grows no further than it did without this. Figures in
 * docs/operations.md, "Garbage collection".
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';

/** The heap a process may grow to between full collections when its live heap is small. */
export const HEAP_BUDGET_BYTES = 96 * 2 ** 20;
/** At most five times what is live. */
const GROWING_PERCENT_MAX = 400;
/** Below this, V8's own growth (which adapts to the collector's speed) is left to decide. */
const GROWING_PERCENT_MIN = 100;

/** V8's --heap-growing-percent for a live heap of liveBytes; 0 leaves V8's own. */
export function heapGrowingPercentFor(liveBytes: number): number {
  const percent = Math.floor((HEAP_BUDGET_BYTES / Math.max(liveBytes, 1) - 1) * 100);
  if (percent < GROWING_PERCENT_MIN) return 0;
  return Math.min(GROWING_PERCENT_MAX, percent);
}

/**
 * Sets the heap growth from the live heap now and again after every full collection. V8 reads the
 * flag whenever it sets the next limit, so a running process takes it (the flag is not accepted in
 * NODE_OPTIONS, and a broker is not always started by our own launcher).
 */
export function tuneHeap(): void {
  let applied = -1;
  const apply = (): void => {
    const percent = heapGrowingPercentFor(v8.getHeapStatistics().used_heap_size);
    if (percent === applied) return;
    v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
    applied = percent;
  };
  apply();
  const observer = new PerformanceObserver((list) => {
    // A 'gc' entry's detail says which collection it was (Node's PerformanceEntry type omits it).
    const full = list.getEntries().some((entry) =>
      (entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (full) apply();
  });
  observer.observe({ entryTypes: ['gc'] });
}
