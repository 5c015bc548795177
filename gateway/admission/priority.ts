/**
 * Priority classes, most important first. A class comes from the API key or the event type; load
 * shedding drops `bulk` first and `critical` last.
 */
export const priorities = ['critical', 'normal', 'bulk'] as const;

export type Priority = (typeof priorities)[number];

export function isPriority(value: unknown): value is Priority {
  return typeof value === 'string' && (priorities as readonly string[]).includes(value);
}
