/**
 * `tsx bench/overhead-profile.ts <file.cpuprofile>…`: a plain-text summary of V8 CPU profiles, such as those
 * `BENCH_CPU_PROF=<dir> npm run bench:overhead` writes (vitals-on-1.cpuprofile, vitals-off-1.cpuprofile, …).
 *
 * For each profile, as a share of the busy time (every sample but `(idle)`):
 * - self time by where the code lives: a Vitals source file (dist/x.js shown as src/x.ts), a package in
 *   node_modules, Node's own modules (`node:`), or V8 (`(garbage collector)`, `(program)`);
 * - inclusive time by package: samples with at least one frame of the package on the stack;
 * - inclusive time of Vitals' own functions, and the functions with the most self time.
 *
 * PROFILE_SKIP_S=<seconds> leaves out the first seconds (start-up); PROFILE_TOP=<n> rows per table (25).
 */
import { readFileSync } from 'node:fs';
import { basename, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const REPO_ROOT = resolve(__dirname, '..');
const TOP = Number(process.env.PROFILE_TOP ?? 25);
/** Samples in the first seconds of the profile are left out: start-up (module loading, Nest's wiring). */
const SKIP_SECONDS = Number(process.env.PROFILE_SKIP_S ?? 0);

function path(url: string): string {
  if (url.startsWith('file://')) return fileURLToPath(url);
  return url;
}

/** Where a frame's code lives: `src/…`, a package name, `node:…`, or a V8 pseudo-frame. */
function place(frame: CallFrame): string {
  const file = path(frame.url);
  if (file === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (file.startsWith('node:')) return 'node: internals';
  const parts = file.split(sep);
  const modules = parts.lastIndexOf('node_modules');
  if (modules >= 0) {
    const name = parts[modules + 1] ?? '?';
    return name.startsWith('@') ? `${name}/${parts[modules + 2] ?? '?'}` : name;
  }
  const inRepo = relative(REPO_ROOT, file);
  if (!inRepo.startsWith('..')) return inRepo.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
  return file;
}

/** The file of a frame: `src/…`, `package/path/in/it.js`, or `node:…`. */
function fileOf(frame: CallFrame): string {
  const file = path(frame.url);
  const parts = file.split(sep);
  const modules = parts.lastIndexOf('node_modules');
  if (modules >= 0) return parts.slice(modules + 1).join('/');
  const where = place(frame);
  return where === 'node: internals' ? file : where;
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  return `${name} ${fileOf(frame)}:${frame.lineNumber + 1}`;
}

/** Which part of Vitals' observability a place belongs to, if any. */
function category(where: string): string {
  if (
    /^(winston|winston-transport|logform|readable-stream|safe-stable-stringify|triple-beam|fecha|colors)$/.test(where)
  ) {
    return 'logging (winston and its streams)';
  }
  if (where === 'src/observability/logger.ts' || where === 'src/observability/redact.ts') {
    return 'logging (Vitals: logger.ts, redact.ts)';
  }
  if (/^(@opentelemetry\/|@grpc\/|protobufjs$|require-in-the-middle$|import-in-the-middle$|shimmer$)/.test(where)) {
    return 'tracing (OpenTelemetry SDK, instrumentations, gRPC exporter)';
  }
  if (where === 'src/observability/tracing.ts') return 'tracing (Vitals: tracing.ts)';
  if (where === 'prom-client') return 'metrics (prom-client)';
  if (where === 'src/observability/http-metrics.ts') return 'metrics and access line (Vitals: http-metrics.ts)';
  if (where.startsWith('(')) return where;
  return 'everything else';
}

function table(title: string, entries: Array<[string, number]>, busy: number): string {
  const rows = entries
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([name, micros]) => `  ${((micros / busy) * 100).toFixed(1).padStart(5)} %  ${name}`);
  return [title, ...rows].join('\n');
}

function summarise(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Sample i lasts until the next one: timeDeltas[i + 1] (the last sample gets the mean).
  const meanDelta = profile.timeDeltas.reduce((sum, delta) => sum + delta, 0) / Math.max(1, profile.timeDeltas.length);
  const selfByNode = new Map<number, number>();
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    elapsed += profile.timeDeltas[i] ?? 0;
    if (elapsed < SKIP_SECONDS * 1e6) return;
    const micros = profile.timeDeltas[i + 1] ?? meanDelta;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + Math.max(0, micros));
  });

  let total = 0;
  let idle = 0;
  const selfByPlace = new Map<string, number>();
  const foldedByPlace = new Map<string, number>();
  const byCategory = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusiveByPackage = new Map<string, number>();
  const inclusiveBySource = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, micros: number) => map.set(key, (map.get(key) ?? 0) + micros);

  for (const [id, micros] of selfByNode) {
    const node = byId.get(id);
    if (!node) continue;
    total += micros;
    if (node.callFrame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    add(selfByPlace, place(node.callFrame), micros);
    add(selfByFunction, label(node.callFrame), micros);
    // Native and node: frames are charged to the nearest caller in a package or in Vitals.
    let owner = place(node.callFrame);
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame?.url) continue;
      const where = place(frame);
      if (where === 'node: internals') continue;
      owner = where;
      break;
    }
    add(foldedByPlace, owner, micros);
    add(byCategory, category(owner), micros);
    // Every package and Vitals function on the stack, once each, however often it recurs.
    const packages = new Set<string>();
    const sources = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame?.url) continue;
      const where = place(frame);
      if (where.startsWith('src/')) sources.add(label(frame));
      else packages.add(where);
    }
    for (const name of packages) add(inclusiveByPackage, name, micros);
    for (const name of sources) add(inclusiveBySource, name, micros);
  }
  const busy = Math.max(1, total - idle);
  return [
    `${basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy ` +
      `(${((busy / Math.max(1, total)) * 100).toFixed(0)} %)` +
      (SKIP_SECONDS > 0 ? ` after the first ${SKIP_SECONDS} s` : '') +
      '; percentages are of the busy time',
    table('Self time by place:', [...selfByPlace], busy),
    table(
      'Self time with native and node: frames charged to their nearest caller in a package or in Vitals:',
      [...foldedByPlace],
      busy,
    ),
    table('The same, by part of the observability:', [...byCategory], busy),
    table('Inclusive time by package (a frame of it anywhere on the stack):', [...inclusiveByPackage], busy),
    table("Inclusive time of Vitals' functions:", [...inclusiveBySource], busy),
    table('Self time by function:', [...selfByFunction], busy),
  ].join('\n\n');
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: tsx bench/overhead-profile.ts <file.cpuprofile>…\n');
  process.exitCode = 2;
} else {
  process.stdout.write(`${files.map(summarise).join('\n\n\n')}\n`);
}
