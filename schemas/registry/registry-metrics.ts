import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The label values of the registry's counters: closed lists, every series created at zero. */
export const registrationOutcomes = ['created', 'existing', 'refused'] as const;
export const refusalReasons = [
  'incompatible',
  'invalid-schema',
  'invalid-subject',
  'not-found',
  'unauthorized',
  'forbidden',
  'other',
] as const;
export const idLookupResults = ['found', 'unknown'] as const;

export interface RegistryMetrics {
  /** outcome: one of registrationOutcomes */
  registrations: Counter<'outcome'>;
  /** reason: one of refusalReasons */
  refusals: Counter<'reason'>;
  /** Lost races: a write decided on a state another writer changed first, tried again. */
  writeConflicts: Counter;
  /** result: found | unknown, for a schema id this process did not hold yet, after reading the registry again */
  idLookups: Counter<'result'>;
  /** From a registration's time to this process applying it. */
  propagation: Histogram;
  subjects: Gauge;
  schemas: Gauge;
  /** 1 once the registry was read to its end, 0 before and after its consumer stopped for good. */
  caughtUp: Gauge;
}

/**
 * Registered on the given registry (never the global one). Every labelled series exists at zero
 * from the start, so `increase()` sees the first registration or refusal and dashboards show a
 * flat line rather than no data.
 */
export function createRegistryMetrics(registry: Registry): RegistryMetrics {
  const metrics: RegistryMetrics = {
    registrations: new Counter({
      name: 'sluice_schema_registrations_total',
      help: 'Schema registrations by outcome: created (a new version), existing (already registered), refused.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'sluice_schema_registry_refusals_total',
      help: 'Registry requests refused, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    writeConflicts: new Counter({
      name: 'sluice_schema_registry_write_conflicts_total',
      help: 'Registry writes decided on a state another process changed first, decided again.',
      registers: [registry],
    }),
    idLookups: new Counter({
      name: 'sluice_schema_id_lookups_total',
      help: 'Records naming a schema id this process did not hold yet, after reading the registry again: found, or still unknown (dead-lettered).',
      labelNames: ['result'],
      registers: [registry],
    }),
    propagation: new Histogram({
      name: 'sluice_schema_propagation_seconds',
      help: 'Time from a schema version being registered to this process applying it.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    subjects: new Gauge({
      name: 'sluice_schema_registry_subjects',
      help: 'Event types (subjects) this process holds, deprecated ones included.',
      registers: [registry],
    }),
    schemas: new Gauge({
      name: 'sluice_schema_registry_schemas',
      help: 'Schema ids this process holds.',
      registers: [registry],
    }),
    caughtUp: new Gauge({
      name: 'sluice_schema_registry_caught_up',
      help: 'Whether this process has read the schema registry to its end and follows it (1) or not (0: loading, or its consumer stopped and /readyz fails).',
      registers: [registry],
    }),
  };
  for (const outcome of registrationOutcomes) metrics.registrations.inc({ outcome }, 0);
  for (const reason of refusalReasons) metrics.refusals.inc({ reason }, 0);
  for (const result of idLookupResults) metrics.idLookups.inc({ result }, 0);
  return metrics;
}
