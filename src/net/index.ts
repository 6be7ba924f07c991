/** The broker's client-facing request server and the socket writer it shares with the client. */
export { RequestServer, REQUEST_SERVER_DEFAULTS } from './request_server.js';
export type {
  HandlerResult,
  HandlerTable,
  RequestContext,
  RequestHandler,
  RequestServerOptions,
} from './request_server.js';
export { SendQueue, SendQueueClosedError, SendQueueFullError } from './send_queue.js';
export type { Frames } from './send_queue.js';
