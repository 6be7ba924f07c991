/**
 * `tributary top [--interval-ms 1000] [--once]`: a live terminal view of the cluster for hosts
 * without a browser: brokers, topics with records in per second (from high watermark deltas) and
 * groups with their lag, redrawn in place every interval. `--once` prints a single frame (rates
 * measured over one interval) and exits.
 */
import type { Argv, CommandModule } from 'yargs';

import { ClientSecurity } from '../../security/client_security.js';
import { ClusterReader } from '../../console/cluster_view.js';
import { formatTopFrame, highWatermarksOf, topicRates } from '../../console/top_frame.js';
import type { HighWatermarks } from '../../console/top_frame.js';
import { cliLogger, runClientCommand, securityOf, UsageError, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

interface TopArguments extends BootstrapArguments {
  'interval-ms': number;
  once: boolean;
}

/** Moves the cursor home and clears the screen. */
const CLEAR = '\u001b[H\u001b[2J';

export const topCommand: CommandModule<object, TopArguments> = {
  command: 'top',
  describe: 'a live terminal view: brokers, topic throughput, group lag',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .option('interval-ms', { type: 'number', default: 1_000, describe: 'time between frames' })
    .option('once', { type: 'boolean', default: false, describe: 'print one frame and exit' }),
  handler: (args) => runClientCommand('top', async () => {
    const intervalMs = args['interval-ms'];
    if (!Number.isInteger(intervalMs) || intervalMs < 100) throw new UsageError('--interval-ms must be >= 100');
    const { security } = securityOf(args);
    const reader = new ClusterReader(args.bootstrap, cliLogger(), null,
      security === undefined ? undefined : ClientSecurity.load(security));
    // An object, so that the loop sees the signal handler's write.
    const state: { stopped: boolean; wake: (() => void) | null } = { stopped: false, wake: null };
    const stop = (): void => { state.stopped = true; state.wake?.(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      let previous: { marks: HighWatermarks; atMs: number } | null = null;
      // --once reads twice, an interval apart, for the rates; the live view draws from its second reading.
      for (let frame = 0; !state.stopped; frame += 1) {
        const [{ overview, topics }, groups] = await Promise.all([reader.snapshot(), reader.groups()]);
        const marks = highWatermarksOf(topics);
        const rates = previous === null ? new Map<string, number>()
          : topicRates(previous.marks, marks, (overview.readAtMs - previous.atMs) / 1_000);
        previous = { marks, atMs: overview.readAtMs };
        if (frame > 0 || !args.once) {
          const text = formatTopFrame(overview, groups, rates);
          process.stdout.write(args.once ? `${text}\n` : `${CLEAR}${text}\n\n(Ctrl-C quits)\n`);
          if (args.once) break;
        }
        await new Promise<void>((resolve) => {
          state.wake = resolve;
          setTimeout(resolve, intervalMs);
        });
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await reader.close();
    }
  }),
};
