/**
 * Principal names, Kafka's form `Type:name`: `User:alice` for a client key of --client-keys or a
 * user of --kafka-sasl-users authenticated on the Kafka listener,
 * `Broker:N` for broker N calling another broker as a client (a super user), and `User:ANONYMOUS`
 * for every request of a plaintext broker and for unknown keys with --allow-anonymous.
 */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS';

/** The principal broker N has when it calls another broker as a client. */
export function brokerPrincipal(brokerId: number): string {
  return `Broker:${brokerId}`;
}

/** Whether a principal is a broker's (they count as super users). */
export function isBrokerPrincipal(principal: string): boolean {
  return /^Broker:\d+$/.test(principal);
}
