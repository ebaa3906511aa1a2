import { nextRunAfter, offsetFor } from './schedule';

/** What the scheduler needs to know of a target. */
export interface SchedulableTarget {
  id: string;
  intervalMs: number;
  /** Changes whenever anything about the target changes (its updated_at). */
  version: string;
}

export interface SchedulerHooks<T extends SchedulableTarget> {
  /** Runs one check; the scheduler does not start the same target again until it settles. */
  run(target: T, scheduledAt: number): Promise<void>;
  /** A run came due while the previous one was still going, and was skipped. */
  skipped(target: T): void;
  /** How late a run started, against its slot on the grid. */
  lag(ms: number): void;
}

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(timer: NodeJS.Timeout): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

interface Entry<T> {
  target: T;
  offsetMs: number;
  nextAt: number;
  /** Bumped on every reschedule; heap items of an older generation are stale. */
  generation: number;
  running: boolean;
  removed: boolean;
}

interface Due<T> {
  at: number;
  entry: Entry<T>;
  generation: number;
}

/** The longest the loop sleeps, so a clock jump or a new target is noticed soon. */
const MAX_SLEEP_MS = 250;

/**
 * Runs every target every interval, on a grid offset by a hash of its id. A target never overlaps itself (a run
 * that comes due while the previous one is going is skipped and reported); at most `concurrency` runs go at
 * once, the rest wait in order of their slot. One timer serves all targets, ordered by a binary heap.
 */
export class Scheduler<T extends SchedulableTarget> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly heap: Array<Due<T>> = [];
  /** Runs waiting for a free slot, oldest first; `waitingHead` is the next one (shift() is linear in length). */
  private waiting: Array<{ entry: Entry<T>; scheduledAt: number }> = [];
  private waitingHead = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private active = 0;
  private timer?: NodeJS.Timeout;
  private stopped = true;

  constructor(
    private readonly concurrency: number,
    private readonly hooks: SchedulerHooks<T>,
    private readonly clock: Clock = systemClock,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get running(): number {
    return this.active;
  }

  /** Makes `targets` the whole set: new ones are added, missing ones removed, changed ones rescheduled. */
  sync(targets: Iterable<T>): void {
    const seen = new Set<string>();
    for (const target of targets) {
      seen.add(target.id);
      const entry = this.entries.get(target.id);
      if (!entry) {
        const offsetMs = offsetFor(target.id, target.intervalMs);
        const created: Entry<T> = { target, offsetMs, nextAt: 0, generation: 0, running: false, removed: false };
        this.entries.set(target.id, created);
        this.schedule(created, nextRunAfter(this.clock.now(), target.intervalMs, offsetMs));
      } else if (entry.target.version !== target.version) {
        const intervalChanged = entry.target.intervalMs !== target.intervalMs;
        entry.target = target;
        if (intervalChanged) {
          entry.offsetMs = offsetFor(target.id, target.intervalMs);
          this.schedule(entry, nextRunAfter(this.clock.now(), target.intervalMs, entry.offsetMs));
        }
      }
    }
    for (const [id, entry] of this.entries) {
      if (!seen.has(id)) {
        entry.removed = true;
        this.entries.delete(id);
      }
    }
    this.wake();
  }

  /** Stops scheduling these targets (runs in flight finish). */
  remove(ids: Iterable<string>): void {
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (entry) entry.removed = true;
      this.entries.delete(id);
    }
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Stops starting runs and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting = [];
    this.waitingHead = 0;
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(entry: Entry<T>, at: number): void {
    entry.generation++;
    entry.nextAt = at;
    this.push({ at, entry, generation: entry.generation });
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    const top = this.heap[0];
    const delay = top ? Math.max(0, Math.min(top.at - this.clock.now(), MAX_SLEEP_MS)) : MAX_SLEEP_MS;
    this.timer = this.clock.setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.clock.now();
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const due = this.pop()!;
      const { entry } = due;
      if (entry.removed || due.generation !== entry.generation) continue;
      // The next slot on the grid; slots missed while the process was busy or asleep are not made up.
      this.schedule(entry, nextRunAfter(Math.max(now, due.at), entry.target.intervalMs, entry.offsetMs));
      if (entry.running) {
        this.hooks.skipped(entry.target);
      } else if (this.active < this.concurrency) {
        this.launch(entry, due.at);
      } else {
        entry.running = true;
        this.waiting.push({ entry, scheduledAt: due.at });
      }
    }
    this.wake();
  }

  private launch(entry: Entry<T>, scheduledAt: number): void {
    this.active++;
    entry.running = true;
    this.hooks.lag(this.clock.now() - scheduledAt);
    const run = this.hooks
      .run(entry.target, scheduledAt)
      .catch(() => undefined)
      .finally(() => {
        this.inFlight.delete(run);
        this.active--;
        entry.running = false;
        this.drain();
      });
    this.inFlight.add(run);
  }

  private drain(): void {
    while (!this.stopped && this.active < this.concurrency && this.waitingHead < this.waiting.length) {
      const { entry, scheduledAt } = this.waiting[this.waitingHead++];
      entry.running = false;
      if (entry.removed) continue;
      // A run that waited a whole interval has been overtaken by its next slot: skip it rather than build a
      // backlog that every later run would inherit.
      if (this.clock.now() - scheduledAt >= entry.target.intervalMs) this.hooks.skipped(entry.target);
      else this.launch(entry, scheduledAt);
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private push(item: Due<T>): void {
    const heap = this.heap;
    heap.push(item);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent].at <= item.at) break;
      heap[index] = heap[parent];
      index = parent;
    }
    heap[index] = item;
  }

  private pop(): Due<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right].at < heap[left].at ? right : left;
      if (heap[child].at >= last.at) break;
      heap[index] = heap[child];
      index = child;
    }
    heap[index] = last;
    return top;
  }
}
