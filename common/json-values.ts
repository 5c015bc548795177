// Plain JSON values from request bodies and files: which kind a value is, and a short rendering of
// a bad one for an error message. Every input validator shares these, so refusals read alike.

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A bad value as a problem message shows it: its JSON, cut at 60 characters; `nothing` when absent. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
