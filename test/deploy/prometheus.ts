import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onTestFinished } from 'vitest';

export interface ScrapeJob {
  name: string;
  /** host:port of admin servers. */
  targets: string[];
}

export interface TestPrometheus {
  url: string;
  /** GET /api/v1/<path>; resolves with the parsed answer whatever its status. */
  api(path: string, params?: Record<string, string>): Promise<PrometheusAnswer>;
}

export interface PrometheusAnswer {
  httpStatus: number;
  status: 'success' | 'error';
  data?: unknown;
  errorType?: string;
  error?: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/**
 * A real Prometheus (Debian's `prometheus` binary) on a free loopback port with its own config and
 * storage in a temporary directory, scraping `jobs` every second the way the chart's ServiceMonitor
 * does (honor_labels) and evaluating `ruleFiles` every second. Stopped when the test finishes.
 */
export async function startPrometheus(jobs: ScrapeJob[], ruleFiles: string[]): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: jobs.map((job) => ({
      job_name: job.name,
      honor_labels: true,
      static_configs: [{ targets: job.targets }],
    })),
  };
  // JSON is YAML.
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const log: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`prometheus exited with ${child.exitCode}:\n${log.join('')}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus did not become ready:\n${log.join('')}`);
    await sleep(100);
  }
  return {
    url,
    async api(path, params = {}) {
      const response = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params).toString()}`);
      return {
        httpStatus: response.status,
        ...((await response.json()) as Omit<PrometheusAnswer, 'httpStatus'>),
      };
    },
  };
}
