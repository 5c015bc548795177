import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';

/** Sends raw HTTP/1.1 requests one after another on ONE socket; returns each status and whether the socket closed. */
async function onOneConnection(
  port: number,
  requests: string[],
): Promise<{ statuses: number[]; closedEarly: boolean }> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = '';
  let closed = false;
  socket.on('data', (chunk) => (buffered += chunk.toString('latin1')));
  socket.on('close', () => (closed = true));
  const statuses: number[] = [];
  for (const request of requests) {
    if (closed) break;
    buffered = '';
    socket.write(request);
    const deadline = Date.now() + 10_000;
    while (!/\r\n\r\n/.test(buffered) && !closed && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const match = /^HTTP\/1\.1 (\d{3})/.exec(buffered);
    if (match) statuses.push(Number(match[1]));
    // Let a close that follows the response arrive before the next request.
    await new Promise((r) => setTimeout(r, 50));
  }
  const closedEarly = closed;
  socket.destroy();
  return { statuses, closedEarly };
}

describe('refusals before the body is read', () => {
  it('keep the connection open when the body is small, so a limited client does not reconnect for every retry', async () => {
    const setup = await prepareGateway([{ producerId: 'limited', ratePerSecond: 0.01, burst: 1 }]);
    const { url } = await startTestGateway(setup);
    const port = Number(new URL(url).port);
    const body = JSON.stringify({ type: 'account.created', data: {} });
    const request =
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${setup.keys.limited}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    // The first request spends the burst (its data is schema-invalid: 422); the next ones are refused before their body is read.
    const { statuses, closedEarly } = await onOneConnection(port, [request, request, request]);
    expect(statuses).toEqual([422, 429, 429]);
    expect(closedEarly).toBe(false);
  });
});
