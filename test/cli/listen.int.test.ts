import { describe, expect, it } from 'vitest';
import { eventually, fixtureData, prepareDelivery } from '../delivery/delivery-fixture.js';
import { spawnDeliver } from '../delivery/deliver-process-fixture.js';
import { spawnCli, type CliProcess } from '../support/cli-process.js';
import { prepareGateway, spawnGateway } from '../support/gateway-fixture.js';

/** The printed block of one attempt of one event (blocks end with a blank line). */
function attemptBlock(output: string, webhookId: string, attempt: number): string | undefined {
  return output.split('\n\n').find((block) => block.includes(`attempt ${attempt}  webhook-id ${webhookId}`));
}

async function waitForAttempt(listener: CliProcess, webhookId: string, attempt: number): Promise<string> {
  await listener.waitFor(new RegExp(`attempt ${attempt}  webhook-id ${webhookId}[^]*?\\n\\n`), 90_000);
  return attemptBlock(listener.output(), webhookId, attempt)!;
}

describe('sluice listen (the command, against a real gateway and delivery worker)', () => {
  it('subscribes, prints a delivery as verified, shows a retry with --fail-attempts, and unsubscribes on SIGTERM', async () => {
    const gatewaySetup = await prepareGateway([{ producerId: 'ops', role: 'admin' }], {
      SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8',
    });
    const deliverySetup = await prepareDelivery({
      SLUICE_SUBSCRIPTIONS_TOPIC: gatewaySetup.subscriptionsTopic,
      SLUICE_SECRETS_KEYS: gatewaySetup.env.SLUICE_SECRETS_KEYS!,
      SLUICE_RETRY_SCHEDULE: '1s',
    });
    gatewaySetup.env.SLUICE_EVENTS_TOPIC = deliverySetup.eventsTopic;
    const gateway = await spawnGateway(gatewaySetup);
    const adminKey = gatewaySetup.keys.ops!;

    const listenArgs = ['listen', '--port', '0', '--gateway', gateway.url, '--events', 'account.*'];
    const env = { SLUICE_API_KEY: adminKey };
    const plain = spawnCli(listenArgs, env);
    const failing = spawnCli([...listenArgs, '--fail-attempts', '1'], env);
    for (const listener of [plain, failing]) {
      await listener.waitFor(/ready; Ctrl-C stops and deletes the subscription/);
      expect(listener.output()).toMatch(
        /listening on 127\.0\.0\.1:\d+; webhooks to http:\/\/127\.0\.0\.1:\d+\/webhooks/,
      );
    }
    const subscriptionIds = [plain, failing].map(
      (listener) => /created subscription (sub_\w+)/.exec(listener.output())![1]!,
    );
    // Started after both subscriptions exist: a worker reads the whole subscriptions topic before
    // it runs, so it knows both without waiting for the change to reach it.
    const deliver = await spawnDeliver(deliverySetup);
    await eventually(
      'worker readiness',
      async () => (await fetch(`${deliver.adminUrl}/readyz`)).status === 200,
      60_000,
    );

    const response = await fetch(`${gateway.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'account.created', key: 'acct_1', data: fixtureData('account.created') }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    const delivered = await waitForAttempt(plain, id, 1);
    expect(delivered).toContain('account.created  attempt 1');
    expect(delivered).toContain('signature  verified');
    expect(delivered).toMatch(/answered {3}200 after \d+ ms/);
    expect(delivered).toContain('"type": "account.created"');
    expect(delivered).toContain(`"accountId": "${fixtureData('account.created').accountId as string}"`);

    const failed = await waitForAttempt(failing, id, 1);
    expect(failed).toContain('signature  verified');
    expect(failed).toContain('answered   500 (--fail-attempts 1: failing attempt 1)');
    const retried = await waitForAttempt(failing, id, 2);
    expect(retried).toContain('signature  verified');
    expect(retried).toContain('answered   200 (--fail-attempts 1: attempt 2 succeeds)');
    expect(plain.output()).not.toContain('INVALID');
    expect(failing.output()).not.toContain('INVALID');

    for (const listener of [plain, failing]) {
      listener.child.kill('SIGTERM');
      expect(await listener.exited).toBe(0);
    }
    expect(plain.output()).toContain(`deleted subscription ${subscriptionIds[0]}`);
    expect(failing.output()).toContain(`deleted subscription ${subscriptionIds[1]}`);
    const listed = await fetch(`${gateway.url}/v1/subscriptions`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(((await listed.json()) as { subscriptions: unknown[] }).subscriptions).toEqual([]);
  });

  it('explains a refused subscription and exits non-zero', async () => {
    const gatewaySetup = await prepareGateway([{ producerId: 'ops', role: 'admin' }]);
    const gateway = await spawnGateway(gatewaySetup);
    const listener = spawnCli(['listen', '--port', '0', '--gateway', gateway.url], {
      SLUICE_API_KEY: gatewaySetup.keys.ops!,
    });
    expect(await listener.exited).toBe(1);
    expect(listener.output()).toContain('SLUICE_URL_FORBIDDEN');
    expect(listener.output()).toContain('SLUICE_SSRF_ALLOWED_CIDRS=127.0.0.0/8,::1/128');
  });
});
