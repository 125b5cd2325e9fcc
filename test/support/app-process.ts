import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export interface AppProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Runs a TypeScript entry point (server.ts, worker/main.ts) as one Node process with tsx as a
 * loader, so signals (SIGTERM, SIGKILL) reach it directly, as on Cloud Run.
 */
export function runEntry(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(entry)], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * Starts the app as `npm start` does (after the build) and waits until it serves. A test that
 * runs beside the whole suite on a small machine can allow a slower start (`startTimeoutMs`).
 */
export async function startApp(
  env: Record<string, string>,
  { startTimeoutMs = 30_000 }: { startTimeoutMs?: number } = {},
): Promise<AppProcess> {
  const port = await freePort();
  const { child, output, exited } = runEntry('server.ts', { PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`app exited with ${child.exitCode}:\n${output()}`);
    if (output().includes('Switchyard is running')) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`app did not start in ${startTimeoutMs / 1000} s:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
