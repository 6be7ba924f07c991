/**
 * Starts a three-broker LocalCluster and then only waits: its parent test SIGKILLs it, as a bench
 * or a test process may be killed, to check that the brokers do not outlive it. Prints one JSON
 * line on stdout once the cluster is up: {"pids":[...],"dataRoot":"..."}. Stops its cluster itself
 * after a minute at most, so nothing it starts outlives a broken test.
 */
import { LocalCluster } from '../../src/cli/local_cluster.js';

const LIFETIME_MS = 60_000;

const cluster = await LocalCluster.start(3);
process.stdout.write(`${JSON.stringify({ pids: [...cluster.pids().values()], dataRoot: cluster.dataRoot })}\n`);
setTimeout(() => { void cluster.stop().then(() => { process.exit(0); }); }, LIFETIME_MS);
