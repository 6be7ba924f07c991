/**
 * When the controller leader rebalances by itself (`--auto-rebalance`, off by default): a pure
 * decision over the brokers it sees, the moves under way and the time, so the broker only carries
 * out what it returns (broker/auto_rebalancer.ts).
 *
 * A broker that becomes eligible (registered and unfenced: one that joined, or came back) starts a
 * quiet period of AUTO_REBALANCE_DELAY_MS, started again by each further arrival, so brokers
 * started together are balanced onto at once. When it ends, and while no partition move is under
 * way and no broker that holds replicas is down (moving a down broker's replicas is an operator's
 * call, not a rebalance's), the plan is made; once its moves are done, preferred leaders are elected.
 * A new controller leader starts from what it sees: a broker that joined during the change-over is
 * left to the next arrival or to `cluster rebalance`.
 */

/** Quiet time after the last broker arrived before the plan is made. */
export const AUTO_REBALANCE_DELAY_MS = 5_000;

export interface AutoRebalanceState {
  /** The eligible brokers as of the last look; null before the first (a new controller leader). */
  readonly seen: readonly number[] | null;
  /** When the plan is due; null when no broker arrived since the last plan. */
  readonly dueAtMs: number | null;
  /** The plan's moves were started: elect preferred leaders once none is under way. */
  readonly moving: boolean;
}

export const AUTO_REBALANCE_IDLE: AutoRebalanceState = { seen: null, dueAtMs: null, moving: false };

export interface AutoRebalanceView {
  readonly nowMs: number;
  /**
   * Brokers replicas may go to: registered, unfenced, and not leaving the cluster (the caller
   * leaves out any it should not fill, such as one being decommissioned).
   */
  readonly eligibleBrokers: readonly number[];
  /** Registered brokers that are fenced and still hold replicas. */
  readonly downBrokersHoldingReplicas: number;
  readonly movesUnderWay: number;
}

/** plan: make the plan over eligibleBrokers and start its moves; elect: hand leaderships to preferred replicas. */
export type AutoRebalanceAction = 'plan' | 'elect' | null;

export function nextAutoRebalance(state: AutoRebalanceState, view: AutoRebalanceView):
  { readonly state: AutoRebalanceState; readonly action: AutoRebalanceAction } {
  const eligible = [...new Set(view.eligibleBrokers)].sort((a, b) => a - b);
  const arrived = state.seen !== null && eligible.some((id) => !(state.seen?.includes(id) ?? false));
  const dueAtMs = arrived ? view.nowMs + AUTO_REBALANCE_DELAY_MS : state.dueAtMs;
  const next = { seen: eligible, dueAtMs, moving: state.moving };
  if (state.moving) {
    return view.movesUnderWay === 0 ? { state: { ...next, moving: false }, action: 'elect' }
      : { state: next, action: null };
  }
  const quiet = view.movesUnderWay === 0 && view.downBrokersHoldingReplicas === 0;
  if (dueAtMs !== null && view.nowMs >= dueAtMs && quiet && eligible.length > 0) {
    return { state: { seen: eligible, dueAtMs: null, moving: true }, action: 'plan' };
  }
  return { state: next, action: null };
}
