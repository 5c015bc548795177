/**
 * Sums the samples of metric `name` in a Prometheus text exposition whose labels include
 * `labels` (each label parsed, compared exactly). `found` tells none matched from a sum of 0.
 */
export function sumSamples(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): { sum: number; found: boolean } {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const sampleLabels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      sampleLabels[pair[1]!] = pair[2]!;
    }
    if (Object.entries(labels).every(([label, value]) => sampleLabels[label] === value)) {
      sum += Number(match[3]);
      found = true;
    }
  }
  return { sum, found };
}

/** The summed samples of `name` with `labels` at `adminUrl`/metrics; 0 when there are none. */
export async function scrapeMetric(
  adminUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return sumSamples(text, name, labels).sum;
}
