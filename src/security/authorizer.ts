/**
 * A broker's authorizer: Kafka's decision (acl.ts) over the ACL bindings of this broker's own
 * metadata replica, so a binding applies as soon as this broker applies its controller entry and
 * no request waits on another broker. Denials are logged, rate limited (a client retrying a denied
 * produce must not fill the disk), with the principal, the operation and the resource.
 */
import type { Logger } from 'pino';

import { RateLimitedLog } from '../common/rate_limited_log.js';
import type { RateLimitedLogOptions } from '../common/rate_limited_log.js';
import { authorize, authorizeAnyOfType } from './acl.js';
import type { AclBinding, AclOperation, AclRequester, AclResource, ResourceType } from './acl.js';

export interface AuthorizerOptions {
  /** The bindings now: read on every check, so a metadata snapshot replacing the state is seen too. */
  readonly acls: () => readonly AclBinding[];
  /** Principals allowed everything (Kafka's super.users), e.g. `User:admin`. */
  readonly superUsers: readonly string[];
  readonly logger: Logger;
  readonly denialLog?: Partial<RateLimitedLogOptions>;
}

export class Authorizer {
  private readonly superUsers: ReadonlySet<string>;
  private readonly log: RateLimitedLog;
  private readonly flushTimer: NodeJS.Timeout;

  constructor(private readonly options: AuthorizerOptions) {
    this.superUsers = new Set(options.superUsers);
    this.log = new RateLimitedLog(options.logger, options.denialLog);
    this.flushTimer = setInterval(() => { this.log.flush(); }, options.denialLog?.intervalMs ?? 10_000).unref();
  }

  /** Whether requester may do operation on resource; a denial is logged. */
  allows(requester: AclRequester, operation: AclOperation, resource: AclResource): boolean {
    const decision = authorize(this.options.acls(), requester, operation, resource, this.superUsers);
    if (!decision.allowed) {
      this.log.log('info', 'authorization-denied', { principal: requester.principal, host: requester.host ?? '*',
        operation, resourceType: resource.type, resourceName: resource.name, reason: decision.reason },
      'request denied by the ACLs');
    }
    return decision.allowed;
  }

  /** Whether requester may do operation on some resource of type (Kafka's authorizeByResourceType); not logged. */
  allowsAnyOfType(requester: AclRequester, operation: AclOperation, type: ResourceType): boolean {
    return authorizeAnyOfType(this.options.acls(), requester, operation, type, this.superUsers);
  }

  /** Logs a denial decided from several checks (allowsAnyOfType). */
  logDenied(requester: AclRequester, operation: string, resource: string): void {
    this.log.log('info', 'authorization-denied', { principal: requester.principal, host: requester.host ?? '*',
      operation, resource }, 'request denied by the ACLs');
  }

  /** Denials counted but not logged in the current interval (tests). */
  suppressedDenials(): number {
    return this.log.suppressedNow('authorization-denied');
  }

  close(): void {
    clearInterval(this.flushTimer);
    this.log.flush(true);
  }
}
