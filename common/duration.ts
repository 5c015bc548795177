// Durations as operators write them (`SLUICE_RETRY_SCHEDULE`, `*_MS` variables, `--since`) and as
// Sluice prints them (retry tier names, messages). Both directions live here so a tier named
// `2m` reads back as the 120000 ms it was made from.

const unitsMs: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `15s`, `2m`, `1h`, `1d`, `1.5s` or a bare number of milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? 'ms').toLowerCase();
  return Math.round(Number(match[1]) * (unitsMs[unit] ?? 1));
}

/** The largest whole unit: 604800000 → `7d`, 5400000 → `90m`, 90000 → `90s`, 1500 → `1500ms`. */
export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const sizeMs = unitsMs[unit]!;
    if (ms % sizeMs === 0) return `${ms / sizeMs}${unit}`;
  }
  return `${ms}ms`;
}
