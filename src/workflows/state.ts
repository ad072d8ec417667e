import { nextSlot, scheduleOffset, fullSyncWorkflowId, type CarriedSyncState, type LastRun, type PendingRun, type RunSyncResult, type SyncLiveStatus, type SyncWorkflowArgs, type TriggerOptions } from './types';

/**
 * The state of one sync entity workflow, as a plain class: the workflow only wires signals, the
 * query and the activity to it, so the scheduling rules are testable without a server.
 *
 * Rules: a new sync runs at once (unless created paused), then at its slots. A trigger runs now,
 * or right after the current run (at most one queued). Pause stops future runs and drops a queued
 * trigger; a running one finishes. Resume runs now, then follows the schedule.
 *
 * @example
 * const state = new SyncState(args, Date.now());
 * state.trigger({ reset: true });
 * state.isDue(Date.now()); // true
 */
export class SyncState {
  frequencyMs: number;
  paused: boolean;
  pending: PendingRun | null;
  nextRunAt: number | null;
  lastRun: LastRun | null;
  runs: number;
  running = false;
  /** Bumped by every signal: the workflow's wait wakes up when it changes. */
  version = 0;
  /** What the schedule offset derives from: the sync's key, whatever its workflow id. */
  private readonly offsetSeed: string;
  private frequencyAskedInRun = false;

  constructor(
    private readonly args: SyncWorkflowArgs,
    now: number,
  ) {
    this.offsetSeed = fullSyncWorkflowId(args.key);
    const carried = args.carried;
    this.frequencyMs = carried?.frequencyMs ?? args.frequencyMs;
    this.paused = carried?.paused ?? args.paused ?? false;
    this.pending = carried?.pending ?? null;
    this.nextRunAt = carried ? carried.nextRunAt : this.paused ? null : now;
    this.lastRun = carried?.lastRun ?? null;
    this.runs = carried?.runs ?? 0;
  }

  trigger(options: TriggerOptions = {}): void {
    const reset = options.reset === true;
    this.pending = { reset: (this.pending?.reset ?? false) || reset, emptyCache: (this.pending?.emptyCache ?? false) || (reset && options.emptyCache === true) };
    this.version++;
  }

  pause(): void {
    this.paused = true;
    this.pending = null;
    this.nextRunAt = null;
    this.version++;
  }

  resume(now: number): void {
    if (this.paused) {
      this.paused = false;
      this.pending ??= { reset: false };
      this.nextRunAt = this.slotAfter(now);
    }
    this.version++;
  }

  updateFrequency(frequencyMs: number, now: number): void {
    if (!(frequencyMs > 0 && Number.isFinite(frequencyMs))) return;
    // Asked for during a run: wins over the frequency that run read when it started.
    if (this.running) this.frequencyAskedInRun = true;
    if (frequencyMs === this.frequencyMs) return;
    this.frequencyMs = frequencyMs;
    if (!this.paused && !this.running) {
      const slot = this.slotAfter(now);
      this.nextRunAt = this.nextRunAt === null || slot === null ? slot : Math.min(this.nextRunAt, slot);
    }
    this.version++;
  }

  isDue(now: number): boolean {
    if (this.pending) return true;
    return !this.paused && this.nextRunAt !== null && now >= this.nextRunAt;
  }

  /** Milliseconds until the next run is due; null when only a signal can make one due. */
  waitMs(now: number): number | null {
    if (this.pending) return 0;
    if (this.paused || this.nextRunAt === null) return null;
    return Math.max(0, this.nextRunAt - now);
  }

  startRun(): { reset: boolean; emptyCache: boolean } {
    const reset = this.pending?.reset ?? false;
    const emptyCache = reset && (this.pending?.emptyCache ?? false);
    this.pending = null;
    this.running = true;
    this.frequencyAskedInRun = false;
    return { reset, emptyCache };
  }

  finishRun(result: RunSyncResult | { outcome: 'failed'; error: { type: string; message: string }; startedAt: number }, now: number): void {
    this.running = false;
    this.runs++;
    if (result.outcome === 'gone') return;
    if (result.outcome === 'failed') {
      this.lastRun = { jobId: null, success: false, startedAt: result.startedAt, finishedAt: now, error: result.error };
    } else {
      this.lastRun = { jobId: result.jobId, success: result.outcome === 'success', startedAt: result.startedAt, finishedAt: result.finishedAt, error: result.error };
      if (result.frequencyMs > 0 && !this.frequencyAskedInRun) this.frequencyMs = result.frequencyMs;
    }
    this.nextRunAt = this.paused ? null : this.slotAfter(now);
  }

  status(): SyncLiveStatus {
    return {
      key: this.args.key,
      running: this.running,
      paused: this.paused,
      frequencyMs: this.frequencyMs,
      nextRunAt: this.pending && !this.running ? null : this.nextRunAt,
      pendingTrigger: this.pending !== null,
      lastRun: this.lastRun,
      runs: this.runs,
    };
  }

  /** What continue-as-new hands to the next run. */
  carry(): CarriedSyncState {
    return { frequencyMs: this.frequencyMs, paused: this.paused, pending: this.pending, nextRunAt: this.nextRunAt, lastRun: this.lastRun, runs: this.runs };
  }

  /**
   * The next slot, or null (no schedule, only triggers) for a frequency that is not a positive finite
   * number: a NaN or infinite slot would make the workflow's loop neither wait nor run, spinning.
   */
  private slotAfter(now: number): number | null {
    if (!(this.frequencyMs > 0 && Number.isFinite(this.frequencyMs))) return null;
    return nextSlot(now, this.frequencyMs, scheduleOffset(this.offsetSeed, this.frequencyMs));
  }
}
