/**
 * The harness's side of one group member process: starts it (node's fork, IPC), asks it to poll,
 * commit or close, records the commits it makes by itself as history operations of fresh process
 * ids, and kills it by PID. A member that does not answer within a bound is killed, and its
 * request fails; so does every request when the process exits.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from '../../raft/core/assert.js';
import type { HistoryRecorder, KeyOffsetMap } from '../history.js';
import type { HarnessMessage, MemberConfig, MemberMessage, PollResult } from './member_protocol.js';

const MEMBER_PROGRAM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'member_process.js');
const START_WAIT_MS = 15_000;

export type MemberReply =
  | { readonly ok: true; readonly poll?: PollResult }
  | { readonly ok: false; readonly error: string; readonly poll?: Omit<PollResult, 'records'> };

export interface MemberHandleContext {
  readonly history: HistoryRecorder;
  readonly nextProcess: () => number;
  /** Where the member's stderr goes (shared by every member). */
  readonly log: fs.WriteStream;
  /** Marks the history events of the final drain. */
  readonly final: boolean;
}

export class MemberHandle {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: MemberReply) => void>();
  /** Self-made commits whose start was recorded: their history process ids. */
  private readonly selfCommits = new Map<number, number>();
  private exited = false;
  private readonly ready: Promise<void>;

  private constructor(readonly config: MemberConfig, private readonly context: MemberHandleContext) {
    this.child = fork(MEMBER_PROGRAM, [JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr?.pipe(context.log, { end: false });
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`member ${config.process} did not start`)); },
        START_WAIT_MS);
      this.child.once('message', () => { clearTimeout(timer); resolve(); });
      this.child.once('exit', () => { clearTimeout(timer); reject(new Error(`member ${config.process} exited`)); });
    });
    this.child.on('message', (message: MemberMessage) => { this.onMessage(message); });
    this.child.on('exit', () => { this.onExit(); });
  }

  /** Starts a member process and waits until it runs (its Consumer made, subscribed). */
  static async start(config: MemberConfig, context: MemberHandleContext): Promise<MemberHandle> {
    const handle = new MemberHandle(config, context);
    try {
      await handle.ready;
    } catch (error) {
      handle.kill();
      throw error;
    }
    return handle;
  }

  get process(): number {
    return this.config.process;
  }

  get alive(): boolean {
    return !this.exited;
  }

  poll(timeoutMs: number, boundMs: number): Promise<MemberReply> {
    return this.request((id) => ({ type: 'poll', id, timeoutMs }), boundMs);
  }

  commit(offsets: KeyOffsetMap, boundMs: number): Promise<MemberReply> {
    return this.request((id) => ({ type: 'commit', id, offsets }), boundMs);
  }

  /** A graceful close (revoke, commit, LeaveGroup); killed when it takes longer than boundMs. */
  async close(boundMs: number): Promise<void> {
    if (this.exited) return;
    const reply = await this.request((id) => ({ type: 'close', id }), boundMs);
    if (!reply.ok) this.kill();
  }

  /** SIGKILL by PID: a crash, no goodbye. */
  kill(): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  /** Stops the process (SIGSTOP) for ms, then lets it go on (SIGCONT): a stalled application. */
  async stall(ms: number): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const pid = this.child.pid;
    try {
      process.kill(pid, 'SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone meanwhile.
      }
    }
  }

  /** Resolves once the process has exited. */
  async exit(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => { this.child.once('exit', () => { resolve(); }); });
  }

  private request(make: (id: number) => HarnessMessage, boundMs: number): Promise<MemberReply> {
    if (this.exited) return Promise.resolve({ ok: false, error: 'the member process has exited' });
    const id = this.nextId++;
    return new Promise<MemberReply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.kill();
        resolve({ ok: false, error: `no answer within ${boundMs} ms (harness bound); member killed` });
      }, boundMs);
      this.waiting.set(id, (reply) => { clearTimeout(timer); resolve(reply); });
      this.send(make(id));
    });
  }

  private onMessage(message: MemberMessage): void {
    const { history, final } = this.context;
    const marks = final ? { final: true as const } : {};
    switch (message.type) {
      case 'ready':
        return;
      case 'reply': {
        const answer = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        const { type: _type, id: _id, ...reply } = message;
        answer?.(reply);
        return;
      }
      case 'commit-start': {
        const process = this.context.nextProcess();
        history.record({ process, type: 'invoke', f: 'commit',
          value: { member: this.process, reason: message.reason, offsets: message.offsets }, ...marks });
        this.selfCommits.set(message.id, process);
        this.send({ type: 'commit-recorded', id: message.id });
        return;
      }
      case 'commit-end': {
        const process = this.selfCommits.get(message.id);
        assert(process !== undefined, () => `member ${this.process} ended commit ${message.id} it never started`);
        this.selfCommits.delete(message.id);
        // A refused or timed-out commit may still have been written by an earlier attempt: info.
        history.record({ process, type: message.ok ? 'ok' : 'info', f: 'commit', value: null,
          ...(message.error === undefined ? {} : { error: message.error }), ...marks });
        return;
      }
    }
  }

  private send(message: HarnessMessage): void {
    if (this.exited) return;
    this.child.send(message, (error) => {
      if (error !== null) this.kill();
    });
  }

  private onExit(): void {
    this.exited = true;
    for (const answer of this.waiting.values()) answer({ ok: false, error: 'the member process exited' });
    this.waiting.clear();
    // Commits in flight stay open in the history: they may have been written (info).
  }
}
