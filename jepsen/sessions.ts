/** Opens one client incarnation with the library the run asked for (`--client native|kafkajs`). */
import type { ClientOptions, WorkloadSession } from './client.js';
import { ClientSession } from './client.js';
import { KafkajsSession } from './kafkajs_client.js';

export function openSession(process: number, options: ClientOptions): WorkloadSession {
  return options.library === 'kafkajs' ? new KafkajsSession(process, options) : new ClientSession(process, options);
}
