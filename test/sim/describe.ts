/** Short, readable one-line descriptions of messages for simulator traces. */
import type { Message } from '../../raft/core/index.js';
import { MessageType, assertNever } from '../../raft/core/index.js';

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case MessageType.voteRequest:
      return `${head} ${m.preVote ? 'prevote' : 'vote'}? last=(${m.lastLogIndex},t${m.lastLogTerm})` +
        (m.transfer ? ' transfer' : '');
    case MessageType.voteResponse:
      return `${head} ${m.preVote ? 'prevote' : 'vote'} ${m.granted ? 'granted' : 'rejected'}`;
    case MessageType.appendRequest: {
      const first = m.entries[0];
      const range = first === undefined ? 'none' : `${first.index}..${first.index + m.entries.length - 1}`;
      return `${head} append prev=(${m.prevLogIndex},t${m.prevLogTerm}) entries=${range} ` +
        `commit=${m.commitIndex}`;
    }
    case MessageType.appendResponse:
      return m.success ? `${head} append ok index=${m.index}` :
        `${head} append reject index=${m.index} hint=(${m.hintIndex},t${m.hintTerm})`;
    case MessageType.heartbeatRequest:
      return `${head} heartbeat commit=${m.commitIndex} seq=${m.readSeq}`;
    case MessageType.heartbeatResponse:
      return `${head} heartbeat ok seq=${m.readSeq}`;
    case MessageType.snapshotRequest:
      return `${head} snapshot index=${m.snapshot.metadata.index} t${m.snapshot.metadata.term}`;
    case MessageType.timeoutNow:
      return `${head} timeout-now`;
    default:
      return assertNever(m, 'message');
  }
}
