import { writeFileSync } from 'node:fs';
import { runMetered } from './process-cpu.js';

export interface WrkResult {
  requestsPerSecond: number;
  /** Requests per second answered 2xx: what counts, since refusals are cheap and fast. */
  okRequestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: number;
  /** Every request wrk completed, whatever its status. */
  totalRequests: number;
  /** CPU the load generator itself used, as a share of one core (wrk shares the 2 cores). */
  generatorCpuCores: number;
}

export interface WrkRequest {
  method: 'POST';
  headers: Record<string, string>;
  /** A fixed body, or a Lua expression building one per request (e.g. with a unique id). */
  body: string;
  /** When set, `{{n}}` in the body is replaced with a per-request counter (unique ids). */
  uniqueCounter?: boolean;
}

function luaString(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
}

/** A wrk Lua script for one request shape; counters make ids unique per thread and request. */
export function wrkScript(request: WrkRequest): string {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `wrk.headers[${luaString(name)}] = ${luaString(value)}`)
    .join('\n');
  if (!request.uniqueCounter) {
    return `wrk.method = "POST"\n${headers}\nwrk.body = ${luaString(request.body)}\n`;
  }
  const [before, after] = request.body.split('{{n}}');
  return [
    'wrk.method = "POST"',
    headers,
    'local counter = 0',
    'local prefix = tostring(math.random(1, 1e9))',
    'request = function()',
    '  counter = counter + 1',
    `  return wrk.format(nil, nil, nil, ${luaString(before ?? '')} .. prefix .. "-" .. counter .. ${luaString(after ?? '')})`,
    'end',
    '',
  ].join('\n');
}

function parseLatencyMs(text: string, percentile: string): number {
  const match = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

/** Runs wrk against `url` with a closed loop of `connections`, for `durationSeconds`. */
export async function runWrk(options: {
  url: string;
  request: WrkRequest;
  connections: number;
  durationSeconds: number;
  threads?: number;
  scriptPath: string;
}): Promise<WrkResult> {
  writeFileSync(options.scriptPath, wrkScript(options.request));
  const { code, output, cpuSeconds } = await runMetered(
    'wrk',
    [
      `-t${options.threads ?? 1}`,
      `-c${options.connections}`,
      `-d${options.durationSeconds}s`,
      '--latency',
      '-s',
      options.scriptPath,
      options.url,
    ],
    200,
  );
  if (code !== 0) throw new Error(`wrk failed (${code}):\n${output}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const total = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const totalRequests = total ? Number(total[1]) : Number.NaN;
  const requestsPerSecond = rps ? Number(rps[1]) : Number.NaN;
  const non2xxCount = non2xx ? Number(non2xx[1]) : 0;
  return {
    requestsPerSecond,
    okRequestsPerSecond:
      totalRequests > 0 ? (requestsPerSecond * (totalRequests - non2xxCount)) / totalRequests : 0,
    p50Ms: parseLatencyMs(output, '50'),
    p99Ms: parseLatencyMs(output, '99'),
    non2xx: non2xxCount,
    socketErrors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    totalRequests,
    generatorCpuCores: cpuSeconds / options.durationSeconds,
  };
}
