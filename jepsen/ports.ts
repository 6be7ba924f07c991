/** Free TCP ports on 127.0.0.1 (shared with the bench, in src/cli) and bounded waits. */
export { freePort, freePorts } from '../src/cli/free_ports.js';

/** Polls `check` every few milliseconds until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(check: () => boolean, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return check();
}
