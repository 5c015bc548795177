import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { prepareGateway, spawnGateway } from '../support/gateway-fixture.js';
import { countBy, metricValue, orderEvent, scrapeMetrics, waitFor } from './admission-helpers.js';

const ratePerSecond = 200;
const durationMs = 3000;
const connections = 20;

describe('admission: a freshly started gateway', () => {
  it('sheds nothing when offered 200 bulk requests/s the moment /readyz is true', async () => {
    // Default shedding settings: what an operator gets. Only the key is bulk, the class shed first.
    const setup = await prepareGateway([
      { producerId: 'bulk-producer', priority: 'bulk', ratePerSecond: 100_000, burst: 100_000 },
    ]);
    const gateway = await spawnGateway(setup);
    await waitFor(
      '/readyz to answer 200',
      async () => {
        const response = await fetch(`${gateway.adminUrl}/readyz`);
        await response.arrayBuffer();
        return response.status === 200 ? true : undefined;
      },
      30_000,
    );

    // Open loop: one request every 5 ms whatever the answers, over 20 connections, as a client
    // fleet would send after a rolling deploy made this pod ready.
    const pool = new Pool(gateway.url, { connections, pipelining: 1 });
    const answers: Array<Promise<{ status: number; body: string }>> = [];
    const startedMs = performance.now();
    for (let sent = 0; sent < (ratePerSecond * durationMs) / 1000; sent++) {
      const dueMs = startedMs + (sent * 1000) / ratePerSecond;
      const waitMs = dueMs - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      answers.push(
        pool
          .request({
            path: '/v1/events',
            method: 'POST',
            headers: {
              authorization: `Bearer ${setup.keys['bulk-producer']}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify(orderEvent()),
          })
          .then(async (response) => ({ status: response.statusCode, body: await response.body.text() })),
      );
    }
    const settled = await Promise.all(answers);
    await pool.close();

    const shed = settled.filter((answer) => answer.status === 503).map((answer) => answer.body);
    expect(shed, `503 answers: ${shed.slice(0, 3).join(' | ')}`).toEqual([]);
    expect(countBy(settled, (answer) => answer.status)).toEqual({ 202: settled.length });
    const metrics = await scrapeMetrics(gateway.adminUrl);
    expect(metricValue(metrics, 'sluice_load_shed_total')).toBe(0);
    expect(metricValue(metrics, 'sluice_admission_admitted_total', { priority: 'bulk' })).toBe(
      settled.length,
    );
  }, 90_000);
});
