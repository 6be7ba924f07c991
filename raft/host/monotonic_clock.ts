/**
 * Time for durations: deadlines, timeouts, sessions, liveness, rates. Milliseconds on the epoch's
 * scale (values read like wall time, and "long ago" sentinels such as 0 keep their meaning), but
 * advancing with the monotonic clock, so a step of the wall clock (NTP, `date -s`) never moves
 * them: Kafka's Time.hiResClockMs. Date.now stays for what is meant as wall time: record and
 * commit timestamps, LogAppendTime, retention.ms against record timestamps, incarnations.
 * Values of this clock never leave the process and are never compared with Date.now.
 */
export function monotonicNowMs(): number {
  return performance.timeOrigin + performance.now();
}
