/** Caps on the runs (sync runs and action attempts) one worker process runs at once. */
export interface RunLimits {
  /** Runs of one environment at once. */
  perEnvironment: number;
  /** Runs of one connection at once. */
  perConnection: number;
  /**
   * Runs of one environment that may wait inside the worker for one of its slots, each holding an
   * activity slot of the worker meanwhile (default 1; the worker sizes it with queuedRuns).
   */
  queued?: number;
}

/**
 * Defaults: a quarter of the worker's 200 activity slots for one environment, and 20 for one
 * connection, so one flooded environment (or connection) leaves the others most of the worker.
 */
export const DEFAULT_RUN_LIMITS: RunLimits = { perEnvironment: 50, perConnection: 20 };

/**
 * How many runs of one environment may wait inside a worker of `workerSlots` activity slots: as
 * many as it may run, but at most half of the slots its running runs leave to other environments
 * (at least one). With the defaults, a flooded environment holds at most 100 of the 200 slots.
 */
export function queuedRuns(workerSlots: number, perEnvironment: number): number {
  return Math.max(1, Math.min(perEnvironment, Math.floor((workerSlots - perEnvironment) / 2)));
}

/** How long a place offered to a waiting workflow is kept for it before it goes to the next one. */
export const SLOT_OFFER_MS = 10_000;

/** How long a run waits inside the worker for a slot before its workflow waits instead (holding nothing). */
export const QUEUE_PATIENCE_MS = 10_000;

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
  /** How long its attempt may wait inside the worker (below its heartbeat timeout); QUEUE_PATIENCE_MS by default. */
  patienceMs?: number;
}

interface Waiting {
  waiter: SlotWaiter;
  owner: RunOwner;
}

interface Queued {
  owner: RunOwner;
  admit(): void;
}

interface Offer {
  owner: RunOwner;
  lapse: NodeJS.Timeout;
}

/**
 * Counts the runs this worker is running per environment and per connection. A run over a cap
 * waits in one of two places:
 *
 * - inside the worker, in its environment's queue (at most `limits.queued` runs, oldest first): a
 *   slot freed goes at once to the first queued run that fits it. A queued run holds one of the
 *   worker's activity slots, which is why the queue is short: unbounded, it is how one environment's
 *   hanging actions starved every other. A run queued for QUEUE_PATIENCE_MS leaves it.
 * - in its workflow, holding nothing, when the queue is full: the attempt is refused at once and
 *   the workflow joins its environment's line (oldest first). When a place in the queue frees, it is
 *   kept for the first workflow of the line whose connection is under its cap (SLOT_OFFER_MS), and
 *   that workflow is woken: its next attempt runs or queues.
 *
 * The queue keeps the environment's slots busy while the workflows of the line come back, which
 * takes a workflow task and an activity task: keeping freed slots themselves for the woken
 * workflows left them idle that long, and a burst of 3,000 sync runs then ran at a third of the
 * machine's rate and never caught up. Each waiting run costs at most one refusal and one wake-up.
 *
 * @example
 * const slots = new RunSlots({ perEnvironment: 50, perConnection: 20, queued: 50 });
 * const result = await slots.run(owner, () => runAction(...), (reason) => ({ busy: reason }), waiter);
 */
export class RunSlots {
  private readonly environments = new Map<number, number>();
  private readonly connections = new Map<string, number>();
  /** Runs waiting inside the worker, by environment, oldest first. */
  private readonly queues = new Map<number, Queued[]>();
  /** Refused workflows by environment, in the order they were first refused (Map keeps insertion order). */
  private readonly lines = new Map<number, Map<string, Waiting>>();
  /** Places in a queue kept for woken workflows, by workflow. */
  private readonly offers = new Map<string, Offer>();
  /** How many places each environment's offers keep. */
  private readonly offered = new Map<number, number>();
  private readonly queued: number;

  constructor(private readonly limits: RunLimits = DEFAULT_RUN_LIMITS) {
    this.queued = Math.max(1, limits.queued ?? 1);
  }

  /**
   * `run()` within a slot of `owner`'s environment and connection, after waiting in the worker for
   * one if there is room, or else `busy(reason)` at once; a refused `waiter` is woken when a place
   * is kept for it.
   */
  async run<T, B>(owner: RunOwner, run: () => Promise<T>, busy: (reason: string) => B, waiter?: SlotWaiter): Promise<T | B> {
    const invited = waiter !== undefined && this.takeOffer(waiter.id);
    const refusal = this.refusal(owner);
    if (refusal) {
      const room = invited ? (this.queues.get(owner.environmentId)?.length ?? 0) < this.queued : this.queueHasRoom(owner);
      if (!room || !(await this.enqueue(owner, waiter?.patienceMs ?? QUEUE_PATIENCE_MS))) {
        // A woken workflow that newcomers got ahead of keeps the head of the line.
        if (waiter) this.wait(owner, waiter, invited);
        return busy(refusal);
      }
    } else {
      this.take(owner);
    }
    if (waiter) this.lines.get(owner.environmentId)?.delete(waiter.id);
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

  /** Free slots and places of the queue not kept for a woken workflow. */
  private unpromised(environmentId: number): number {
    const running = this.environments.get(environmentId) ?? 0;
    const queued = this.queues.get(environmentId)?.length ?? 0;
    return this.limits.perEnvironment - running + this.queued - queued - (this.offered.get(environmentId) ?? 0);
  }

  /** Whether a newcomer over a cap may queue: a place neither taken nor kept, and its connection under its cap. */
  private queueHasRoom(owner: RunOwner): boolean {
    const queued = this.queues.get(owner.environmentId)?.length ?? 0;
    return queued < this.queued && this.unpromised(owner.environmentId) > 0 && (this.connections.get(connectionKey(owner)) ?? 0) < this.limits.perConnection;
  }

  /** Waits in the queue until a slot is taken for `owner` (true) or `patienceMs` passed (false). */
  private enqueue(owner: RunOwner, patienceMs: number): Promise<boolean> {
    let queue = this.queues.get(owner.environmentId);
    if (!queue) this.queues.set(owner.environmentId, (queue = []));
    const line = queue;
    return new Promise<boolean>((resolve) => {
      const entry: Queued = {
        owner,
        admit: () => {
          clearTimeout(patience);
          resolve(true);
        },
      };
      // A queue that waited this long is stuck behind long runs: its place is not offered again
      // until a slot frees, so hanging runs cost no churn.
      const patience = setTimeout(() => {
        line.splice(line.indexOf(entry), 1);
        if (line.length === 0 && this.queues.get(owner.environmentId) === line) this.queues.delete(owner.environmentId);
        resolve(false);
      }, patienceMs);
      line.push(entry);
    });
  }

  private take(owner: RunOwner): void {
    const connection = connectionKey(owner);
    this.environments.set(owner.environmentId, (this.environments.get(owner.environmentId) ?? 0) + 1);
    this.connections.set(connection, (this.connections.get(connection) ?? 0) + 1);
  }

  /** Frees `owner`'s slot for the first queued run that fits, and offers the queue's free places to the line. */
  private give(owner: RunOwner): void {
    release(this.environments, owner.environmentId);
    release(this.connections, connectionKey(owner));
    const queue = this.queues.get(owner.environmentId);
    for (let i = 0; queue && i < queue.length; ) {
      const next = queue[i]!;
      if (this.refusal(next.owner)) {
        if ((this.environments.get(owner.environmentId) ?? 0) >= this.limits.perEnvironment) break;
        i++;
        continue;
      }
      queue.splice(i, 1);
      this.take(next.owner);
      next.admit();
    }
    if (queue?.length === 0) this.queues.delete(owner.environmentId);
    this.offer(owner.environmentId);
  }

  /** Joins the line at its end, or at its head (a workflow already in it keeps its place). */
  private wait(owner: RunOwner, waiter: SlotWaiter, first = false): void {
    const line = this.lines.get(owner.environmentId) ?? new Map<string, Waiting>();
    if (line.has(waiter.id)) return;
    if (first) this.lines.set(owner.environmentId, new Map([[waiter.id, { waiter, owner }], ...line]));
    else this.lines.set(owner.environmentId, line.set(waiter.id, { waiter, owner }));
  }

  /** Keeps a free slot or place of the queue for each of the first waiting workflows whose connection is under its cap, and wakes them. */
  private offer(environmentId: number): void {
    const line = this.lines.get(environmentId);
    if (!line) return;
    for (const [id, { waiter, owner }] of line) {
      if (this.unpromised(environmentId) <= 0) break;
      if ((this.connections.get(connectionKey(owner)) ?? 0) >= this.limits.perConnection) continue;
      line.delete(id);
      this.offered.set(environmentId, (this.offered.get(environmentId) ?? 0) + 1);
      const lapse = setTimeout(() => this.withdraw(id), SLOT_OFFER_MS).unref();
      this.offers.set(id, { owner, lapse });
      // A workflow that cannot be told (it ended meanwhile) does not keep the place from the next one.
      waiter.wake().catch(() => this.withdraw(id));
    }
    if (line.size === 0) this.lines.delete(environmentId);
  }

  /** Takes `id`'s kept place, if it has one. */
  private takeOffer(id: string): boolean {
    const offer = this.offers.get(id);
    if (!offer) return false;
    clearTimeout(offer.lapse);
    this.offers.delete(id);
    release(this.offered, offer.owner.environmentId);
    return true;
  }

  /** A place not taken in time (the workflow's attempt went to another worker, or it ended) goes to the next in line. */
  private withdraw(id: string): void {
    const offer = this.offers.get(id);
    if (!offer || !this.takeOffer(id)) return;
    this.offer(offer.owner.environmentId);
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
