import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from '../../src/common/free-port';

export const MAIN = resolve(__dirname, '..', '..', 'dist', 'main.js');

export interface RunningVitals {
  child: ChildProcess;
  base: string;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Starts the built server (`dist/main.js`, made by `npm run build`) as a user would, with only `env` set. */
export function spawnVitals(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output: () => output, exited };
}

/** Starts Vitals and waits until GET /ready answers 200. */
export async function startVitals(env: Record<string, string>, timeoutMs = 60000): Promise<RunningVitals> {
  const port = await freePort();
  const { child, output, exited } = spawnVitals({ HOST: '127.0.0.1', PORT: String(port), ...env });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  while (Date.now() < deadline && exitCode === undefined) {
    const ok = await fetch(`${base}/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) {
      return {
        child,
        base,
        output,
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      };
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`Vitals did not become ready (exit ${exitCode}):\n${output()}`);
}
