/**
 * The baseline of the ingest benchmark (docs/architecture.md#benchmarks): a bare uWebSockets.js
 * server that reads the body, parses the JSON and answers 202 — no auth, validation, Redis or
 * Kafka. Sluice's single-event ingest must reach 0.7× its throughput under the same wrk load.
 */
import { createUwsApp, listenUws, localPortOf } from '../../gateway/http/uws.js';

const port = Number(process.env.PORT ?? 0);
const app = createUwsApp();
app.post('/*', (res) => {
  let aborted = false;
  const chunks: Buffer[] = [];
  res.onAborted(() => (aborted = true));
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast || aborted) return;
    let status = '202 Accepted';
    let body = '{"status":"accepted"}';
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      status = '400 Bad Request';
      body = '{"status":"malformed"}';
    }
    res.cork(() => res.writeStatus(status).writeHeader('content-type', 'application/json').end(body));
  });
});
const socket = await listenUws(app, '127.0.0.1', port);
process.stdout.write(`${JSON.stringify({ port: localPortOf(socket) })}\n`);
