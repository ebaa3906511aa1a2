import { offsetFor, nextRunAfter } from './schedule';
import { Scheduler, type Clock, type SchedulableTarget } from './scheduler';

/** A clock the test moves by hand; timers fire in order as it advances. */
class FakeClock implements Clock {
  private time = 1_000_000;
  private timers: Array<{ at: number; callback: () => void; id: number }> = [];
  private nextId = 1;

  now = () => this.time;

  setTimeout = (callback: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, callback, id });
    return id as unknown as NodeJS.Timeout;
  };

  clearTimeout = (timer: NodeJS.Timeout) => {
    this.timers = this.timers.filter((entry) => entry.id !== (timer as unknown as number));
  };

  /** Moves time forward by `ms`, firing timers (and letting promises settle) along the way. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.callback();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    this.time = end;
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

const target = (id: string, intervalMs: number, version = 'v1'): SchedulableTarget => ({ id, intervalMs, version });

function harness(concurrency = 100) {
  const clock = new FakeClock();
  const runs: Array<{ id: string; at: number; scheduledAt: number }> = [];
  const skipped: string[] = [];
  const lags: number[] = [];
  let duration = 0;
  const pending: Array<() => void> = [];
  const scheduler = new Scheduler<SchedulableTarget>(
    concurrency,
    {
      run: (t, scheduledAt) => {
        runs.push({ id: t.id, at: clock.now(), scheduledAt });
        if (duration === 0) return Promise.resolve();
        return new Promise<void>((resolve) => {
          if (duration === Infinity) pending.push(resolve);
          else clock.setTimeout(resolve, duration);
        });
      },
      skipped: (t) => skipped.push(t.id),
      lag: (ms) => lags.push(ms),
    },
    clock,
  );
  return { clock, scheduler, runs, skipped, lags, pending, setDuration: (ms: number) => (duration = ms) };
}

describe('schedule grid', () => {
  it('spreads offsets of many targets evenly over the interval', () => {
    const interval = 10_000;
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(offsetFor(`target-${i}`, interval) / 1000)]++;
    // A uniform spread puts about 1,000 in each tenth of the interval.
    for (const count of buckets) expect(count).toBeGreaterThan(850);
    for (const count of buckets) expect(count).toBeLessThan(1150);
  });

  it('keeps a target on its grid', () => {
    expect(nextRunAfter(1000, 1000, 250)).toBe(1250);
    expect(nextRunAfter(1250, 1000, 250)).toBe(2250);
    expect(offsetFor('a', 5000)).toBe(offsetFor('a', 5000));
  });
});

describe('Scheduler', () => {
  it('runs each target once per interval, on its own offset', async () => {
    const { clock, scheduler, runs } = harness();
    scheduler.sync([target('a', 1000), target('b', 3000)]);
    scheduler.start();
    await clock.advance(9_999);
    const a = runs.filter((run) => run.id === 'a');
    const b = runs.filter((run) => run.id === 'b');
    expect(a.length).toBeGreaterThanOrEqual(9);
    expect(a.length).toBeLessThanOrEqual(10);
    expect(b.length).toBeGreaterThanOrEqual(3);
    expect(b.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < a.length; i++) expect(a[i].scheduledAt - a[i - 1].scheduledAt).toBe(1000);
    for (const run of a) expect(run.scheduledAt % 1000).toBe(offsetFor('a', 1000));
    await scheduler.stop();
  });

  it('never overlaps a target with itself and counts the skipped runs', async () => {
    const { clock, scheduler, runs, skipped, setDuration } = harness();
    setDuration(2500);
    scheduler.sync([target('slow', 1000)]);
    scheduler.start();
    await clock.advance(10_000);
    // Each run holds the target for 2.5 intervals: it starts every third slot, the two between are skipped.
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.length).toBeLessThanOrEqual(4);
    expect(skipped.length).toBeGreaterThanOrEqual(2 * runs.length - 2);
    for (let i = 1; i < runs.length; i++) expect(runs[i].at - runs[i - 1].at).toBeGreaterThanOrEqual(2500);
    const stopping = scheduler.stop();
    await clock.advance(2500);
    await stopping;
  });

  it('holds at most `concurrency` runs at once and starts the rest as slots free up', async () => {
    const { clock, scheduler, runs, pending, lags, setDuration } = harness(3);
    setDuration(Infinity);
    scheduler.sync(Array.from({ length: 10 }, (_, i) => target(`t${i}`, 60_000)));
    scheduler.start();
    await clock.advance(60_000);
    expect(runs).toHaveLength(3);
    expect(scheduler.running).toBe(3);
    pending.shift()!();
    await clock.advance(1);
    expect(runs).toHaveLength(4);
    while (pending.length > 0) {
      pending.shift()!();
      await clock.advance(1);
    }
    expect(new Set(runs.map((run) => run.id)).size).toBe(10);
    expect(lags.every((lag) => lag >= 0)).toBe(true);
    await scheduler.stop();
  });

  it('picks up added, changed and removed targets without a restart', async () => {
    const { clock, scheduler, runs } = harness();
    scheduler.sync([target('keep', 1000), target('drop', 1000)]);
    scheduler.start();
    await clock.advance(2000);
    scheduler.sync([target('keep', 5000, 'v2'), target('new', 1000)]);
    runs.length = 0;
    await clock.advance(10_000);
    const count = (id: string) => runs.filter((run) => run.id === id).length;
    expect(count('drop')).toBe(0);
    expect(count('new')).toBeGreaterThanOrEqual(9);
    expect(count('keep')).toBeGreaterThanOrEqual(1);
    expect(count('keep')).toBeLessThanOrEqual(2);
    scheduler.remove(['new']);
    runs.length = 0;
    await clock.advance(5000);
    expect(count('new')).toBe(0);
    await scheduler.stop();
  });

  it('stops starting runs on stop() and waits for the ones in flight', async () => {
    const { clock, scheduler, runs, pending, setDuration } = harness();
    setDuration(Infinity);
    scheduler.sync([target('a', 1000)]);
    scheduler.start();
    await clock.advance(1000);
    expect(runs).toHaveLength(1);
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await clock.advance(5000);
    expect(stopped).toBe(false);
    expect(runs).toHaveLength(1);
    pending.shift()!();
    await stopping;
    expect(stopped).toBe(true);
  });
});

describe('Scheduler under backlog', () => {
  it('skips a waiting run once its next slot has come instead of running it late', async () => {
    const { clock, scheduler, runs, skipped, pending, setDuration } = harness(1);
    setDuration(Infinity);
    scheduler.sync([target('blocker', 60_000), target('a', 1000)]);
    scheduler.start();
    // Let the blocker take the only slot, then hold it for three of a's intervals.
    await clock.advance(60_000);
    const before = runs.filter((run) => run.id === 'a').length;
    while (!runs.some((run) => run.id === 'blocker')) {
      pending.shift()?.();
      await clock.advance(1000);
    }
    const held = pending.splice(0);
    await clock.advance(3500);
    held.forEach((resolve) => resolve());
    await clock.advance(1);
    // a's waiting run came due 3.5s ago: skipped, not run; a runs again on its next slot.
    expect(skipped).toContain('a');
    const late = runs.filter((run) => run.id === 'a').slice(before);
    for (const run of late) expect(run.at - run.scheduledAt).toBeLessThan(1000);
    setDuration(0);
    pending.splice(0).forEach((resolve) => resolve());
    const stopping = scheduler.stop();
    await clock.advance(1000);
    await stopping;
  });
});
