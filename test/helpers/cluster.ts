/**
 * Real broker processes for end-to-end tests. The implementation lives in src/cli/local_cluster.ts
 * (the bench starts clusters too); tests keep their name for it and its positional arguments.
 */
import { LocalCluster } from '../../src/cli/local_cluster.js';
import type { LocalClusterOptions } from '../../src/cli/local_cluster.js';

export type TestCluster = LocalCluster;

export const TestCluster = {
  /** `env` adds variables to every broker's environment (e.g. the test storage modes). */
  start(brokerCount = 3, extraArguments: readonly string[] = [], env: Readonly<Record<string, string>> = {}):
    Promise<LocalCluster> {
    return LocalCluster.start(brokerCount, { brokerArguments: extraArguments, env });
  },
  /** With every option of LocalCluster (e.g. brokerSetup: brokers configured by file and environment). */
  startWith(brokerCount: number, options: LocalClusterOptions): Promise<LocalCluster> {
    return LocalCluster.start(brokerCount, options);
  },
} as const;
