/** Caps on the runs (sync runs and action attempts) one worker process runs at once. */
export interface RunLimits {
  /** Runs of one environment at once. */
  perEnvironment: number;
  /** Runs of one connection at once. */
  perConnection: number;
}

/**
 * Defaults: a quarter of the worker's 200 activity slots for one environment, and 20 for one
 * connection, so one flooded environment (or connection) leaves the others most of the worker.
 */
export const DEFAULT_RUN_LIMITS: RunLimits = { perEnvironment: 50, perConnection: 20 };

/** Which connection a run is for. */
export interface RunOwner {
  environmentId: number;
  integration: string;
  connectionId: string;
}

/**
 * Counts the runs this worker is running per environment and per connection. A run over a cap is
 * not queued here (a queued activity would still hold one of the worker's slots: that is how one
 * environment's hanging actions starved every other): it is refused at once, and its workflow
 * waits on a timer before asking again.
 *
 * @example
 * const slots = new RunSlots({ perEnvironment: 50, perConnection: 20 });
 * const result = await slots.run(owner, () => runAction(...), (reason) => ({ busy: reason }));
 */
export class RunSlots {
  private readonly environments = new Map<number, number>();
  private readonly connections = new Map<string, number>();

  constructor(private readonly limits: RunLimits = DEFAULT_RUN_LIMITS) {}

  /** `run()` within a slot of `owner`'s environment and connection, or `busy(reason)` at once when either is at its cap. */
  async run<T, B>(owner: RunOwner, run: () => Promise<T>, busy: (reason: string) => B): Promise<T | B> {
    const connection = JSON.stringify([owner.environmentId, owner.integration, owner.connectionId]);
    const inEnvironment = this.environments.get(owner.environmentId) ?? 0;
    const inConnection = this.connections.get(connection) ?? 0;
    if (inEnvironment >= this.limits.perEnvironment) return busy(`its environment has ${inEnvironment} runs going (at most ${this.limits.perEnvironment} at once)`);
    if (inConnection >= this.limits.perConnection) return busy(`its connection has ${inConnection} runs going (at most ${this.limits.perConnection} at once)`);
    this.environments.set(owner.environmentId, inEnvironment + 1);
    this.connections.set(connection, inConnection + 1);
    try {
      return await run();
    } finally {
      release(this.environments, owner.environmentId);
      release(this.connections, connection);
    }
  }
}

function release<K>(counts: Map<K, number>, key: K): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
