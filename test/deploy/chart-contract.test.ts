import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { chartDir, root } from './helm.js';
import {
  dashboardExpressions,
  metricNames,
  metricsNotYetInCode,
  ruleExpressions,
  runtimeSourceFiles,
  sluiceMetricsInCode,
} from './observability-queries.js';

// Static checks that keep the chart in step with the code when either moves: every setting the
// code reads can be set through the chart, and every metric the dashboard and alerts use exists.

const runtimeSources = runtimeSourceFiles();

/** Settings the chart sets itself from structured values (ports, Kafka, Redis, topics, secrets). */
const chartManaged = [
  'KAFKA_BROKERS',
  'SLUICE_KAFKA_BROKERS',
  'SLUICE_KAFKA_TLS',
  'SLUICE_KAFKA_SASL_MECHANISM',
  'SLUICE_KAFKA_SASL_USERNAME',
  'SLUICE_KAFKA_SASL_PASSWORD',
  'REDIS_URL',
  'SLUICE_REDIS_URL',
  'SLUICE_API_KEYS_FILE',
  'SLUICE_SECRETS_KEYS',
  'SLUICE_HOST',
  'SLUICE_PORT',
  'SLUICE_ADMIN_PORT',
  'SLUICE_SHUTDOWN_GRACE_MS',
  'SLUICE_DELIVERY_GROUP_ID',
  'SLUICE_EVENTS_TOPIC',
  'SLUICE_EVENTS_PARTITIONS',
  'SLUICE_EVENTS_RETENTION_MS',
  'SLUICE_RETRY_TOPIC_PREFIX',
  'SLUICE_RETRY_PARTITIONS',
  'SLUICE_DLQ_TOPIC',
  'SLUICE_SUBSCRIPTIONS_TOPIC',
  'SLUICE_SCHEMAS_TOPIC',
  'SLUICE_SOURCES_TOPIC',
  'SLUICE_ATTEMPTS_TOPIC',
  'SLUICE_ATTEMPTS_RETENTION_MS',
  'SLUICE_SCHEMA_REGISTRY_URL',
  'SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO',
  'SLUICE_SCHEMA_REGISTRY_BEARER_TOKEN',
  'SLUICE_TOPIC_REPLICATION_FACTOR',
  'SLUICE_TOPIC_MIN_INSYNC_REPLICAS',
  'SLUICE_RETRY_SCHEDULE',
  'SLUICE_LOG_DATABASE_URL',
];

/** Every variable the processes read through the config reader (`reader.x('NAME'…)`), by file. */
function settingsReadByCode(): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const file of runtimeSources) {
    // The local stack (`sluice stack`) is a development tool, not deployed.
    if (file.includes(join('cli', 'stack'))) continue;
    const text = readFileSync(file, 'utf8');
    for (const call of text.matchAll(/reader\.\w+\(\s*(\[[^\]]*\]|'[^']+')/g)) {
      for (const name of call[1]!.matchAll(/'([A-Z][A-Z0-9_]+)'/g)) {
        settings.set(name[1]!, [...(settings.get(name[1]!) ?? []), relative(root, file)]);
      }
    }
  }
  // Read by the logger straight from the environment.
  settings.set('SLUICE_LOG_LEVEL', ['common/logger.ts']);
  return settings;
}

const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as {
  $defs: { settings: { propertyNames: { enum: string[] } } };
};
const passThrough = schema.$defs.settings.propertyNames.enum;

describe('chart settings', () => {
  it('can set every setting the code reads: by a structured value or by name in a config map', () => {
    const read = settingsReadByCode();
    const unreachable = [...read.keys()].filter(
      (name) => !chartManaged.includes(name) && !passThrough.includes(name),
    );
    expect(unreachable, 'add them to values.schema.json $defs.settings or to the chart').toEqual([]);
  });

  it('accepts only names the code reads, and none the chart already sets', () => {
    const read = settingsReadByCode();
    expect(passThrough.filter((name) => !read.has(name))).toEqual([]);
    expect(passThrough.filter((name) => chartManaged.includes(name))).toEqual([]);
  });

  it('sets every chart-managed setting in a template', () => {
    const templates = readdirSync(join(chartDir, 'templates'))
      .map((file) => readFileSync(join(chartDir, 'templates', file), 'utf8'))
      .join('\n');
    // The unprefixed aliases are covered by their SLUICE_ names.
    const missing = chartManaged
      .filter((name) => name.startsWith('SLUICE_'))
      .filter((name) => !templates.includes(`name: ${name}\n`));
    expect(missing).toEqual([]);
  });
});

async function nodeDefaultMetrics(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = await registry.getMetricsAsJSON();
  return new Set(metrics.map((metric) => metric.name));
}

describe('dashboard and alert rules', () => {
  it('use only metrics the code registers (or Node defaults, Prometheus `up` and kube-state-metrics)', async () => {
    const known = new Set([
      ...sluiceMetricsInCode(),
      ...(await nodeDefaultMetrics()),
      ...metricsNotYetInCode(),
    ]);
    const expressions = [...dashboardExpressions(), ...ruleExpressions()];
    expect(expressions.length).toBeGreaterThan(40);
    const unknown = new Set<string>();
    for (const { expr } of expressions) {
      for (const name of metricNames(expr)) {
        if (name === 'up' || name.startsWith('kube_')) continue;
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (!known.has(name) && !known.has(base)) unknown.add(name);
      }
    }
    expect([...unknown]).toEqual([]);
  });

  it('dashboard panels each have a unique id, and every query a refId and a datasource', () => {
    const dashboard = JSON.parse(
      readFileSync(join(chartDir, 'dashboards', 'sluice-overview.json'), 'utf8'),
    ) as {
      uid: string;
      panels: { id: number; targets?: { refId: string; datasource: { uid: string } }[] }[];
    };
    expect(dashboard.uid).toBe('sluice-overview');
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const target of dashboard.panels.flatMap((panel) => panel.targets ?? [])) {
      expect(target.refId).toMatch(/^[A-Z]$/);
      expect(target.datasource.uid).toBe('${datasource}');
    }
  });
});
