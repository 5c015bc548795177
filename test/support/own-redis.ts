import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { onTestFinished } from 'vitest';

/** A TCP port nothing listens on right now (bound and released at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface OwnRedis {
  port: number;
  url: string;
  /** SIGKILL: the abrupt outage (no FIN handshake to wait for, no persistence). */
  kill(): Promise<void>;
  /** Starts a fresh, empty redis-server on the same port. */
  restart(): Promise<void>;
  /** Sends a signal to the running server (SIGSTOP hangs it without closing its sockets). */
  signal(signal: NodeJS.Signals): void;
}

/**
 * A throwaway redis-server on a free port (or the one given), so a test can take it down without
 * disturbing the shared Redis of the stack. Killed when the test finishes.
 */
export async function startOwnRedis(port?: number): Promise<OwnRedis> {
  const chosenPort = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn(
      'redis-server',
      ['--port', String(chosenPort), '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = started;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server on ${chosenPort} did not start`)),
        10_000,
      );
      started.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${chosenPort} exited with ${code}`));
      });
    });
  };
  const kill = async () => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGCONT');
    running.kill('SIGKILL');
    await exited;
  };
  onTestFinished(kill);
  await launch();
  return {
    port: chosenPort,
    url: `redis://127.0.0.1:${chosenPort}`,
    kill,
    restart: launch,
    signal: (signal) => void child?.kill(signal),
  };
}
