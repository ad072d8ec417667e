/**
 * The newest runs' history in memory, so that handing out a workflow task, an activity's input or
 * a result does not read back events this process just wrote. The engine is the only writer of its
 * database, so a cached history is exact. Bounded by bytes; the least recently used runs go first.
 * A run is cached only from event 1 with no gaps: anything else is read from the database.
 */
export class EventCache {
  private readonly runs = new Map<string, Buffer[]>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Adds events just committed (ids ascending, following the run's last one). */
  append(runId: string, events: { id: number; data: Buffer }[]): void {
    if (!events.length) return;
    let list = this.runs.get(runId);
    if (!list && events[0].id !== 1) return;
    list ??= [];
    this.runs.delete(runId);
    for (const e of events) {
      if (e.id !== list.length + 1) {
        this.drop(runId, list);
        return;
      }
      list.push(e.data);
      this.bytes += e.data.length;
    }
    this.runs.set(runId, list);
    this.evict();
  }

  /** Events fromId.. (at most `limit`), or undefined when the run is not cached. */
  read(runId: string, fromId: number, limit: number): { event_id: number; data: Buffer }[] | undefined {
    const list = this.runs.get(runId);
    if (!list) return undefined;
    this.runs.delete(runId);
    this.runs.set(runId, list);
    const out: { event_id: number; data: Buffer }[] = [];
    for (let id = Math.max(1, fromId); id <= list.length && out.length < limit; id++) out.push({ event_id: id, data: list[id - 1] });
    return out;
  }

  forget(runId: string): void {
    const list = this.runs.get(runId);
    if (list) this.drop(runId, list);
  }

  clear(): void {
    this.runs.clear();
    this.bytes = 0;
  }

  private drop(runId: string, list: Buffer[]): void {
    this.runs.delete(runId);
    for (const b of list) this.bytes -= b.length;
  }

  private evict(): void {
    for (const [runId, list] of this.runs) {
      if (this.bytes <= this.maxBytes) return;
      this.drop(runId, list);
    }
  }
}
