import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findSchemasDir } from '../../schemas/manifest.js';
import { chartDir, parseManifests, renderChart, type K8sObject } from './helm.js';
import { sluiceStartupProblems } from './sluice-startup.js';

// Needs the helm binary, hence *.int.test.ts. Runs Sluice's own config loaders and API-key loader on
// what the chart renders for each values file of ci/ (see sluice-startup.ts), so a values file
// whose pods would exit at start-up fails here rather than crash-looping in a cluster.

interface PodContainers {
  initContainers?: { name: string }[];
  containers: { name: string }[];
}

const valuesFiles = readdirSync(join(chartDir, 'ci')).filter((file) => file.endsWith('.yaml'));

async function rendered(
  valuesFile: string,
  set: string[] = [],
  setJson: string[] = [],
): Promise<K8sObject[]> {
  const result = await renderChart(valuesFile, set, { setJson });
  if (!result.ok) throw new Error(result.stderr);
  return parseManifests(result.stdout);
}

describe.each(valuesFiles)('Sluice starts with what the chart renders from ci/%s', (valuesFile) => {
  it('the gateway, the delivery workers, the log, its migrate Job and the topics Job load their config; the gateway its API keys; the Job imports its schemas', async () => {
    const objects = await rendered(valuesFile);
    const containers = objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
      .flatMap((o) => {
        const spec = (o.spec as { template: { spec: PodContainers } }).template.spec;
        return [...(spec.initContainers ?? []), ...spec.containers];
      })
      .map((c) => c.name);
    // minimal-values.yaml leaves the schema import and the delivery log off; the others turn both on.
    const everything = valuesFile !== 'minimal-values.yaml';
    expect(containers.sort()).toEqual(
      everything
        ? ['delivery', 'gateway', 'log', 'log-migrate', 'schemas', 'topics']
        : ['delivery', 'gateway', 'topics'],
    );
    expect(await sluiceStartupProblems(objects)).toEqual([]);
  });
});

describe('the start-up check', () => {
  it('fails on an API key line the gateway refuses (`hash` instead of `keyHash`, no allowedEventTypes)', async () => {
    const line = JSON.stringify({
      hash: `sha256:${'0'.repeat(64)}`,
      producerId: 'shop-eu',
      role: 'producer',
    });
    const objects = await rendered('full-values.yaml', [], [`apiKeys.lines=${JSON.stringify([line])}`]);
    const problems = await sluiceStartupProblems(objects);
    expect(problems).toEqual([
      { process: 'gateway', problem: 'entry 0 (line 1): unknown field "hash"' },
      { process: 'gateway', problem: expect.stringMatching(/^entry 0 \(line 1\): keyHash must be/) },
      {
        process: 'gateway',
        problem: expect.stringMatching(/^entry 0 \(line 1\): allowedEventTypes must be/),
      },
    ]);
  });

  it('fails on a pass-through setting a loader refuses, naming the process and the variable', async () => {
    const objects = await rendered('minimal-values.yaml', [
      'gateway.config.SLUICE_MAX_BATCH_EVENTS=0',
      'delivery.config.SLUICE_DELIVERY_ROLES=everything',
      'config.SLUICE_LOG_LEVEL=loud',
    ]);
    const problems = await sluiceStartupProblems(objects);
    expect(problems).toEqual(
      expect.arrayContaining([
        { process: 'gateway', problem: expect.stringMatching(/SLUICE_MAX_BATCH_EVENTS/) },
        { process: 'delivery', problem: expect.stringMatching(/SLUICE_DELIVERY_ROLES/) },
        { process: 'topics', problem: expect.stringMatching(/^SLUICE_LOG_LEVEL loud: /) },
      ]),
    );
  });

  it('fails on a log database URL or log setting the log and its migrate Job refuse', async () => {
    const objects = await rendered('minimal-values.yaml', [
      'log.enabled=true',
      'log.database.existingSecret=sluice-log-database',
      'log.database.urlKey=missing',
      'log.config.SLUICE_LOG_RETENTION_MS=1h',
    ]);
    const problems = await sluiceStartupProblems(objects);
    expect(problems).toEqual(
      expect.arrayContaining([
        { process: 'log', problem: expect.stringMatching(/^SLUICE_LOG_DATABASE_URL is required/) },
        { process: 'log', problem: expect.stringMatching(/^SLUICE_LOG_RETENTION_MS/) },
        { process: 'log-migrate', problem: expect.stringMatching(/^SLUICE_LOG_RETENTION_MS/) },
        { process: 'chart', problem: 'Secret sluice-log-database has no key missing' },
      ]),
    );
  });

  it('fails on a NODE_OPTIONS flag node refuses', async () => {
    const objects = await rendered('minimal-values.yaml', ['delivery.nodeOptions=--max-old-space-sise=512']);
    const problems = await sluiceStartupProblems(objects);
    expect(problems).toEqual([{ process: 'delivery', problem: expect.stringMatching(/max-old-space-sise/) }]);
  });

  it('fails on schemas the topics Job would not import, naming the file in the container', async () => {
    // v2 adds a field without a default: it cannot read what v1 wrote (BACKWARD, the default level).
    const v1 = {
      type: 'record',
      name: 'Parcel',
      namespace: 'com.example',
      fields: [{ name: 'id', type: 'string' }],
    };
    const v2 = { ...v1, fields: [...v1.fields, { name: 'weightGrams', type: 'int' }] };
    const incompatible = await rendered(
      'minimal-values.yaml',
      ['schemas.import.enabled=true'],
      [`schemas.import.files=${JSON.stringify({ 'parcel.sent__v1.avsc': v1, 'parcel.sent__v2.avsc': v2 })}`],
    );
    expect(await sluiceStartupProblems(incompatible)).toEqual([
      {
        process: 'schemas',
        problem: expect.stringMatching(
          /^schemas import: \/etc\/sluice\/schemas\/parcel\.sent__v2\.avsc: Schema being registered is incompatible .*weightGrams/,
        ),
      },
    ]);
    // An example's record name under another type: the registry keeps one type per record name.
    const orderCreated = readFileSync(join(findSchemasDir(), 'avro', 'order.created', 'v1.avsc'), 'utf8');
    const clash = await rendered(
      'minimal-values.yaml',
      ['schemas.import.enabled=true', 'schemas.import.examples=true'],
      [`schemas.import.files=${JSON.stringify({ 'order.placed.avsc': orderCreated })}`],
    );
    expect(await sluiceStartupProblems(clash)).toEqual([
      {
        process: 'schemas',
        problem: expect.stringMatching(
          /^schemas import: \/etc\/sluice\/schemas\/order\.placed\.avsc: .*belongs to event type order\.created/,
        ),
      },
    ]);
  });

  it('fails on an existing ConfigMap of schemas it has no stand-in for', async () => {
    const objects = await rendered('minimal-values.yaml', [
      'schemas.import.enabled=true',
      'schemas.import.configMap=someone-elses-schemas',
    ]);
    expect(await sluiceStartupProblems(objects)).toContainEqual({
      process: 'chart',
      problem:
        "ConfigMap someone-elses-schemas is neither rendered by the chart nor among the test's stand-ins",
    });
  });

  it('fails on an existing Secret it has no stand-in for, rather than passing without checking', async () => {
    const objects = await rendered('minimal-values.yaml', ['redis.existingSecret=someone-elses-redis']);
    const problems = await sluiceStartupProblems(objects);
    expect(problems).toContainEqual({
      process: 'chart',
      problem: "Secret someone-elses-redis is neither rendered by the chart nor among the test's stand-ins",
    });
  });
});
