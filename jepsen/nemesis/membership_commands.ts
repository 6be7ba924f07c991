/**
 * The cluster membership commands the membership nemesis runs, each as a `tributary` CLI child
 * process with a bounded wait: `cluster decommission` (move every replica off a broker, which then
 * leaves and exits) and `cluster controllers add|remove` (promote a broker to controller voter,
 * or demote a voter back to a learner). The one place that knows their command lines.
 *
 * Every call ends in one outcome: ok (exit 0), refused (a typed one-line error: definitely not
 * applied), unsupported (this build has no such command), or indeterminate (it timed out and was
 * killed, or could not be run: it may still take effect).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from '../../raft/core/assert.js';

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export const DECOMMISSION_TIMEOUT_MS = 90_000;
export const CONTROLLER_CHANGE_TIMEOUT_MS = 30_000;
/** Bytes of output kept per stream: the outcome text needs the last lines only. */
const OUTPUT_KEPT_MAX = 4_000;

export type CommandStatus = 'ok' | 'refused' | 'unsupported' | 'indeterminate';

export interface CommandOutcome {
  readonly status: CommandStatus;
  /** The command and how it ended, one line, for the history. */
  readonly text: string;
}

/** yargs' answers when the command or its flags do not exist in this build. */
const UNSUPPORTED = /Unknown argument|Unknown command|name an action|Not enough non-option arguments/i;

/** How a finished command is classified from its exit code and its stderr. */
export function classifyExit(code: number | null, stderr: string): CommandStatus {
  if (code === 0) return 'ok';
  if (code === null) return 'indeterminate';
  return UNSUPPORTED.test(stderr) ? 'unsupported' : 'refused';
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines[lines.length - 1] ?? '';
}

/** Runs `tributary <args>` and waits at most timeoutMs; on timeout kills it (its PID) and answers indeterminate. */
export async function runCli(args: readonly string[], timeoutMs: number): Promise<CommandOutcome> {
  assert(timeoutMs > 0, 'a command has a positive time bound');
  const shown = args.indexOf('--bootstrap');
  const name = `tributary ${(shown < 0 ? args : args.slice(0, shown)).join(' ')}`;
  return new Promise<CommandOutcome>((resolve) => {
    const child = spawn(process.execPath, [mainScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-OUTPUT_KEPT_MAX); });
    child.stdout.resume();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 'indeterminate', text: `${name}: could not run: ${error.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) {
        resolve({ status: 'indeterminate', text: `${name}: no answer within ${timeoutMs} ms (killed)` });
        return;
      }
      const status = classifyExit(code, stderr);
      resolve({ status, text: `${name}: ${status}${status === 'ok' ? '' : ` (exit ${code ?? '-'}: ${lastLine(stderr)})`}` });
    });
  });
}

/** Where the commands go: the brokers' addresses and, on a secure cluster, the client key flags. */
export interface CommandTarget {
  readonly bootstrap: string;
  clientArguments(): readonly string[];
}

export function decommission(target: CommandTarget, id: number): Promise<CommandOutcome> {
  return runCli(['cluster', 'decommission', '--id', String(id), '--bootstrap', target.bootstrap, '--json',
    ...target.clientArguments()], DECOMMISSION_TIMEOUT_MS);
}

export function addControllerVoter(target: CommandTarget, id: number): Promise<CommandOutcome> {
  return runCli(['cluster', 'controllers', 'add', '--id', String(id), '--bootstrap', target.bootstrap,
    ...target.clientArguments()], CONTROLLER_CHANGE_TIMEOUT_MS);
}

export function removeControllerVoter(target: CommandTarget, id: number): Promise<CommandOutcome> {
  return runCli(['cluster', 'controllers', 'remove', '--id', String(id), '--bootstrap', target.bootstrap,
    ...target.clientArguments()], CONTROLLER_CHANGE_TIMEOUT_MS);
}
