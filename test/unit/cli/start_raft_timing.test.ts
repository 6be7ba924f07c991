/**
 * Goal: the Raft timing is a setting like the others (flag, TRIBUTARY_<FLAG>, --config), its
 * defaults are the measured ones, and a timing the Raft core cannot keep (not whole ticks, fewer
 * than three heartbeats per election timeout) is one ConfigError line naming the flag.
 * Method: the real yargs command line parsed without running the broker; raftTicksOf on the result.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { RAFT_TIMING_DEFAULTS, peerSilenceMsOf, raftTicksOf } from '../../../src/broker/raft_timing.js';
import { ConfigError } from '../../../src/cli/commands/broker_address.js';
import { raftTiming, startSettingsFrom } from '../../../src/cli/commands/start.js';
import { parsedStartArguments } from '../../helpers/start_command_line.js';

function refused(pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => error instanceof ConfigError && pattern.test(error.message);
}

void describe('start settings: Raft timing', () => {
  void test('defaults: 50 ms ticks, elections after 10 ticks, heartbeats every 2', async () => {
    const timing = raftTiming(startSettingsFrom(await parsedStartArguments(['start']), {}));
    assert.deepEqual(timing, RAFT_TIMING_DEFAULTS);
    assert.deepEqual(raftTicksOf(timing), { tickMs: 50, electionTimeoutTicks: 10, heartbeatIntervalTicks: 2 });
    assert.equal(peerSilenceMsOf(timing), 1_000);
  });

  void test('a slow-link timing from flags and variables becomes ticks; silence scales with heartbeats', async () => {
    const timing = raftTiming(startSettingsFrom(await parsedStartArguments(['start', '--raft-election-timeout-ms', '2000']),
      { TRIBUTARY_RAFT_HEARTBEAT_MS: '250', TRIBUTARY_RAFT_TICK_MS: '50' }));
    assert.deepEqual(raftTicksOf(timing), { tickMs: 50, electionTimeoutTicks: 40, heartbeatIntervalTicks: 5 });
    assert.equal(peerSilenceMsOf(timing), 2_500);
  });

  void test('refuses a timing Raft cannot keep, naming the flag', async () => {
    const timingOf = async (argv: string[]) => raftTiming(startSettingsFrom(await parsedStartArguments(['start', ...argv]), {}));
    await assert.rejects(timingOf(['--raft-tick-ms', '0']), refused(/^--raft-tick-ms must be an integer from 1 to 1000, got 0$/));
    await assert.rejects(timingOf(['--raft-election-timeout-ms', '525']),
      refused(/^--raft-election-timeout-ms must be a whole number of ticks \(--raft-tick-ms 50\), got 525$/));
    await assert.rejects(timingOf(['--raft-heartbeat-ms', '20']),
      refused(/^--raft-heartbeat-ms must be a whole number of ticks/));
    await assert.rejects(timingOf(['--raft-heartbeat-ms', '200']),
      refused(/^--raft-election-timeout-ms \(500\) must be at least three heartbeats \(--raft-heartbeat-ms 200\)/));
  });
});
