/**
 * Goal: `tributary start` takes each setting from its flag, else TRIBUTARY_<FLAG_NAME>, else the
 * --config file (JSON or YAML), else the default; the harness's own TRIBUTARY_* variables are
 * neither read as settings nor refused; a bad file, key, type or variable is one ConfigError line
 * naming it; the advertised addresses default to the listeners, and an address nobody can dial is
 * never advertised.
 * Method: the resolver on literal sources, the real yargs command line parsed without running the
 * broker, and config files written to a temporary folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { ConfigError, parseVoters } from '../../../src/cli/commands/broker_address.js';
import {
  environmentName, parseConfigText, readConfigFile, RESERVED_ENVIRONMENT, resolveSettings,
} from '../../../src/cli/commands/broker_settings.js';
import type { SettingTable } from '../../../src/cli/commands/broker_settings.js';
import { brokerAddresses, controllerVoters, START_SETTINGS, startCommand, startSettingsFrom }
  from '../../../src/cli/commands/start.js';

const TABLE = {
  id: { type: 'number', required: true, describe: 'id' },
  listen: { type: 'string', default: 'default:1', describe: 'listen' },
  'offsets-topic-partitions': { type: 'number', default: 50, describe: 'partitions' },
  'skip-it': { type: 'boolean', default: false, describe: 'a switch' },
  advertise: { type: 'string', describe: 'no default, not required' },
} as const satisfies SettingTable;

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'cli', 'main.js');

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'broker-settings-'));
after(() => { fs.rmSync(folder, { recursive: true, force: true }); });

function writeFile(name: string, text: string): string {
  const file = path.join(folder, name);
  fs.writeFileSync(file, text);
  return file;
}

function throwsConfigError(run: () => unknown, expected: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
    assert.match(error.message, expected);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

/** What yargs hands the start command for argv, without starting a broker. */
async function parsedStartArguments(argv: string[]): Promise<Record<string, unknown>> {
  let captured: Record<string, unknown> | undefined;
  await yargs(argv).command({ ...startCommand, handler: (args) => { captured = args; } }).strict().exitProcess(false)
    .fail((message) => { throw new Error(message); }).parseAsync();
  assert.ok(captured !== undefined, 'the start command ran');
  return captured;
}

void describe('start settings: precedence', () => {
  const file = { path: 'broker.json', values: { id: 3, listen: 'file:3', 'offsets-topic-partitions': 7 } };

  void test('flag over environment over file over default, setting by setting', () => {
    const settings = resolveSettings(TABLE, {
      commandLine: { listen: 'flag:1', _: [], $0: 'tributary' },
      environment: { TRIBUTARY_LISTEN: 'env:2', TRIBUTARY_OFFSETS_TOPIC_PARTITIONS: '16' },
      file,
    });
    assert.deepEqual(Object.fromEntries(settings),
      { id: 3, listen: 'flag:1', 'offsets-topic-partitions': 16, 'skip-it': false });
    const withoutFlag = resolveSettings(TABLE, { commandLine: {}, environment: { TRIBUTARY_LISTEN: 'env:2' }, file });
    assert.equal(withoutFlag.get('listen'), 'env:2');
    assert.equal(withoutFlag.get('offsets-topic-partitions'), 7, 'the file when neither flag nor variable');
    const defaults = resolveSettings(TABLE, { commandLine: { id: 1 }, environment: {}, file: null });
    assert.deepEqual(Object.fromEntries(defaults),
      { id: 1, listen: 'default:1', 'offsets-topic-partitions': 50, 'skip-it': false });
  });

  void test('an empty variable is unset; booleans read true/false/1/0', () => {
    const settings = resolveSettings(TABLE, { commandLine: { id: 1 },
      environment: { TRIBUTARY_LISTEN: '', TRIBUTARY_SKIP_IT: '1' }, file: null });
    assert.equal(settings.get('listen'), 'default:1');
    assert.equal(settings.get('skip-it'), true);
    const flagWins = resolveSettings(TABLE, { commandLine: { id: 1, 'skip-it': false },
      environment: { TRIBUTARY_SKIP_IT: 'true' }, file: null });
    assert.equal(flagWins.get('skip-it'), false, '--no-skip-it beats the variable');
  });

  void test('through the real command line: yargs applies no default that would hide the environment or file', async () => {
    const config = writeFile('precedence.json', JSON.stringify({ id: 2, data: '/from/file', listen: '127.0.0.1:9001',
      'raft-listen': '127.0.0.1:19001', voters: '2@127.0.0.1:19001', 'offsets-topic-partitions': 4,
      'retention-check-ms': 1_000 }));
    const args = await parsedStartArguments(['start', '--config', config, '--listen', '127.0.0.1:9002']);
    const settings = startSettingsFrom(args, { TRIBUTARY_OFFSETS_TOPIC_PARTITIONS: '16', TRIBUTARY_LISTEN: '127.0.0.1:9003',
      TRIBUTARY_TEST_FSYNC: 'off', TRIBUTARY_LOG_LEVEL: 'warn', TRIBUTARY_FUZZ_SEED: '7' });
    assert.equal(settings.string('listen'), '127.0.0.1:9002', 'the flag');
    assert.equal(settings.number('offsets-topic-partitions'), 16, 'the variable over the file');
    assert.equal(settings.number('retention-check-ms'), 1_000, 'the file over the default');
    assert.equal(settings.number('group-max-size'), 0, 'the default');
    assert.equal(settings.string('data'), '/from/file');
    const viaVariable = startSettingsFrom(await parsedStartArguments(['start']), { TRIBUTARY_CONFIG: config });
    assert.equal(viaVariable.number('id'), 2, 'TRIBUTARY_CONFIG names the file too');
  });

  void test('--auto-rebalance: off by default; the flag, TRIBUTARY_AUTO_REBALANCE or the file key turn it on', async () => {
    const config = writeFile('auto.json', JSON.stringify({ id: 2, data: '/d', listen: '127.0.0.1:9001',
      'raft-listen': '127.0.0.1:19001', voters: '2@127.0.0.1:19001' }));
    const off = startSettingsFrom(await parsedStartArguments(['start', '--config', config]), {});
    assert.equal(off.boolean('auto-rebalance'), false);
    const flag = startSettingsFrom(await parsedStartArguments(['start', '--config', config, '--auto-rebalance']), {});
    assert.equal(flag.boolean('auto-rebalance'), true);
    const variable = startSettingsFrom(await parsedStartArguments(['start', '--config', config]),
      { TRIBUTARY_AUTO_REBALANCE: '1' });
    assert.equal(variable.boolean('auto-rebalance'), true);
    const yaml = writeFile('auto-on.yaml', 'id: 2\ndata: /d\nlisten: "127.0.0.1:9001"\nraft-listen: "127.0.0.1:19001"\n' +
      'voters: "2@127.0.0.1:19001"\nauto-rebalance: true\n');
    const file = startSettingsFrom(await parsedStartArguments(['start', '--config', yaml]), {});
    assert.equal(file.boolean('auto-rebalance'), true);
  });

  void test('YAML files read as JSON files do', () => {
    const yaml = writeFile('broker.yaml', 'id: 4\nlisten: "0.0.0.0:9092"\noffsets-topic-partitions: 16\n' +
      'skip-it: true\n# a comment\n');
    const settings = resolveSettings(TABLE, { commandLine: {}, environment: {}, file: readConfigFile(yaml) });
    assert.deepEqual(Object.fromEntries(settings),
      { id: 4, listen: '0.0.0.0:9092', 'offsets-topic-partitions': 16, 'skip-it': true });
    assert.equal(readConfigFile(writeFile('broker.yml', 'id: 5\n')).values['id'], 5);
  });

  void test('no flag reads a variable the harness uses for itself', () => {
    for (const flag of Object.keys(START_SETTINGS)) {
      assert.ok(!(RESERVED_ENVIRONMENT as readonly string[]).includes(environmentName(flag)), flag);
    }
    assert.equal(environmentName('offsets-topic-partitions'), 'TRIBUTARY_OFFSETS_TOPIC_PARTITIONS');
    assert.throws(() => resolveSettings({ 'fuzz-seed': { type: 'string', describe: 'x' } },
      { commandLine: {}, environment: {}, file: null }), /reserved variable TRIBUTARY_FUZZ_SEED/);
  });
});

void describe('start settings: errors', () => {
  void test('a missing, unreadable, unparsable or misnamed file', () => {
    throwsConfigError(() => readConfigFile(path.join(folder, 'absent.json')), /absent\.json: cannot read it \(ENOENT\)$/);
    throwsConfigError(() => readConfigFile(folder), /: expected a \.json, \.yaml or \.yml file$/);
    fs.mkdirSync(path.join(folder, 'folder.json'));
    throwsConfigError(() => readConfigFile(path.join(folder, 'folder.json')), /folder\.json: not a file$/);
    throwsConfigError(() => readConfigFile(writeFile('broken.json', '{"id": 1,')), /broken\.json: not valid JSON: /);
    throwsConfigError(() => readConfigFile(writeFile('broken.yaml', 'id: [1\n')), /broken\.yaml: not valid YAML: /);
    throwsConfigError(() => parseConfigText('list.json', '[1, 2]', 'json'), /list\.json: expected an object/);
    throwsConfigError(() => parseConfigText('scalar.yaml', 'just text', 'yaml'), /scalar\.yaml: expected an object/);
  });

  void test('an unknown key names the key; a wrong type names key and value', () => {
    const file = (values: Record<string, unknown>): { path: string; values: Record<string, unknown> } =>
      ({ path: 'b.json', values });
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: { id: 1 }, environment: {},
      file: file({ id: 1, 'offsets-topic-partiton': 3 }) }), /b\.json: unknown key "offsets-topic-partiton"/);
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: {}, environment: {}, file: file({ id: '1' }) }),
      /b\.json: "id": expected a number, got "1"$/);
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: {}, environment: {}, file: file({ id: null }) }),
      /b\.json: "id" has no value$/);
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: {}, environment: {},
      file: file({ id: 1, 'skip-it': 'yes' }) }), /"skip-it": expected a boolean, got "yes"$/);
  });

  void test('a bad variable names the variable; a bad flag the flag; a missing setting all three places', () => {
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: {}, environment: { TRIBUTARY_ID: 'one' }, file: null }),
      /^TRIBUTARY_ID: expected a number, got "one"$/);
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: { id: 1 }, environment: { TRIBUTARY_SKIP_IT: 'yes' },
      file: null }), /^TRIBUTARY_SKIP_IT: expected true, false, 1 or 0, got "yes"$/);
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: { id: Number.NaN }, environment: {}, file: null }),
      /^--id: expected a number/);
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: { id: [1, 2] }, environment: {}, file: null }),
      /^--id: expected a number, got \[1,2\]$/);
    throwsConfigError(() => resolveSettings(TABLE, { commandLine: {}, environment: {}, file: null }),
      /^--id is required \(as a flag, as TRIBUTARY_ID or in --config\)$/);
  });
});

void describe('advertised addresses', () => {
  const base = { id: 1, data: '/d', listen: '127.0.0.1:9091', 'raft-listen': '127.0.0.1:19091' };
  const settingsOf = (values: Record<string, unknown>): ReturnType<typeof startSettingsFrom> =>
    startSettingsFrom({ ...base, voters: '1@127.0.0.1:19091', ...values }, {});

  void test('default to the listeners; given ones are kept apart from them', () => {
    const voters = parseVoters('1@127.0.0.1:19091');
    assert.deepEqual(brokerAddresses(settingsOf({}), 1, voters), {
      listen: { host: '127.0.0.1', port: 9091 }, advertise: { host: '127.0.0.1', port: 9091 },
      raftListen: { host: '127.0.0.1', port: 19091 }, raftAdvertise: { host: '127.0.0.1', port: 19091 } });
    const bound = brokerAddresses(settingsOf({ listen: '0.0.0.0:9092', advertise: 'host1:9092',
      'raft-listen': '0.0.0.0:19092', 'raft-advertise': 'host1:19092' }), 1, parseVoters('1@host1:19092'));
    assert.deepEqual(bound.advertise, { host: 'host1', port: 9092 });
    assert.deepEqual(bound.listen, { host: '0.0.0.0', port: 9092 });
    assert.deepEqual(bound.raftAdvertise, { host: 'host1', port: 19092 });
  });

  void test('an undialable address is refused, and a voter advertises its --voters address', () => {
    const voters = parseVoters('1@127.0.0.1:19091');
    throwsConfigError(() => brokerAddresses(settingsOf({ listen: '0.0.0.0:9091' }), 1, voters),
      /^--listen 0\.0\.0\.0:9091 binds every address; clients cannot dial it: give --advertise host:port$/);
    throwsConfigError(() => brokerAddresses(settingsOf({ advertise: '[::]:9091' }), 1, voters),
      /^--advertise: clients cannot dial \[::\]:9091$/);
    throwsConfigError(() => brokerAddresses(settingsOf({ 'raft-listen': '0.0.0.0:19091' }), 1, voters),
      /^--raft-listen 0\.0\.0\.0:19091 binds every address; peers cannot dial it/);
    throwsConfigError(() => brokerAddresses(settingsOf({ 'raft-advertise': 'host9:19091' }), 1, voters),
      /^--voters names broker 1 at 127\.0\.0\.1:19091, but it advertises its Raft listener as host9:19091/);
    throwsConfigError(() => brokerAddresses(settingsOf({ advertise: 'no-port' }), 1, voters),
      /^--advertise: expected host:port, got "no-port"$/);
  });
});

void describe('the controller quorum: --voters or its alias --controllers', () => {
  const base = { id: 4, data: '/d', listen: '127.0.0.14:9092', 'raft-listen': '127.0.0.14:19092' };
  const quorum = '1@127.0.0.1:19091,2@127.0.0.2:19091,3@127.0.0.3:19091';

  void test('either name gives the quorum, from a flag or a variable; a broker outside it is allowed', () => {
    const expected = parseVoters(quorum);
    assert.deepEqual(controllerVoters(startSettingsFrom({ ...base, voters: quorum }, {})), expected);
    assert.deepEqual(controllerVoters(startSettingsFrom({ ...base, controllers: quorum }, {})), expected);
    assert.deepEqual(controllerVoters(startSettingsFrom(base, { TRIBUTARY_CONTROLLERS: quorum })), expected);
    assert.deepEqual(controllerVoters(startSettingsFrom({ ...base, voters: quorum, controllers: quorum }, {})),
      expected);
    const settings = startSettingsFrom({ ...base, voters: quorum }, {});
    assert.equal(brokerAddresses(settings, 4, expected).raftAdvertise.host, '127.0.0.14');
  });

  void test('neither, two different quorums, or a non-voter advertising a voter\'s Raft address is refused', () => {
    throwsConfigError(() => controllerVoters(startSettingsFrom(base, {})), /^--voters is required/);
    throwsConfigError(() => controllerVoters(startSettingsFrom({ ...base, voters: quorum,
      controllers: '1@127.0.0.1:19091' }, {})), /^--voters and --controllers name different quorums/);
    const settings = startSettingsFrom({ ...base, voters: quorum, 'raft-listen': '127.0.0.2:19091' }, {});
    throwsConfigError(() => brokerAddresses(settings, 4, parseVoters(quorum)),
      /^broker 4 advertises 127\.0\.0\.2:19091 for Raft, which --voters gives to broker 2$/);
  });
});

void describe('tributary start refuses bad settings with one line on stderr and exit code 1', () => {
  const run = (args: string[], env: Record<string, string> = {}): { status: number | null; stderr: string } =>
    spawnSync(process.execPath, [mainScript, 'start', ...args], { encoding: 'utf8', timeout: 20_000,
      env: { ...process.env, ...env } });

  void test('an unknown key, a bad variable, a 0.0.0.0 listener without --advertise', () => {
    const config = writeFile('typo.yaml', 'id: 1\ndata: /nonexistent/never\nlisten: 127.0.0.1:1\n' +
      'raft-listen: 127.0.0.1:2\nvoters: 1@127.0.0.1:2\nofsets-topic-partitions: 3\n');
    const cases: [string[], Record<string, string>, string][] = [
      [['--config', config], {}, `tributary start: --config ${config}: unknown key "ofsets-topic-partitions" ` +
        '(keys are the flag names of tributary start, such as "raft-listen")\n'],
      [['--id', '1'], { TRIBUTARY_DATA: '/nonexistent/never', TRIBUTARY_LISTEN: '0.0.0.0:1', TRIBUTARY_RAFT_LISTEN:
        '127.0.0.1:2', TRIBUTARY_VOTERS: '1@127.0.0.1:2', TRIBUTARY_TEST_FSYNC: 'on' },
      'tributary start: --listen 0.0.0.0:1 binds every address; clients cannot dial it: give --advertise host:port\n'],
      [['--data', '/nonexistent/never'], { TRIBUTARY_ID: 'one' }, 'tributary start: TRIBUTARY_ID: expected a number, ' +
        'got "one"\n'],
    ];
    for (const [args, env, expected] of cases) {
      const result = run(args, env);
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stderr, expected);
    }
  });
});
