/**
 * The reporter `npm test` adds after the TAP stream: a run of two test files (written to a temporary
 * folder, so the suite does not pick them up) with a failed assertion, a timeout and a failed
 * set-up ends with one block naming each failure by file and suite path; a run without failures
 * adds nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPORTER = fileURLToPath(new URL('../../helpers/failures_reporter.js', import.meta.url));

const FAILING = `import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
describe('outer', () => {
  describe('inner', () => {
    it('passes', () => {});
    it('compares', () => { assert.equal(1, 2, 'one is not two'); });
  });
});
describe('slow', () => { it('waits', { timeout: 50 }, () => new Promise((resolve) => setTimeout(resolve, 500))); });
describe('set-up', () => { before(() => { throw new Error('set-up broke'); }); it('never runs', () => {}); });
`;
const PASSING = `import { it } from 'node:test';\nit('passes', () => {});\n`;

/** Runs node --test with only the failures reporter; returns its output (the run's exit code is not the point). */
async function report(files: readonly string[]): Promise<string> {
  const args = ['--test', `--test-reporter=${REPORTER}`, '--test-reporter-destination=stdout', ...files];
  // Without the variable the runner sets for its own children, which would make this run one of them.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  try {
    return (await run(process.execPath, args, { timeout: 30_000, env })).stdout;
  } catch (error) {
    return (error as { stdout: string }).stdout;
  }
}

describe('the failures reporter', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-reporter-'));
  const failing = path.join(folder, 'failing.test.mjs');
  const passing = path.join(folder, 'passing.test.mjs');
  fs.writeFileSync(failing, FAILING);
  fs.writeFileSync(passing, PASSING);
  after(() => { fs.rmSync(folder, { recursive: true, force: true }); });

  it('names every failed test at the end, by file, suite path and error', async () => {
    const output = await report([passing, failing]);
    // Indentation aside: '#   file', '#     suite > test', '#       error'.
    const lines = output.split('\n').map((line) => line.replace(/^#\s+/, '# ').trim());
    assert.ok(lines.includes('# 4 failed:'), output);
    const named = (suitePath: string): string => {
      const at = lines.indexOf(`# ${suitePath}`);
      assert.ok(at > 0, `${suitePath} is named: ${output}`);
      assert.equal(lines[at - 1], `# ${failing}`, 'after its file');
      return lines[at + 1] ?? '';
    };
    assert.match(named('outer > inner > compares'), /^# AssertionError: one is not two/);
    assert.match(named('slow > waits'), /timed out after 50ms/);
    assert.match(named('set-up'), /^# Error: set-up broke/);
    named('set-up > never runs');
    assert.ok(!lines.some((line) => line.endsWith('passes') || line === '# outer' || line === '# slow'),
      `passing tests, and suites failed only by a subtest, are not named: ${output}`);
  });

  it('adds nothing to a run without failures', async () => {
    assert.equal(await report([passing]), '');
    assert.notEqual(await report([failing]), '', 'the control: the same call reports a failing file');
  });
});
