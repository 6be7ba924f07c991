/**
 * Goal: the package works from another project, as the README's "Use it from another project"
 * says: a new folder installs this repository by path (npm, offline), `npx tributary --help`
 * runs there, and `import { Producer, Consumer, Admin } from '@tributary-log/tributary'` loads
 * the library (ESM). Method: a temporary folder, real npm and node child processes, each bounded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPOSITORY, 'package.json'), 'utf8')) as { name: string };

function run(command: string, args: readonly string[], cwd: string): { code: number | null; out: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('the package from another project', () => {
  it('installs by path, runs npx tributary, and imports the library', { timeout: 240_000 }, () => {
    assert.notEqual(PACKAGE.name, 'tributary', 'the registry name tributary belongs to another package');
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-app-'));
    try {
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
    } finally {
      fs.rmSync(app, { recursive: true, force: true });
    }
  });
});
