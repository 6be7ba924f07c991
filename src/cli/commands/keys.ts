/**
 * `tributary keys generate --out PREFIX`: a CURVE key pair for a broker or a client
 * (docs/security.md). Writes PREFIX.key (secret and public key, mode 0600) and PREFIX.pub (the public
 * key, Z85), refusing to overwrite either; prints the public key. Failures are one line, exit 1.
 */
import type { Argv, CommandModule } from 'yargs';

import { generateKeyPair, writeKeyPair } from '../../security/keys.js';

interface GenerateArguments {
  out: string;
}

const generateCommand: CommandModule<object, GenerateArguments> = {
  command: 'generate',
  describe: 'write PREFIX.key (secret, mode 0600) and PREFIX.pub (public); never overwrites',
  builder: (yargs: Argv) => yargs.option('out', { type: 'string', demandOption: true,
    describe: 'path prefix of the two files (e.g. keys/broker-1)' }),
  handler: (args) => {
    try {
      const pair = generateKeyPair();
      const written = writeKeyPair(args.out, pair);
      process.stdout.write(`wrote ${written.secretPath} (secret, mode 0600) and ${written.publicPath}\n` +
        `public key: ${pair.publicKey}\n`);
    } catch (error) {
      process.stderr.write(`tributary keys generate: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  },
};

export const keysCommand: CommandModule = {
  command: 'keys <action>',
  describe: 'CURVE key pairs for brokers and clients',
  builder: (yargs: Argv) => yargs.command(generateCommand).demandCommand(1, 'name an action: generate'),
  handler: () => undefined,
};
