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

/** How long a slot offered to a waiting workflow is kept for it before it goes to the next one. */
export const SLOT_OFFER_MS = 10_000;

/** Which connection a run is for. */
export interface RunOwner {
  environmentId: number;
  integration: string;
  connectionId: string;
}

/** The workflow a run belongs to, and how to tell it that a slot is free for its next attempt. */
export interface SlotWaiter {
  /** Its workflow (one attempt at a time). */
  id: string;
  wake(): Promise<void>;
}

interface Waiting {
  waiter: SlotWaiter;
  owner: RunOwner;
}

interface Offer {
  owner: RunOwner;
  lapse: NodeJS.Timeout;
}

/**
 * Counts the runs this worker is running per environment and per connection. A run over a cap is
 * not queued here (a queued activity would still hold one of the worker's slots: that is how one
 * environment's hanging actions starved every other): it is refused at once, and its workflow
 * waits, holding nothing, until a slot is offered to it.
 *
 * The refused workflows wait in line per environment, oldest first. When a run ends, its slot goes
 * to the first of its environment's line whose connection is under its cap: the slot is kept for
 * that workflow (SLOT_OFFER_MS) and it is woken, so its next attempt runs. Newcomers cannot take a
 * kept slot, so under a flood every waiting run is started in turn, each after one refusal and one
 * wake-up, instead of each asking again and again on a timer (which took most of the CPU in a
 * burst of thousands of runs).
 *
 * @example
 * const slots = new RunSlots({ perEnvironment: 50, perConnection: 20 });
 * const result = await slots.run(owner, () => runAction(...), (reason) => ({ busy: reason }), waiter);
 */
export class RunSlots {
  private readonly environments = new Map<number, number>();
  private readonly connections = new Map<string, number>();
  /** Refused workflows by environment, in the order they were first refused (Map keeps insertion order). */
  private readonly lines = new Map<number, Map<string, Waiting>>();
  /** Slots kept for woken workflows, by workflow. */
  private readonly offers = new Map<string, Offer>();

  constructor(private readonly limits: RunLimits = DEFAULT_RUN_LIMITS) {}

  /**
   * `run()` within a slot of `owner`'s environment and connection, or `busy(reason)` at once when
   * either is at its cap; a refused `waiter` is woken when a slot is kept for it.
   */
  async run<T, B>(owner: RunOwner, run: () => Promise<T>, busy: (reason: string) => B, waiter?: SlotWaiter): Promise<T | B> {
    const offer = waiter && this.offers.get(waiter.id);
    if (offer) {
      clearTimeout(offer.lapse);
      this.offers.delete(waiter.id);
    } else {
      const refusal = this.refusal(owner);
      if (refusal) {
        if (waiter) this.wait(owner, waiter);
        return busy(refusal);
      }
      this.take(owner);
    }
    try {
      return await run();
    } finally {
      this.give(owner);
    }
  }

  /** How many refused workflows wait for a slot of `environmentId`. */
  waiting(environmentId: number): number {
    return this.lines.get(environmentId)?.size ?? 0;
  }

  private refusal(owner: RunOwner): string | undefined {
    const inEnvironment = this.environments.get(owner.environmentId) ?? 0;
    const inConnection = this.connections.get(connectionKey(owner)) ?? 0;
    if (inEnvironment >= this.limits.perEnvironment) return `its environment has ${inEnvironment} runs going (at most ${this.limits.perEnvironment} at once)`;
    if (inConnection >= this.limits.perConnection) return `its connection has ${inConnection} runs going (at most ${this.limits.perConnection} at once)`;
    return undefined;
  }

  private take(owner: RunOwner): void {
    const connection = connectionKey(owner);
    this.environments.set(owner.environmentId, (this.environments.get(owner.environmentId) ?? 0) + 1);
    this.connections.set(connection, (this.connections.get(connection) ?? 0) + 1);
  }

  /** Frees `owner`'s slot and offers what is free to the environment's line. */
  private give(owner: RunOwner): void {
    release(this.environments, owner.environmentId);
    release(this.connections, connectionKey(owner));
    this.offer(owner.environmentId);
  }

  /** Joins the line (a workflow already in it keeps its place). */
  private wait(owner: RunOwner, waiter: SlotWaiter): void {
    let line = this.lines.get(owner.environmentId);
    if (!line) this.lines.set(owner.environmentId, (line = new Map()));
    if (!line.has(waiter.id)) line.set(waiter.id, { waiter, owner });
  }

  /** Keeps each slot free now for the first waiting workflow it fits, and wakes it. */
  private offer(environmentId: number): void {
    const line = this.lines.get(environmentId);
    if (!line) return;
    for (const [id, { waiter, owner }] of line) {
      if ((this.environments.get(environmentId) ?? 0) >= this.limits.perEnvironment) break;
      if (this.refusal(owner)) continue;
      line.delete(id);
      this.take(owner);
      const lapse = setTimeout(() => this.withdraw(id), SLOT_OFFER_MS).unref();
      this.offers.set(id, { owner, lapse });
      // A workflow that cannot be told (it ended meanwhile) does not keep the slot from the next one.
      waiter.wake().catch(() => this.withdraw(id));
    }
    if (line.size === 0) this.lines.delete(environmentId);
  }

  /** An offer not taken in time (the workflow's attempt went to another worker, or it ended) goes to the next in line. */
  private withdraw(id: string): void {
    const offer = this.offers.get(id);
    if (!offer) return;
    clearTimeout(offer.lapse);
    this.offers.delete(id);
    this.give(offer.owner);
  }
}

function connectionKey(owner: RunOwner): string {
  return JSON.stringify([owner.environmentId, owner.integration, owner.connectionId]);
}

function release<K>(counts: Map<K, number>, key: K): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
