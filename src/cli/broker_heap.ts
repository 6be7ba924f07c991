/**
 * How fast V8 lets a broker process's heap grow between full collections. A broker's JavaScript
 * heap stays small (about 18 MB live under load) while every record passes through buffers that
 * V8 counts beside it: ZeroMQ hands each received message over as an external buffer. V8 sets the
 * next full collection from the live heap with that memory counted in, so at its default growth a
 * broker writing flat out ran a full mark-compact about every 100 ms (some 24 in a 2M-record
 * `bench produce`, 250-300 ms of its main thread, each a pause on the write path). Letting the heap
 * grow to five times what is live before the next one leaves about six per run, nearly all of them
 * started by the external memory itself (V8's own 64 MB step for it), so that memory stays bounded
 * as before (figures in docs/operations.md, "Garbage collection").
 */
import v8 from 'node:v8';

/** V8's --heap-growing-percent: after a full collection, the heap may grow to (1 + p/100) times its live size. */
export const BROKER_HEAP_GROWING_PERCENT = 400;

/** Sets the broker process's heap growth; V8 reads it at every full collection, so a running process takes it. */
export function tuneBrokerHeap(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${BROKER_HEAP_GROWING_PERCENT}`);
}
