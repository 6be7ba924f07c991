/**
 * `tributary dev` at a terminal: broker JSON log lines become readable lines; other lines pass
 * unchanged.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { prettyLogLines } from '../../../src/cli/pretty_log.js';

void describe('prettyLogLines', () => {
  void test('pretty-prints pino lines, keeps the rest as they came', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    prettyLogLines(input, output, { colorize: false });
    // A real pino line, as a broker writes it.
    const logger = pino({ name: 'broker' }, input);
    logger.warn({ brokerId: 2, topic: 'orders' }, 'partition leader changed');
    input.write('broker 3 exited (SIGKILL); the others keep running\n');
    input.write('{not json\n');
    input.end();
    await new Promise((resolve) => { setTimeout(resolve, 50); });
    const lines = text.split('\n').filter((line) => line !== '');
    // One line per event: time, level, name, message, then the other fields.
    assert.match(lines[0] ?? '', /^\[\d\d:\d\d:\d\d\.\d\d\d\] WARN \(broker\): partition leader changed /);
    assert.match(lines[0] ?? '', /"brokerId":2/);
    assert.match(lines[0] ?? '', /"topic":"orders"/);
    assert.equal(lines.length, 3, text);
    assert.ok(!text.includes('"level"') && !text.includes('pid'), 'no raw JSON fields left');
    assert.ok(lines.includes('broker 3 exited (SIGKILL); the others keep running'));
    assert.ok(lines.includes('{not json'));
  });
});
