import type { TimerRow } from './store';

/** The engine's stored timers by due time (a binary min-heap on `fire_at`), so the earliest is found without a query. */
export class TimerHeap {
  private readonly rows: TimerRow[] = [];

  get size(): number {
    return this.rows.length;
  }

  peek(): TimerRow | undefined {
    return this.rows[0];
  }

  push(row: TimerRow): void {
    const a = this.rows;
    a.push(row);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.fire_at <= row.fire_at) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = row;
  }

  pop(): TimerRow | undefined {
    const a = this.rows;
    const top = a[0];
    const last = a.pop();
    if (!a.length || !last) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= a.length) break;
      const right = left + 1;
      const child = right < a.length && a[right]!.fire_at < a[left]!.fire_at ? right : left;
      if (a[child]!.fire_at >= last.fire_at) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }

  clear(): void {
    this.rows.length = 0;
  }
}
