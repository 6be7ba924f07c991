/**
 * Goal: the package works from another project, as the README's "Use it from another project"
 * says: a new folder installs this repository by path (npm, offline), `npx tributary --help`
 * runs there, and `import { Producer, Consumer, Admin } from '@tributary-log/tributary'` loads
 * the library (ESM); there, the README's library example runs against a real cluster and exits.
 * Method: a temporary folder, real npm and node child processes, each bounded; three brokers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Admin } from '../../src/client/index.js';
import { TestCluster } from '../helpers/cluster.js';

const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPOSITORY, 'package.json'), 'utf8')) as { name: string };

function run(command: string, args: readonly string[], cwd: string): { code: number | null; out: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

/** The README's first library example (the code block after "## As a library" that imports the package). */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(REPOSITORY, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## As a library'));
  const block = /```ts\n([\s\S]*?)```/.exec(section.slice(section.indexOf(`from '${PACKAGE.name}'`) - 200));
  assert.ok(block?.[1] !== undefined, 'the README has a library example');
  return block[1];
}

describe('the package from another project', () => {
  let app = '';
  before(() => { app = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-app-')); });
  after(() => { fs.rmSync(app, { recursive: true, force: true }); });

  it('installs by path, runs npx tributary, and imports the library', { timeout: 240_000 }, () => {
    assert.notEqual(PACKAGE.name, 'tributary', 'the registry name tributary belongs to another package');
    {
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
      const installed = run('npm', ['install', REPOSITORY, '--offline'], app);
      assert.equal(installed.code, 0, installed.out);
      const help = run('npx', ['--no-install', 'tributary', '--help'], app);
      assert.equal(help.code, 0, help.out);
      assert.match(help.out, /tributary <command>/);
      fs.writeFileSync(path.join(app, 'main.js'), `import { Producer, Consumer, Admin } from '${PACKAGE.name}';\n` +
        "console.log([Producer, Consumer, Admin].map((c) => typeof c).join(','));\n");
      const imported = run(process.execPath, ['main.js'], app);
      assert.equal(imported.code, 0, imported.out);
      assert.equal(imported.out.trim(), 'function,function,function');
      // ESM only, as the README says: require() is refused with node's own error.
      fs.writeFileSync(path.join(app, 'main.cjs'), `require('${PACKAGE.name}');\n`);
      const required = run(process.execPath, ['main.cjs'], app);
      assert.notEqual(required.code, 0);
      assert.match(required.out, /ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_REQUIRE_ESM/);
    }
  });

  it("runs the README's library example against a cluster, and it exits", { timeout: 120_000 }, async () => {
    const cluster = await TestCluster.start(3);
    const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 10_000 });
    try {
      await admin.createTopic({ name: 'orders', partitions: 6, replicationFactor: 3 });
      const example = readmeExample().replaceAll('127.0.0.1:9091', cluster.bootstrap);
      fs.writeFileSync(path.join(app, 'example.js'), `${example}\nconsole.log(JSON.stringify(records.map((r) => ` +
        'r.value?.toString())));\n');
      const started = Date.now();
      const ran = run(process.execPath, ['example.js'], app);
      assert.equal(ran.code, 0, ran.out);
      // Same key, same partition, in order: the example reads back its four records.
      assert.deepEqual(JSON.parse(ran.out.trim().split('\n').at(-1) ?? ''), ['hello', 'a', 'b', 'c']);
      process.stdout.write(`# the README example ran and exited in ${Date.now() - started} ms\n`);
    } finally {
      await admin.close();
      await cluster.stop();
    }
  });
});
