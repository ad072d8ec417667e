/**
 * At most `permits` holders at once; the others wait in arrival order. Used to bound work that
 * would otherwise crowd out everything else on the event loop and in the database pool.
 */
export class Semaphore {
  private held = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new Error(`permits must be a whole number from 1, not ${permits}`);
  }

  /** Runs `fn` once a permit is free and releases it when `fn` settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held < this.permits) this.held++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the permit is handed over as is
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.held--;
    }
  }
}
