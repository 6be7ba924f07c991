/**
 * The group APIs' request handlers, for the broker's handler table beside brokerHandlers(): each
 * one hands the decoded request to this broker's group coordinator.
 */
import type { HandlerTable } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import type { GroupCoordinator } from './coordinator.js';

export function groupHandlers(coordinator: GroupCoordinator): HandlerTable {
  return {
    [API_KEYS.FIND_COORDINATOR]: async (request, context) =>
      ({ response: await coordinator.findCoordinator(request, context.clientId) }),
    [API_KEYS.JOIN_GROUP]: async (request, context) =>
      ({ response: await coordinator.joinGroup(request, context.clientId) }),
    [API_KEYS.SYNC_GROUP]: async (request) => ({ response: await coordinator.syncGroup(request) }),
    [API_KEYS.HEARTBEAT]: (request) => ({ response: coordinator.heartbeat(request) }),
    [API_KEYS.LEAVE_GROUP]: (request) => ({ response: coordinator.leaveGroup(request) }),
    [API_KEYS.OFFSET_COMMIT]: async (request) => ({ response: await coordinator.offsetCommit(request) }),
    [API_KEYS.OFFSET_FETCH]: (request) => ({ response: coordinator.offsetFetch(request) }),
    [API_KEYS.DESCRIBE_GROUPS]: (request) => ({ response: coordinator.describeGroups(request) }),
    [API_KEYS.LIST_GROUPS]: (request) => ({ response: coordinator.listGroups(request) }),
    [API_KEYS.DELETE_GROUPS]: async (request) => ({ response: await coordinator.deleteGroups(request) }),
  };
}
