/**
 * Task queues in memory: tasks waiting for a worker, and workers (long polls) waiting for a task.
 * The durable truth is each run's state; queues are refilled from it at start-up.
 */

export type TaskRef =
  /** `started`: the task was started for a waiting worker in the transition that scheduled it (see `claim`). */
  | { kind: 'workflow'; runId: string; scheduledId: number; started?: boolean }
  | { kind: 'query'; runId: string; queryId: string }
  | { kind: 'activity'; runId: string; scheduledId: number; attempt: number };

/** A worker's long poll waiting for a task. */
export interface Poller {
  identity: string;
  /** The worker's build id, written on the workflow task started for it. */
  buildId?: string;
  /** Answered (a task, or nothing when the wait ended or the caller went away). */
  done: boolean;
  resolve(task: TaskRef | undefined): void;
}

const MAX_POLLERS_SEEN = 1000;

class Queue {
  tasks: TaskRef[] = [];
  head = 0;
  pollers: Poller[] = [];
  lastPollAt = 0;
  /** Identity of each worker that polled, with when it last did (DescribeTaskQueue's pollers). */
  readonly seen = new Map<string, number>();

  polled(identity: string): void {
    this.lastPollAt = Date.now();
    this.seen.delete(identity);
    this.seen.set(identity, this.lastPollAt);
    // Oldest first (re-inserted on every poll): workers that restart often leave many identities.
    if (this.seen.size > MAX_POLLERS_SEEN) this.seen.delete(this.seen.keys().next().value!);
  }

  get size(): number {
    return this.tasks.length - this.head;
  }

  shift(): TaskRef | undefined {
    if (this.head >= this.tasks.length) return undefined;
    const t = this.tasks[this.head++];
    if (this.head > 1024 && this.head * 2 > this.tasks.length) {
      this.tasks = this.tasks.slice(this.head);
      this.head = 0;
    }
    return t;
  }
}

export type QueueKind = 'workflow' | 'activity';

export class Matching {
  private readonly queues = new Map<string, Queue>();
  /** Sticky queues whose worker said goodbye (ShutdownWorker). */
  private readonly deadSticky = new Set<string>();

  private queue(namespace: string, kind: QueueKind, name: string): Queue {
    const key = `${namespace}\u0000${kind}\u0000${name}`;
    let q = this.queues.get(key);
    if (!q) {
      q = new Queue();
      this.queues.set(key, q);
    }
    return q;
  }

  add(namespace: string, kind: QueueKind, name: string, task: TaskRef): void {
    const q = this.queue(namespace, kind, name);
    const poller = q.pollers.shift();
    if (poller) poller.resolve(task);
    else q.tasks.push(task);
  }

  /**
   * Takes a waiting poller off the queue, for a task that is about to be started for it in the
   * transition that schedules it. After the commit: `handoff`; when it fails: `release`.
   */
  claim(namespace: string, kind: QueueKind, name: string): Poller | undefined {
    return this.queues.get(`${namespace}\u0000${kind}\u0000${name}`)?.pollers.shift();
  }

  /** The claimed poller gets its task; if it went away meanwhile, the task waits for the next one. */
  handoff(namespace: string, kind: QueueKind, name: string, poller: Poller, task: TaskRef): void {
    if (poller.done) this.putBack(namespace, kind, name, task);
    else poller.resolve(task);
  }

  /** The claim came to nothing (the transition failed): the poller waits on, first in line. */
  release(namespace: string, kind: QueueKind, name: string, poller: Poller): void {
    if (!poller.done) this.queue(namespace, kind, name).pollers.unshift(poller);
  }

  /** Waits up to `timeoutMs` for a task; `undefined` on timeout or when `signal` aborts. */
  take(namespace: string, kind: QueueKind, name: string, timeoutMs: number, signal: AbortSignal, identity = '', buildId?: string): Promise<TaskRef | undefined> {
    const q = this.queue(namespace, kind, name);
    q.polled(identity);
    this.deadSticky.delete(name);
    const ready = q.shift();
    if (ready) return Promise.resolve(ready);
    if (signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const poller: Poller = {
        identity,
        buildId,
        done: false,
        resolve: (task) => {
          if (poller.done) return;
          poller.done = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          q.polled(identity);
          resolve(task);
        },
      };
      const remove = () => {
        const i = q.pollers.indexOf(poller);
        if (i >= 0) q.pollers.splice(i, 1);
      };
      const onAbort = () => {
        remove();
        poller.resolve(undefined);
      };
      const timer = setTimeout(() => {
        remove();
        poller.resolve(undefined);
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      q.pollers.push(poller);
    });
  }

  /** A task handed to a poller that went away goes back to the front of its queue. */
  putBack(namespace: string, kind: QueueKind, name: string, task: TaskRef): void {
    const q = this.queue(namespace, kind, name);
    const poller = q.pollers.shift();
    if (poller) poller.resolve(task);
    else if (q.head > 0) q.tasks[--q.head] = task;
    else q.tasks.unshift(task);
  }

  /** Whether a sticky queue has a worker behind it (polling now or recently). */
  stickyAlive(namespace: string, name: string, withinMs: number): boolean {
    if (this.deadSticky.has(name)) return false;
    const q = this.queues.get(`${namespace}\u0000workflow\u0000${name}`);
    if (!q) return false;
    return q.pollers.length > 0 || Date.now() - q.lastPollAt < withinMs;
  }

  /** Marks a sticky queue dead and returns the tasks that were waiting in it. */
  drainSticky(namespace: string, name: string): TaskRef[] {
    this.deadSticky.add(name);
    const key = `${namespace}\u0000workflow\u0000${name}`;
    const q = this.queues.get(key);
    if (!q) return [];
    const tasks: TaskRef[] = [];
    for (let t = q.shift(); t; t = q.shift()) tasks.push(t);
    this.queues.delete(key);
    return tasks;
  }

  backlog(namespace: string, kind: QueueKind, name: string): number {
    return this.queues.get(`${namespace}\u0000${kind}\u0000${name}`)?.size ?? 0;
  }

  /** The workers that polled the queue within `withinMs`, newest first, as Temporal's poller history keeps them. */
  pollers(namespace: string, kind: QueueKind, name: string, withinMs: number): { identity: string; lastAccessTime: number }[] {
    const q = this.queues.get(`${namespace}\u0000${kind}\u0000${name}`);
    if (!q) return [];
    const now = Date.now();
    const out: { identity: string; lastAccessTime: number }[] = [];
    for (const [identity, at] of q.seen) {
      if (now - at > withinMs) q.seen.delete(identity);
      else out.push({ identity, lastAccessTime: at });
    }
    return out.sort((a, b) => b.lastAccessTime - a.lastAccessTime);
  }

  /** Ends every waiting poll with "no task" (shutdown). */
  close(): void {
    for (const q of this.queues.values()) for (const p of q.pollers.splice(0)) p.resolve(undefined);
  }
}
