/**
 * A broker started by a local cluster (`npm start`, the benches, the tests) stops by itself once
 * the process that started it is gone, even when that one was SIGKILLed and could not stop it:
 * otherwise the broker would keep running, holding its ports and data folder, until killed by hand.
 * The starter puts its pid in the broker's environment; the broker looks every half second whether
 * it is still its parent (a dead parent's children are handed to init or a subreaper).
 */

/** The environment variable with the pid of the process that started the broker and owns it. */
export const PARENT_PID_ENV = 'TRIBUTARY_PARENT_PID';

const CHECK_INTERVAL_MS = 500;

/** Calls onGone once when the owner named in env is no longer this process's parent; no-op without one. */
export function watchParent(env: NodeJS.ProcessEnv, onGone: () => void): void {
  const owner = Number(env[PARENT_PID_ENV]);
  if (!Number.isSafeInteger(owner) || owner <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid === owner) return;
    clearInterval(timer);
    onGone();
  }, CHECK_INTERVAL_MS);
  // The broker's own sockets keep the process alive; this check alone must not.
  timer.unref();
}
