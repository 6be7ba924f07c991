/**
 * Goal: a usage error of the `tributary` command line (an unknown option or command, a missing
 * argument), for every command including `start`, is one line on stderr naming the problem and
 * where to find help, with exit code 1, and nothing runs. Method: the built command line as a child
 * process, bounded by a kill timeout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

function run(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

void describe('command-line usage errors', () => {
  const cases: [readonly string[], RegExp][] = [
    [['topics', 'list', '--bogus'], /^tributary: Unknown argument: bogus \(see: tributary topics list --help\)\n$/],
    [['start', '--id', '1', '--data', 'x', '--bogus'], /^tributary: Unknown argument: bogus \(see: tributary start --help\)\n$/],
    [['produce', 't', '--acks-typo', 'all'], /^tributary: Unknown argument.* \(see: tributary produce t --help\)\n$/],
    [['nosuchcommand'], /^tributary: Unknown argument: nosuchcommand \(see: tributary --help\)\n$/],
    [['topics', 'describe'], /^tributary: Not enough non-option arguments.* \(see: tributary topics describe --help\)\n$/],
  ];
  for (const [args, expected] of cases) {
    void test(`tributary ${args.join(' ')}`, () => {
      const { code, stdout, stderr } = run(args);
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.match(stderr, expected);
    });
  }
});
