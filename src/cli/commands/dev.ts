/**
 * `tributary dev`: will start a local three-broker cluster under ./data. The broker does not exist
 * yet (the storage engine and the Raft core do), so for now it says what is there and exits.
 */
import type { CommandModule } from 'yargs';

export const devCommand: CommandModule = {
  command: 'dev',
  describe: 'start a local three-broker cluster with data under ./data',
  handler: () => {
    process.stdout.write([
      'Tributary 0.1.0',
      'What exists today: the storage engine (segment files, LMDB index maps, recovery, retention)',
      'and the Raft core with its deterministic simulator. The broker, the three-broker cluster and',
      'the produce/consume commands are not built yet, so there is no cluster to start.',
      'Try: npm run bench:storage     (storage append throughput against raw fs appends)',
      '     npm test                  (the whole test suite)',
      '',
    ].join('\n'));
  },
};
