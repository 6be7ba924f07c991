/**
 * Progress of partition moves while a command waits for them (`partitions reassign --verify --wait`,
 * `cluster rebalance`): a bar on a terminal (cli-progress), else an `n/m partitions moved` line on
 * stderr each time the count changes, nothing with --json. stdout stays for the result.
 */
import cliProgress from 'cli-progress';

export interface MoveProgress {
  update(done: number): void;
  stop(): void;
}

export function moveProgress(total: number, done: number, options: { readonly quiet: boolean }): MoveProgress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ format: 'moving [{bar}] {value}/{total} partitions',
      stream: process.stderr, hideCursor: true, fps: 4 }, cliProgress.Presets.shades_classic);
    bar.start(total, done);
    return { update: (now) => { bar.update(now); }, stop: () => { bar.stop(); } };
  }
  let shown = -1;
  const line = (now: number): void => {
    if (options.quiet || now === shown) return;
    shown = now;
    process.stderr.write(`${now}/${total} partitions moved\n`);
  };
  line(done);
  return { update: line, stop: () => undefined };
}
