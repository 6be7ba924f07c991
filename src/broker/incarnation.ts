/**
 * A broker process's incarnation: its start time in wall-clock ms, which the controller requires
 * to grow from one start of a broker id to the next (an older one is refused as stale, for good).
 * A wall clock behind the one an earlier start read (stepped back, corrected by NTP after a boot)
 * would keep the restarted broker out of the cluster, so a start that finds a later incarnation of
 * its id in the metadata (registered, or decommissioned: earlier processes) moves past it. An
 * equal one is this process's own (registered, or decommissioned: it must stop) and is kept.
 */
export function incarnationPast(current: number, known: readonly (number | undefined)[]): number {
  let next = current;
  for (const incarnation of known) {
    if (incarnation !== undefined && incarnation > current) next = Math.max(next, incarnation + 1);
  }
  return next;
}
