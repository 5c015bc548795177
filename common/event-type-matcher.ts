/** Decides whether an event type is covered by a list of globs. */
export type EventTypeMatcher = (eventType: string) => boolean;

/** Characters an event type glob may hold: those of event type names plus `*`. */
export const eventTypeGlobPattern = /^[A-Za-z0-9_.*-]+$/;

/**
 * Compiles globs once (at load, never per request). `*` matches any run of characters, dots
 * included, so `order.*` covers `order.created` and `order.line.added`; `*` alone covers every type.
 * Anything without `*` is an exact name. Globs must match `eventTypeGlobPattern` (checked by callers).
 */
export function compileEventTypeMatcher(globs: readonly string[]): EventTypeMatcher {
  if (globs.includes('*')) return () => true;
  const exact = new Set(globs.filter((glob) => !glob.includes('*')));
  const wildcards = globs.filter((glob) => glob.includes('*'));
  if (wildcards.length === 0) return (eventType) => exact.has(eventType);
  // Runs of `*` collapse to one `.*`, which keeps backtracking on long type names linear enough.
  const alternatives = wildcards.map((glob) =>
    glob.replace(/\*+/g, '*').split('*').map(escapeRegExp).join('.*'),
  );
  const regExp = new RegExp(`^(?:${alternatives.join('|')})$`);
  return (eventType) => exact.has(eventType) || regExp.test(eventType);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
