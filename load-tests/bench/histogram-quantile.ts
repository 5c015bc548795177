/**
 * Quantiles of a Prometheus histogram over a window, from two scrapes of `/metrics` text: what
 * `histogram_quantile(q, increase(…_bucket[window]))` answers, with the same linear interpolation
 * inside a bucket. The benchmarks use it for latency seen by the server itself, which a load
 * generator sharing the machine's cores cannot inflate.
 */

/** Cumulative bucket counts by upper bound (seconds), for the series matching `labels`. */
export function readBuckets(
  metricsText: string,
  name: string,
  labels: Record<string, string>,
): Map<number, number> {
  const buckets = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const close = line.indexOf('} ');
    const labelText = line.slice(prefix.length, close);
    const parsed = new Map<string, string>();
    for (const match of labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) parsed.set(match[1]!, match[2]!);
    if (!Object.entries(labels).every(([label, value]) => parsed.get(label) === value)) continue;
    const le = parsed.get('le');
    if (le === undefined) continue;
    buckets.set(le === '+Inf' ? Infinity : Number(le), Number(line.slice(close + 2)));
  }
  return buckets;
}

/**
 * The q-quantile (0 < q < 1) of the observations made between two scrapes, in the histogram's
 * unit; NaN when none were made. A quantile in the +Inf bucket reads as the largest finite bound.
 */
export function windowQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const increase = (bound: number) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
  const total = increase(Infinity);
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = increase(bound);
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
