/**
 * `tributary console [--port 8080] [--host 127.0.0.1] --bootstrap ... [--metrics host:port,...]`:
 * the web console (src/console) served from this process until Ctrl-C. `--metrics` names the
 * brokers' `--metrics-listen` addresses, scraped every second for the throughput and latency
 * charts and the disk figures; without it those stay empty and the rest works.
 */
import type { Argv, CommandModule } from 'yargs';

import { ConsoleServer } from '../../console/console_server.js';
import { cliLogger, describeError, securityOf, UsageError, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

interface ConsoleArguments extends BootstrapArguments {
  port: number;
  host: string;
  metrics: string | undefined;
}

/** `host:port,host:port` to a list, each checked for a port. */
export function parseMetricsAddresses(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((part) => part.trim()).filter((part) => part !== '').map((address) => {
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    if (!address.includes(':') || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new UsageError(`--metrics ${address}: expected host:port`);
    }
    return address;
  });
}

export const consoleCommand: CommandModule<object, ConsoleArguments> = {
  command: 'console',
  describe: 'serve the web console (brokers, topics, records, groups, live charts)',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .option('port', { type: 'number', default: 8080, describe: 'HTTP port (0: any free port)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind' })
    .option('metrics', { type: 'string', describe: 'the brokers\' metrics addresses, host:port[,host:port]' }),
  handler: async (args) => {
    try {
      if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65_535) {
        throw new UsageError('--port must be 0 to 65535');
      }
      const server = await ConsoleServer.start({ bootstrap: args.bootstrap, ...securityOf(args), host: args.host,
        port: args.port,
        metrics: parseMetricsAddresses(args.metrics), logger: cliLogger() });
      const stop = (): void => { void server.close().finally(() => { process.exit(0); }); };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      process.stdout.write(`Tributary console: http://${args.host.includes(':') ? `[${args.host}]` : args.host}:` +
        `${server.port}/ (bootstrap ${args.bootstrap})\n`);
    } catch (error) {
      process.stderr.write(`tributary console: ${describeError(error)}\n`);
      process.exit(1);
    }
  },
};
