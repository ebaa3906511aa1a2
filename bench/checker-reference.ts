/**
 * The baseline for the HTTP part of `npm run bench:checker`: a bare loop that sends keep-alive GETs at a fixed
 * rate with `undici.request` through one Agent (the pool settings Vitals' HttpProbe uses), reading and discarding
 * each body. Whatever Vitals spends per check above this is what scheduling, result handling, metrics and the
 * database writes cost. Started as a child process by bench/checker.ts, which reads its CPU time from /proc.
 *
 * Like Vitals' scheduler it wakes about every millisecond and sends what came due, spreading the requests over
 * the second; it stops by itself after DURATION_S and prints `{"sent", "ok", "failed"}` as one JSON line.
 *
 * Env: BASES (comma-separated base URLs such as http://127.0.0.1:8081), TARGETS (paths /t/1../t/TARGETS), RATE
 * (requests per second), DURATION_S, CONNECTIONS (per origin, default 64), MAX_IN_FLIGHT (default 1000).
 */
import { Agent, request } from 'undici';

const bases = (process.env.BASES ?? '').split(',').filter((base) => base !== '');
const targets = Number(process.env.TARGETS);
const rate = Number(process.env.RATE);
const durationMs = Number(process.env.DURATION_S) * 1000;
const maxInFlight = Number(process.env.MAX_IN_FLIGHT ?? 1000);
if (bases.length === 0 || !(targets > 0) || !(rate > 0) || !(durationMs > 0)) {
  process.stderr.write('checker-reference: BASES, TARGETS, RATE and DURATION_S must be set\n');
  process.exit(2);
}

const agent = new Agent({
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 60_000,
  connections: Number(process.env.CONNECTIONS ?? 64),
  pipelining: 1,
});

let sent = 0;
let ok = 0;
let failed = 0;
let inFlight = 0;
let next = 0;

async function one(url: string): Promise<void> {
  inFlight++;
  try {
    const response = await request(url, { dispatcher: agent, method: 'GET', signal: AbortSignal.timeout(5000) });
    await response.body.dump();
    if (response.statusCode === 200) ok++;
    else failed++;
  } catch {
    failed++;
  } finally {
    inFlight--;
  }
}

const started = performance.now();

function tick(): void {
  const elapsed = performance.now() - started;
  if (elapsed >= durationMs) {
    void finish();
    return;
  }
  const due = Math.floor((elapsed / 1000) * rate);
  while (sent < due && inFlight < maxInFlight) {
    const target = (next++ % targets) + 1;
    sent++;
    void one(`${bases[target % bases.length]}/t/${target}`);
  }
  setTimeout(tick, 1);
}

async function finish(): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (inFlight > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  process.stdout.write(`${JSON.stringify({ sent, ok, failed })}\n`);
  await agent.close();
  process.exit(0);
}

tick();
