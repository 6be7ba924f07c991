/** Free ports and bounded waits for tests; the code lives in jepsen/ports.ts, which the harness shares. */
export { freePort, freePorts, waitFor } from '../../jepsen/ports.js';
