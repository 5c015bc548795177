import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaCatalog, encodeEvent } from '../../schemas/index.js';
import {
  chartDir,
  decodeStrictly,
  helm,
  kubeStrictBinary,
  parseManifests,
  renderChart,
  renderNotes,
  type K8sObject,
} from './helm.js';

// Needs the helm binary (scripts/install-helm.sh builds the pinned one), hence *.int.test.ts.
// Every values file in helm/sluice/ci is linted and rendered, the rendered objects are decoded
// strictly against the Kubernetes, Prometheus Operator and KEDA Go types (kube-strict/, built with
// Go into the cache on first use), parsed (with helm's own YAML parser, see helm.ts) and checked
// property by property.

// The first build of kube-strict compiles the Kubernetes API types (minutes on a cold Go cache);
// later runs find it in the cache.
beforeAll(() => kubeStrictBinary().then(() => undefined), 15 * 60_000);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: string;
  labelSelector?: { matchLabels?: Record<string, string> };
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  serviceAccountName?: string;
  topologySpreadConstraints?: TopologySpreadConstraint[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  volumes?: {
    name: string;
    emptyDir?: object;
    secret?: { secretName: string; items?: { key: string; path: string }[] };
    projected?: { sources: { configMap?: { name: string } }[] };
  }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

const valuesFiles = readdirSync(join(chartDir, 'ci')).filter((file) => file.endsWith('.yaml'));

function find(objects: K8sObject[], kind: string, nameSuffix: string): K8sObject {
  const found = findAll(objects, kind, nameSuffix);
  expect(
    found.map((o) => o.metadata.name),
    `${kind} *${nameSuffix}`,
  ).toHaveLength(1);
  return found[0]!;
}

function findAll(objects: K8sObject[], kind: string, nameSuffix: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
}

/** The one object of a kind and name suffix, or undefined when the chart renders none. */
function findOptional(objects: K8sObject[], kind: string, nameSuffix: string): K8sObject | undefined {
  const found = findAll(objects, kind, nameSuffix);
  expect(found.length, `${kind} *${nameSuffix}`).toBeLessThanOrEqual(1);
  return found[0];
}

function podTemplate(workload: K8sObject): PodTemplate {
  return (workload.spec as { template: PodTemplate }).template;
}

/** Every container of a pod, init containers first (the order in which they run). */
function allContainers(pod: PodTemplate): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}

/** The topics Job's container running `sluice <command>`: `topics ensure` or `schemas import`. */
function jobContainer(job: K8sObject, name: 'topics' | 'schemas'): Container | undefined {
  return allContainers(podTemplate(job)).find((c) => c.name === name);
}

function env(container: Container, name: string): EnvVar | undefined {
  return container.env?.find((e) => e.name === name);
}

function envValue(container: Container, name: string): string | undefined {
  return env(container, name)?.value;
}

const topicSettings = [
  'SLUICE_KAFKA_BROKERS',
  'SLUICE_KAFKA_TLS',
  'SLUICE_KAFKA_SASL_MECHANISM',
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
  'SLUICE_TOPIC_REPLICATION_FACTOR',
  'SLUICE_TOPIC_MIN_INSYNC_REPLICAS',
  'SLUICE_RETRY_SCHEDULE',
];

/** "20s" → 20; the chart always writes SLUICE_SHUTDOWN_GRACE_MS in whole seconds. */
function seconds(duration: string | undefined): number {
  const match = /^(\d+)s$/.exec(duration ?? '');
  expect(match, `duration ${duration}`).not.toBeNull();
  return Number(match![1]);
}

describe.each(valuesFiles)('helm chart with ci/%s', (valuesFile) => {
  let manifests: string;
  let objects: K8sObject[];
  let gateway: PodTemplate;
  let delivery: PodTemplate;
  let job: K8sObject;
  // The delivery log and its migrate Job: every ci/ file but minimal-values.yaml turns the log on.
  let log: PodTemplate | undefined;
  let migrateJob: K8sObject | undefined;
  const logEnabled = valuesFile !== 'minimal-values.yaml';
  /** Every pod the release runs: the Deployments and the hook Jobs. */
  const pods = () =>
    [gateway, delivery, podTemplate(job), log, migrateJob && podTemplate(migrateJob)].filter(
      (pod): pod is PodTemplate => pod !== undefined,
    );
  /** The long-running ones, with an admin port, probes and a drain. */
  const servers = () => [gateway, delivery, log].filter((pod): pod is PodTemplate => pod !== undefined);

  beforeAll(async () => {
    const rendered = await renderChart(valuesFile);
    expect(rendered.stderr).toBe('');
    expect(rendered.ok).toBe(true);
    manifests = rendered.stdout;
    objects = await parseManifests(rendered.stdout);
    gateway = podTemplate(find(objects, 'Deployment', '-gateway'));
    delivery = podTemplate(find(objects, 'Deployment', '-delivery'));
    job = find(objects, 'Job', '-topics');
    const logDeployment = findOptional(objects, 'Deployment', '-log');
    log = logDeployment && podTemplate(logDeployment);
    migrateJob = findOptional(objects, 'Job', '-log-migrate');
  });

  it('passes helm lint --strict', async () => {
    const lint = await helm(['lint', '--strict', chartDir, '-f', join(chartDir, 'ci', valuesFile)]);
    expect(lint.stdout + lint.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(lint.ok).toBe(true);
    // helm lint only logs a template's `fail`; it must not have reached one.
    expect(lint.stderr).not.toMatch(/Fail:/);
  });

  it('renders only objects that decode strictly (no unknown field, duplicate key or bad value)', async () => {
    const decoded = await decodeStrictly(manifests);
    expect(decoded.stderr).toBe('');
    expect(decoded.stdout.trim()).toBe(`kube-strict: ${objects.length} objects decoded strictly`);
    expect(decoded.ok).toBe(true);
  });

  it('runs one image as `sluice gateway`, `sluice deliver`, `sluice log` and `sluice log migrate`', () => {
    const [gatewayContainer] = gateway.spec.containers;
    const [deliveryContainer] = delivery.spec.containers;
    expect(gateway.spec.containers).toHaveLength(1);
    expect(delivery.spec.containers).toHaveLength(1);
    expect(gatewayContainer!.args).toEqual(['gateway']);
    expect(deliveryContainer!.args).toEqual(['deliver']);
    expect(deliveryContainer!.image).toBe(gatewayContainer!.image);
    for (const container of allContainers(podTemplate(job))) {
      expect(container.image).toBe(gatewayContainer!.image);
    }
    expect(log !== undefined, 'log Deployment').toBe(logEnabled);
    expect(migrateJob !== undefined, 'log migrate Job').toBe(logEnabled);
    if (log && migrateJob) {
      expect(log.spec.containers.map((c) => c.args)).toEqual([['log']]);
      expect(podTemplate(migrateJob).spec.containers.map((c) => c.args)).toEqual([['log', 'migrate']]);
      for (const container of [...log.spec.containers, ...podTemplate(migrateJob).spec.containers]) {
        expect(container.image).toBe(gatewayContainer!.image);
      }
    }
  });

  it('runs every container non-root, read-only, without capabilities or a service account token', () => {
    for (const pod of pods()) {
      expect(pod.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.spec.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(pod.spec.automountServiceAccountToken).toBe(false);
      for (const container of allContainers(pod)) {
        expect(container.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(container.securityContext?.capabilities?.add).toBeUndefined();
        // The root filesystem is read-only: /tmp is the one writable place.
        const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(pod.spec.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      }
    }
  });

  it('probes /healthz (liveness, startup) and /readyz (readiness) on the admin port the process listens on', () => {
    for (const pod of servers()) {
      const container = pod.spec.containers[0]!;
      const adminPort = container.ports?.find((p) => p.name === 'admin')?.containerPort;
      expect(adminPort).toBeDefined();
      expect(envValue(container, 'SLUICE_ADMIN_PORT')).toBe(String(adminPort));
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'admin' });
      expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'admin' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    }
    const http = gateway.spec.containers[0]!.ports?.find((p) => p.name === 'http')?.containerPort;
    expect(envValue(gateway.spec.containers[0]!, 'SLUICE_PORT')).toBe(String(http));
  });

  it('drains before it is killed: preStop sleep, then SIGTERM, with a grace period above both', () => {
    for (const pod of servers()) {
      const container = pod.spec.containers[0]!;
      const command = container.lifecycle?.preStop?.exec?.command ?? ['sleep', '0'];
      expect(command[0]).toBe('sleep');
      const sleepSeconds = Number(command[1]);
      const drainSeconds = seconds(envValue(container, 'SLUICE_SHUTDOWN_GRACE_MS'));
      expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(sleepSeconds + drainSeconds);
    }
    expect(gateway.spec.containers[0]!.lifecycle?.preStop).toBeDefined();
  });

  it('provisions topics in a hook Job with the same Kafka and topic settings as both Deployments', () => {
    // Before the pods, on install too: `helm install --wait`, Flux and Argo CD wait for ready pods,
    // which need the topics; a post-install hook would only run after that wait timed out.
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(job.metadata.annotations?.['helm.sh/hook-delete-policy']).toContain('before-hook-creation');
    const ensure = jobContainer(job, 'topics')!;
    expect(ensure.args).toEqual(['topics', 'ensure']);
    expect((podTemplate(job).spec as { restartPolicy?: string }).restartPolicy).toBe('Never');
    // The schema import, when there is one, writes to the registry the pods read: same settings.
    for (const container of allContainers(podTemplate(job))) {
      for (const name of topicSettings) {
        const value = env(container, name);
        expect(value, `${container.name} ${name}`).toBeDefined();
        expect(env(gateway.spec.containers[0]!, name), name).toEqual(value);
        expect(env(delivery.spec.containers[0]!, name), name).toEqual(value);
      }
    }
  });

  it('wires every secret: each secretKeyRef names a key of a Secret the chart renders or an existing one', () => {
    const secrets = new Map(
      objects.filter((o) => o.kind === 'Secret').map((s) => [s.metadata.name, s.data ?? {}] as const),
    );
    const externalSecrets = new Set<string>();
    for (const pod of pods()) {
      for (const variable of allContainers(pod).flatMap((c) => c.env ?? [])) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (!ref) continue;
        const rendered = secrets.get(ref.name);
        if (rendered) expect(Object.keys(rendered), `${variable.name} → ${ref.name}`).toContain(ref.key);
        else externalSecrets.add(ref.name);
      }
    }
    for (const pod of [gateway, delivery]) {
      const container = pod.spec.containers[0]!;
      expect(env(container, 'SLUICE_SECRETS_KEYS')?.valueFrom?.secretKeyRef).toBeDefined();
      expect(env(container, 'SLUICE_REDIS_URL')?.valueFrom?.secretKeyRef).toBeDefined();
      // Secrets are never plain env values.
      for (const name of ['SLUICE_SECRETS_KEYS', 'SLUICE_REDIS_URL', 'SLUICE_KAFKA_SASL_PASSWORD']) {
        expect(envValue(container, name), name).toBeUndefined();
      }
    }
    // The keys file: SLUICE_API_KEYS_FILE is the mounted Secret item.
    const container = gateway.spec.containers[0]!;
    const file = envValue(container, 'SLUICE_API_KEYS_FILE')!;
    const mount = container.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`))!;
    const volume = gateway.spec.volumes!.find((v) => v.name === mount.name)!;
    const item = volume.secret!.items!.find((i) => `${mount.mountPath}/${i.path}` === file)!;
    expect(item).toBeDefined();
    const keysSecret = secrets.get(volume.secret!.secretName);
    if (keysSecret) expect(Object.keys(keysSecret)).toContain(item.key);
    else externalSecrets.add(volume.secret!.secretName);
    if (valuesFile === 'minimal-values.yaml') {
      expect([...externalSecrets].sort()).toEqual(['sluice-api-keys', 'sluice-redis', 'sluice-secrets-keys']);
      expect(secrets.size).toBe(0);
    } else if (valuesFile === 'existing-secrets-values.yaml') {
      expect([...externalSecrets].sort()).toEqual([
        'sluice-api-keys',
        'sluice-kafka',
        'sluice-log-database',
        'sluice-redis',
        'sluice-secrets-keys',
      ]);
      expect(secrets.size).toBe(0);
      expect(env(container, 'SLUICE_KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
        name: 'sluice-kafka',
        key: 'pass',
      });
      expect(file).toBe('/etc/sluice/api-keys/keys.jsonl');
    } else {
      expect(externalSecrets.size).toBe(0);
    }
    // Pods roll when a chart-managed Secret changes: the processes read them at start-up.
    expect(gateway.metadata.annotations?.['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    expect(log?.metadata.annotations?.['checksum/secret']).toEqual(
      logEnabled ? gateway.metadata.annotations?.['checksum/secret'] : undefined,
    );
  });

  it('gives the log, its migrate Job and the gateway (the log routes) the same database, from a Secret', () => {
    const databaseUrl = (pod: PodTemplate) => env(pod.spec.containers[0]!, 'SLUICE_LOG_DATABASE_URL');
    if (!log || !migrateJob) {
      // No database, no log: the gateway is not told of one, and nothing of the log is rendered.
      expect(databaseUrl(gateway)).toBeUndefined();
      expect(manifests).not.toContain('SLUICE_LOG_DATABASE_URL');
      expect(
        objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component']?.startsWith('log')),
      ).toEqual([]);
      return;
    }
    const migrate = podTemplate(migrateJob);
    for (const pod of [gateway, log, migrate]) {
      const variable = databaseUrl(pod);
      expect(variable?.value, 'a URL carries a password: never a plain value').toBeUndefined();
      expect(variable?.valueFrom?.secretKeyRef).toBeDefined();
    }
    const secrets = new Map(
      objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, o] as const),
    );
    const ref = (pod: PodTemplate) => databaseUrl(pod)!.valueFrom!.secretKeyRef!;
    expect(ref(log)).toEqual(ref(gateway));
    if (valuesFile === 'existing-secrets-values.yaml') {
      expect(ref(migrate)).toEqual({ name: 'sluice-log-database', key: 'url' });
      expect(ref(log)).toEqual(ref(migrate));
      return;
    }
    // Inline: the release's Secret for the pods, and for the hook Job, which runs before that Secret
    // exists, a hook Secret of its own with the same URL.
    const release = secrets.get(ref(log).name)!;
    const hook = secrets.get(ref(migrate).name)!;
    expect(release.metadata.annotations?.['helm.sh/hook']).toBeUndefined();
    expect(hook.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const decode = (secret: K8sObject, key: string) =>
      Buffer.from(secret.data![key]!, 'base64').toString('utf8');
    expect(decode(hook, ref(migrate).key)).toBe(decode(release, ref(log).key));
    expect(decode(release, ref(log).key)).toMatch(/^postgres:\/\//);
    // The log's own settings reach the log and the migrate Job (retention), not the other processes.
    expect(envValue(log.spec.containers[0]!, 'SLUICE_LOG_RETENTION_MS')).toBe('30d');
    expect(envValue(migrate.spec.containers[0]!, 'SLUICE_LOG_RETENTION_MS')).toBe('30d');
    expect(envValue(gateway.spec.containers[0]!, 'SLUICE_LOG_RETENTION_MS')).toBeUndefined();
    // `sluice log migrate` needs the database alone: no Kafka settings, no Kafka credentials.
    expect(env(migrate.spec.containers[0]!, 'SLUICE_KAFKA_SASL_PASSWORD')).toBeUndefined();
  });

  it('exposes the public port and the admin ports on separate Services that select the pods', () => {
    const publicService = find(objects, 'Service', '-gateway');
    const gatewayAdmin = find(objects, 'Service', '-gateway-admin');
    const deliveryAdmin = find(objects, 'Service', '-delivery-admin');
    const ports = (service: K8sObject) =>
      (service.spec as { ports: { targetPort: string }[] }).ports.map((p) => p.targetPort);
    expect(ports(publicService)).toEqual(['http']);
    expect(ports(gatewayAdmin)).toEqual(['admin']);
    expect(ports(deliveryAdmin)).toEqual(['admin']);
    for (const [service, pod] of [
      [publicService, gateway],
      [gatewayAdmin, gateway],
      [deliveryAdmin, delivery],
    ] as const) {
      const selector = (service.spec as { selector: Record<string, string> }).selector;
      expect(pod.metadata.labels).toMatchObject(selector);
    }
    // The Prometheus job names the alert rules select on.
    expect(gatewayAdmin.metadata.labels?.['sluice-job']).toBe('sluice-gateway');
    expect(deliveryAdmin.metadata.labels?.['sluice-job']).toBe('sluice-delivery');
    const logAdmin = findOptional(objects, 'Service', '-log-admin');
    expect(logAdmin !== undefined).toBe(logEnabled);
    if (logAdmin && log) {
      expect(ports(logAdmin)).toEqual(['admin']);
      expect(log.metadata.labels).toMatchObject(
        (logAdmin.spec as { selector: Record<string, string> }).selector,
      );
      expect(logAdmin.metadata.labels?.['sluice-job']).toBe('sluice-log');
      // Scraped by the release's ServiceMonitor, which selects admin Services by this label.
      expect(logAdmin.metadata.labels?.['sluice-metrics']).toBe('true');
    }
  });

  it('autoscales the gateway with an HPA and protects both Deployments with PDBs', () => {
    const hpa = find(objects, 'HorizontalPodAutoscaler', '-gateway');
    const gatewayDeployment = find(objects, 'Deployment', '-gateway');
    expect((hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name).toBe(
      gatewayDeployment.metadata.name,
    );
    const metrics = (hpa.spec as { metrics: { type: string; resource?: { name: string } }[] }).metrics;
    expect(metrics.find((m) => m.type === 'Resource')?.resource?.name).toBe('cpu');
    // The HPA owns the replica count.
    expect(gatewayDeployment.spec?.replicas).toBeUndefined();
    const budgeted: [string, PodTemplate][] = [
      ['-gateway', gateway],
      ['-delivery', delivery],
    ];
    if (log) budgeted.push(['-log', log]);
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toHaveLength(budgeted.length);
    for (const [suffix, pod] of budgeted) {
      const pdb = find(objects, 'PodDisruptionBudget', suffix);
      const spec = pdb.spec as {
        selector: { matchLabels: Record<string, string> };
        unhealthyPodEvictionPolicy?: string;
      };
      expect(pod.metadata.labels).toMatchObject(spec.selector.matchLabels);
      // A crash-looping pod never blocks a node drain.
      expect(spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    }
  });

  if (valuesFile === 'minimal-values.yaml') {
    it('leaves optional parts out by default', () => {
      const kinds = new Set(objects.map((o) => o.kind));
      for (const kind of [
        'ScaledObject',
        'ServiceMonitor',
        'PrometheusRule',
        'NetworkPolicy',
        'ConfigMap',
        'Secret',
      ]) {
        expect(kinds.has(kind), kind).toBe(false);
      }
      // The delivery log is off without a database.
      expect(objects.filter((o) => o.kind === 'Deployment')).toHaveLength(2);
      expect(objects.filter((o) => o.kind === 'Job')).toHaveLength(1);
      expect(find(objects, 'Deployment', '-delivery').spec?.replicas).toBe(2);
    });
  }

  it('gives the hook Jobs what they need as hooks created before them, since nothing else exists yet', () => {
    const jobSpec = podTemplate(job).spec;
    const weight = (o: K8sObject) => Number(o.metadata.annotations?.['helm.sh/hook-weight']);
    const hooks = objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'] !== undefined);
    const jobs = hooks.filter((o) => o.kind === 'Job');
    expect(jobs.map((o) => o.metadata.name.replace(/^.*-sluice-|^sluice-full-/, '')).sort()).toEqual(
      logEnabled ? ['log-migrate', 'topics'] : ['topics'],
    );
    for (const hook of hooks) {
      expect(hook.metadata.annotations?.['helm.sh/hook'], hook.metadata.name).toBe('pre-install,pre-upgrade');
      if (hook.kind !== 'Job') {
        for (const hookJob of jobs) {
          expect(weight(hook), `${hook.kind} ${hook.metadata.name}`).toBeLessThan(weight(hookJob));
        }
      }
    }
    const component = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];
    // Each Job's ServiceAccount: a hook of its own (the release's does not exist before install).
    const account = hooks.find((o) => o.kind === 'ServiceAccount' && component(o) === 'topics');
    expect(account?.metadata.name).toBe(jobSpec.serviceAccountName);
    expect(gateway.spec.serviceAccountName).not.toBe(jobSpec.serviceAccountName);
    if (migrateJob) {
      const migrateAccount = hooks.find((o) => o.kind === 'ServiceAccount' && component(o) === 'log-migrate');
      expect(migrateAccount?.metadata.name).toBe(podTemplate(migrateJob).spec.serviceAccountName);
    }
    // Every Secret they read is a hook of their own or one that exists outside the release.
    const releaseSecrets = objects
      .filter((o) => o.kind === 'Secret' && !hooks.includes(o))
      .map((o) => o.metadata.name);
    for (const variable of jobs.flatMap((o) => allContainers(podTemplate(o))).flatMap((c) => c.env ?? [])) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref) expect(releaseSecrets, variable.name).not.toContain(ref.name);
    }
    // Every ConfigMap it mounts is a hook of its own or one that exists outside the release.
    const releaseConfigMaps = objects
      .filter((o) => o.kind === 'ConfigMap' && !hooks.includes(o))
      .map((o) => o.metadata.name);
    for (const source of (jobSpec.volumes ?? []).flatMap((v) => v.projected?.sources ?? [])) {
      if (source.configMap) expect(releaseConfigMaps).not.toContain(source.configMap.name);
    }
    const hookSecret = hooks.find((o) => o.kind === 'Secret' && component(o) === 'topics');
    if (valuesFile === 'full-values.yaml') {
      // Inline SASL credentials: copied into the Job's own Secret.
      for (const container of allContainers(podTemplate(job))) {
        expect(env(container, 'SLUICE_KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe(
          hookSecret?.metadata.name,
        );
      }
      expect(Object.keys(hookSecret?.data ?? {}).sort()).toEqual([
        'kafka-sasl-password',
        'kafka-sasl-username',
      ]);
      expect(hooks.map((o) => `${o.kind} ${component(o)}`).sort()).toEqual([
        'ConfigMap topics',
        'Job log-migrate',
        'Job topics',
        'NetworkPolicy log-migrate',
        'NetworkPolicy topics',
        'Secret log-migrate',
        'Secret topics',
        'ServiceAccount log-migrate',
        'ServiceAccount topics',
      ]);
    } else {
      expect(hookSecret).toBeUndefined();
    }
  });

  it('imports event types after ensuring the topics exactly when schemas.import asks, from a read-only mount', () => {
    const pod = podTemplate(job);
    const schemasVolume = pod.spec.volumes?.find((v) => v.name === 'schemas');
    const inlineConfigMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-schemas'),
    );
    if (valuesFile === 'minimal-values.yaml') {
      // Off by default: the Job is `sluice topics ensure` alone, with nothing mounted for it.
      expect(pod.spec.initContainers).toBeUndefined();
      expect(pod.spec.containers.map((c) => c.name)).toEqual(['topics']);
      expect(schemasVolume).toBeUndefined();
      expect(inlineConfigMap).toBeUndefined();
      expect(manifests).not.toContain('/etc/sluice/schemas');
      return;
    }
    // Init containers run in order and the Job's container only after them: ensure, then import.
    expect(pod.spec.initContainers?.map((c) => c.name)).toEqual(['topics']);
    expect(pod.spec.containers.map((c) => c.name)).toEqual(['schemas']);
    const importer = jobContainer(job, 'schemas')!;
    expect(importer.volumeMounts).toContainEqual({
      name: 'schemas',
      mountPath: '/etc/sluice/schemas',
      readOnly: true,
    });
    expect(jobContainer(job, 'topics')!.volumeMounts?.map((m) => m.name)).not.toContain('schemas');
    const sources = schemasVolume?.projected?.sources.map((source) => source.configMap?.name);
    if (valuesFile === 'full-values.yaml') {
      expect(importer.args).toEqual(['schemas', 'import', '--examples', '/etc/sluice/schemas']);
      expect(sources).toEqual(['shop-event-types', 'sluice-full-schemas']);
      // The inline files: a hook ConfigMap created before the Job, keyed by file name.
      expect(inlineConfigMap?.metadata.name).toBe('sluice-full-schemas');
      expect(inlineConfigMap?.metadata.annotations?.['helm.sh/hook-weight']).toBe('-10');
      expect(Object.keys(inlineConfigMap?.data ?? {}).sort()).toEqual([
        'shipment.delayed__v1.avsc',
        'shipment.delayed__v2.avsc',
      ]);
      // A schema written as YAML arrives as the JSON of an .avsc file.
      const v2 = JSON.parse(inlineConfigMap!.data!['shipment.delayed__v2.avsc']!) as {
        fields: { name: string; default?: unknown }[];
      };
      expect(v2.fields.at(-1)).toEqual({ name: 'delayMinutes', type: 'int', default: 0 });
    } else {
      expect(importer.args).toEqual(['schemas', 'import', '/etc/sluice/schemas']);
      expect(sources).toEqual(['sluice-event-types']);
      expect(inlineConfigMap).toBeUndefined();
    }
  });

  it('spreads gateway and delivery replicas over nodes and zones, counting only this release', () => {
    for (const [component, pod] of [
      ['gateway', gateway],
      ['delivery', delivery],
    ] as const) {
      const constraints = pod.spec.topologySpreadConstraints ?? [];
      expect(constraints.map((c) => c.topologyKey).sort(), component).toEqual([
        'kubernetes.io/hostname',
        'topology.kubernetes.io/zone',
      ]);
      for (const constraint of constraints) {
        expect(constraint.labelSelector?.matchLabels).toEqual({
          'app.kubernetes.io/name': 'sluice',
          'app.kubernetes.io/instance': 'shop',
          'app.kubernetes.io/component': component,
        });
        expect(pod.metadata.labels).toMatchObject(constraint.labelSelector!.matchLabels!);
        if (constraint.topologyKey === 'kubernetes.io/hostname') {
          expect(constraint.whenUnsatisfiable).toBe('ScheduleAnyway');
        }
      }
    }
  });

  it('prints NOTES with URLs whose scheme matches how the gateway is reached, and a curl body the gateway accepts', async () => {
    const notes = await renderNotes(valuesFile);
    const body = /-d '([^']*)'/.exec(notes)?.[1];
    expect(body, notes).toBeDefined();
    const event = JSON.parse(body!) as { type: string; key: string; data: unknown };
    const schema = loadSchemaCatalog().latest(event.type);
    expect(schema, event.type).toBeDefined();
    expect(encodeEvent(schema!, event.data)).toMatchObject({ ok: true });
    const urls = [...notes.matchAll(/\bhttps?:\/\/[^\s'"]+/g)].map((m) => new URL(m[0]));
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url.port === '443' && url.protocol === 'http:', url.href).toBe(false);
      expect(url.port === '80' && url.protocol === 'https:', url.href).toBe(false);
    }
    const curlUrl = /-d '[^']*' \\\n\s+(\S+)/.exec(notes)?.[1];
    if (valuesFile === 'full-values.yaml') {
      expect(curlUrl).toBe('https://events.example.com/v1/events');
    } else {
      expect(curlUrl).toBe('http://127.0.0.1:8080/v1/events');
      expect(notes).toContain('port-forward svc/shop-sluice-gateway 8080:8080');
    }
  });

  if (valuesFile === 'full-values.yaml') {
    it('scales delivery with KEDA on the lag of its own consumer group and events topic', () => {
      const scaled = find(objects, 'ScaledObject', '-delivery');
      const spec = scaled.spec as {
        scaleTargetRef: { name: string };
        maxReplicaCount: number;
        fallback: { replicas: number };
        triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
      };
      const deliveryDeployment = find(objects, 'Deployment', '-delivery');
      expect(spec.scaleTargetRef.name).toBe(deliveryDeployment.metadata.name);
      expect(deliveryDeployment.spec?.replicas).toBeUndefined();
      expect(spec.fallback.replicas).toBeGreaterThan(0);
      const container = delivery.spec.containers[0]!;
      const [trigger] = spec.triggers;
      expect(trigger!.type).toBe('kafka');
      expect(trigger!.metadata).toMatchObject({
        consumerGroup: envValue(container, 'SLUICE_DELIVERY_GROUP_ID'),
        topic: envValue(container, 'SLUICE_EVENTS_TOPIC'),
        bootstrapServers: envValue(container, 'SLUICE_KAFKA_BROKERS'),
        sasl: 'scram_sha512',
        tls: 'enable',
      });
      expect(spec.maxReplicaCount).toBeLessThanOrEqual(
        Number(envValue(container, 'SLUICE_EVENTS_PARTITIONS')),
      );
      const auth = find(objects, 'TriggerAuthentication', '-delivery');
      expect(trigger!.authenticationRef?.name).toBe(auth.metadata.name);
      // No CPU HPA beside KEDA's own.
      expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toHaveLength(1);
    });

    it('trusts the Kafka CA from its Secret and passes settings through by name', () => {
      for (const container of [gateway, delivery, podTemplate(job)].flatMap(allContainers)) {
        const caFile = envValue(container, 'NODE_EXTRA_CA_CERTS')!;
        expect(container.volumeMounts?.some((m) => caFile.startsWith(`${m.mountPath}/`))).toBe(true);
        expect(envValue(container, 'SLUICE_KAFKA_REQUEST_TIMEOUT_MS')).toBe('15s');
      }
      const gatewayContainer = gateway.spec.containers[0]!;
      expect(envValue(gatewayContainer, 'SLUICE_RATE_LIMIT_MODE')).toBe('redis');
      // Whole numbers stay integers (helm reads YAML numbers as floats: 1e+06 otherwise).
      expect(envValue(gatewayContainer, 'SLUICE_RATE_LIMIT_MAX_KEYS')).toBe('1000000');
      expect(envValue(gatewayContainer, 'SLUICE_SHED_FRACTION_BULK')).toBe('0.4');
      expect(envValue(delivery.spec.containers[0]!, 'SLUICE_DEDUP_FAILURE_MODE')).toBe('closed');
      expect(envValue(delivery.spec.containers[0]!, 'SLUICE_RATE_LIMIT_MODE')).toBeUndefined();
    });

    it('ships the alert rules, the dashboard and a ServiceMonitor that keeps the processes\u2019 labels', () => {
      const monitor = find(objects, 'ServiceMonitor', 'sluice-full');
      const monitorSpec = monitor.spec as {
        jobLabel: string;
        endpoints: { port: string; honorLabels: boolean }[];
      };
      expect(monitorSpec.jobLabel).toBe('sluice-job');
      expect(monitorSpec.endpoints).toEqual([expect.objectContaining({ port: 'admin', honorLabels: true })]);

      const rule = find(objects, 'PrometheusRule', 'sluice-full');
      const groups = (
        rule.spec as { groups: { rules: { alert: string; labels: Record<string, string> }[] }[] }
      ).groups;
      const alerts = groups.flatMap((g) => g.rules);
      const source = readFileSync(join(chartDir, 'alerts', 'sluice-alerts.yaml'), 'utf8');
      const sourceAlerts = [...source.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);
      expect(alerts.map((a) => a.alert)).toEqual(sourceAlerts.filter((name) => name !== 'SluiceDeadLetters'));
      for (const alert of alerts) {
        expect(alert.labels.team).toBe('payments');
        expect(alert.labels.severity).toMatch(/^(warning|critical)$/);
      }

      const dashboard = find(objects, 'ConfigMap', '-dashboard');
      expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
      expect(JSON.parse(dashboard.data!['sluice-overview.json']!)).toEqual(
        JSON.parse(readFileSync(join(chartDir, 'dashboards', 'sluice-overview.json'), 'utf8')),
      );
    });

    it('routes the Ingress, with TLS, to the public Service', () => {
      const ingress = find(objects, 'Ingress', '-gateway');
      const spec = ingress.spec as {
        ingressClassName: string;
        tls: { hosts: string[]; secretName: string }[];
        rules: {
          host: string;
          http: { paths: { path: string; backend: { service: { name: string; port: { name: string } } } }[] };
        }[];
      };
      expect(spec.ingressClassName).toBe('nginx');
      expect(spec.tls).toEqual([{ hosts: ['events.example.com'], secretName: 'events-example-com-tls' }]);
      const [rule] = spec.rules;
      expect(rule!.host).toBe('events.example.com');
      expect(rule!.http.paths[0]!.backend.service).toEqual({
        name: find(objects, 'Service', '-gateway').metadata.name,
        port: { name: 'http' },
      });
    });

    it('restricts traffic with NetworkPolicies: public port, admin port, and egress to Kafka, Redis, DNS, PostgreSQL, the schema registry and webhooks', () => {
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
      expect(policies.map((p) => p.metadata.name.replace('sluice-full-', '')).sort()).toEqual([
        'delivery',
        'gateway',
        'log',
        'log-migrate',
        'topics',
      ]);
      type Egress = { ports: { port: number }[]; to?: { ipBlock?: { cidr: string } }[] }[];
      const egressOf = (suffix: string) =>
        (find(objects, 'NetworkPolicy', suffix).spec as { egress: Egress }).egress;
      /** Each egress rule as "cidr:port" (or "any:port"), DNS left out. */
      const destinations = (suffix: string) =>
        egressOf(suffix)
          .filter((rule) => !rule.ports.some((p) => p.port === 53))
          .flatMap((rule) => rule.ports.map((p) => `${rule.to?.[0]?.ipBlock?.cidr ?? 'any'}:${p.port}`))
          .sort();
      const kafka = '10.20.0.0/16:9096';
      const redis = '10.30.0.0/16:6380';
      const postgres = '10.40.0.0/16:5432';
      // The registry's port comes from schemaRegistry.url (https://schema-registry.example.com:8443).
      const registry = '10.50.0.0/16:8443';
      expect(destinations('-gateway')).toEqual([kafka, redis, postgres, registry].sort());
      expect(destinations('-delivery')).toEqual(
        [kafka, redis, registry, '0.0.0.0/0:443', '0.0.0.0/0:80'].sort(),
      );
      expect(destinations('-log')).toEqual([kafka, postgres].sort());
      expect(destinations('-log-migrate')).toEqual([postgres]);
      // The topics Job imports event types into the external registry.
      expect(destinations('-topics')).toEqual([kafka, registry].sort());
      for (const suffix of ['-gateway', '-delivery', '-log', '-log-migrate', '-topics']) {
        expect(
          egressOf(suffix).some((rule) => rule.ports.some((p) => p.port === 53)),
          suffix,
        ).toBe(true);
      }
      const gatewayPolicy = find(objects, 'NetworkPolicy', '-gateway').spec as {
        ingress: { ports: { port: string }[] }[];
        egress: { ports: { port: number }[] }[];
      };
      expect(gatewayPolicy.ingress.flatMap((rule) => rule.ports.map((p) => p.port))).toEqual([
        'http',
        'admin',
      ]);
      const egressPorts = gatewayPolicy.egress.flatMap((rule) => rule.ports.map((p) => p.port));
      expect(egressPorts).toEqual(expect.arrayContaining([53, 9096, 6380]));
      const deliveryPolicy = find(objects, 'NetworkPolicy', '-delivery').spec as {
        egress: { to?: { ipBlock?: { cidr: string; except?: string[] } }[] }[];
      };
      const webhooks = deliveryPolicy.egress.find((rule) => rule.to?.[0]?.ipBlock?.cidr === '0.0.0.0/0');
      expect(webhooks?.to?.[0]?.ipBlock?.except).toContain('169.254.0.0/16');
    });
  }
});

describe('helm chart values are checked', () => {
  it('rejects a misspelt key with the schema (additionalProperties: false)', async () => {
    const result = await renderChart('minimal-values.yaml', ['gateway.replicaCont=3']);
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(/additional properties 'replicaCont' not allowed/);
  });

  it('rejects a misspelt Sluice setting in a pass-through config map', async () => {
    const result = await renderChart('minimal-values.yaml', ['gateway.config.SLUICE_PRODUCE_TIMOUT_MS=1s']);
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(/SLUICE_PRODUCE_TIMOUT_MS/);
  });

  it('rejects a setting the chart manages itself when passed through (it would fight the chart)', async () => {
    const result = await renderChart('minimal-values.yaml', ['config.SLUICE_ADMIN_PORT=9000']);
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(/SLUICE_ADMIN_PORT/);
  });

  it('rejects a value of the wrong type or shape', async () => {
    const wrongType = await renderChart('minimal-values.yaml', ['topics.eventsPartitions=many']);
    expect(wrongType.ok).toBe(false);
    const badBroker = await renderChart('minimal-values.yaml', ['kafka.brokers[0]=no-port']);
    expect(badBroker.ok).toBe(false);
    expect(badBroker.stderr).toMatch(/kafka\/brokers/);
  });

  it('lists every missing required value at once', async () => {
    const result = await helm(['template', 'shop', chartDir]);
    expect(result.ok).toBe(false);
    for (const field of ['image.repository', 'kafka.brokers', 'redis.url', 'secretsKeys', 'apiKeys']) {
      expect(result.stderr).toContain(field);
    }
  });

  it('refuses to install without an image, telling how to build and push one', async () => {
    // Nobody publishes a Sluice image: a default would resolve to docker.io/library/sluice and
    // leave the pods in ImagePullBackOff instead of failing the install.
    const result = await renderChart('minimal-values.yaml', ['image.repository=']);
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(/image\.repository is required/);
    expect(result.stderr).toMatch(/docker build -t registry\.example\.com\/sluice:0\.1\.0 \./);
    expect(result.stderr).toMatch(/docker push registry\.example\.com\/sluice:0\.1\.0/);
  });

  it('refuses, in kube-strict, a rendered object with an unknown field or a bad label', async () => {
    const result = await renderChart('minimal-values.yaml', [
      // Pass-through Kubernetes objects the schema does not check.
      'gateway.affinity.nodeAfinity.requiredDuringSchedulingIgnoredDuringExecution=x',
      'delivery.podLabels.team/payments/eu=x',
    ]);
    expect(result.ok).toBe(true);
    const decoded = await decodeStrictly(result.stdout);
    expect(decoded.ok).toBe(false);
    expect(decoded.stderr).toContain(
      'kube-strict: Deployment/shop-sluice-gateway (sluice/templates/gateway-deployment.yaml): strict decoding error: unknown field "spec.template.spec.affinity.nodeAfinity"',
    );
    expect(decoded.stderr).toMatch(
      /Deployment\/shop-sluice-delivery .*spec\.template\.metadata\.labels: Invalid value: "team\/payments\/eu"/,
    );
    expect(decoded.stderr).toContain('kube-strict: 2 problem(s) in 11 object(s)');
  });

  it('keeps the HPA KEDA derives from the ScaledObject within 63 characters for the longest release name', async () => {
    // Helm allows 53 characters; the full name adds "-sluice", the ScaledObject "-delivery", KEDA "keda-hpa-".
    const releaseName = 'payments-events-gateway-production-europe-west-prima';
    const result = await renderChart('full-values.yaml', ['fullnameOverride='], { releaseName });
    expect(result.ok).toBe(true);
    const objects = await parseManifests(result.stdout);
    const scaled = find(objects, 'ScaledObject', '-delivery');
    expect(`keda-hpa-${scaled.metadata.name}`.length).toBeLessThanOrEqual(63);
    expect(scaled.metadata.name.startsWith(releaseName.slice(0, 40))).toBe(true);
    // The Deployment it scales keeps its own (longer) name.
    const target = (scaled.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name;
    expect(find(objects, 'Deployment', '-delivery').metadata.name).toBe(target);
    expect(target.length).toBeGreaterThan(scaled.metadata.name.length);
    // kube-strict checks the derived name too.
    expect((await decodeStrictly(result.stdout)).ok).toBe(true);
  });

  it('imports the example catalog alone without mounting anything', async () => {
    const result = await renderChart('minimal-values.yaml', [
      'schemas.import.enabled=true',
      'schemas.import.examples=true',
    ]);
    expect(result.stderr).toBe('');
    const objects = await parseManifests(result.stdout);
    const pod = podTemplate(find(objects, 'Job', '-topics'));
    expect(pod.spec.containers[0]!.args).toEqual(['schemas', 'import', '--examples']);
    expect(pod.spec.volumes?.map((v) => v.name)).toEqual(['tmp']);
    expect((await decodeStrictly(result.stdout)).ok).toBe(true);
  });

  it('refuses a schema import with nothing to import, or without the topics Job that runs it', async () => {
    const empty = await renderChart('minimal-values.yaml', ['schemas.import.enabled=true']);
    expect(empty.ok).toBe(false);
    expect(empty.stderr).toContain(
      'schemas.import.enabled needs something to import: schemas.import.examples, schemas.import.configMap or schemas.import.files',
    );
    const noJob = await renderChart('minimal-values.yaml', [
      'schemas.import.enabled=true',
      'schemas.import.configMap=event-types',
      'topicsJob.enabled=false',
    ]);
    expect(noJob.ok).toBe(false);
    expect(noJob.stderr).toContain('schemas.import.enabled needs topicsJob.enabled');
  });

  it('refuses an inline schema file the importer would not read as <type>[__v<N>].avsc', async () => {
    for (const name of ['shipment/delayed.avsc', 'Shipment.Delayed.avsc', 'shipment.delayed.json']) {
      const result = await renderChart('minimal-values.yaml', [], {
        setJson: [`schemas.import.files=${JSON.stringify({ [name]: '{}' })}`],
      });
      expect(result.ok, name).toBe(false);
      expect(result.stderr, name).toContain(`invalid propertyName '${name}'`);
    }
  });

  it('refuses a termination grace period that would cut the drain short', async () => {
    const result = await renderChart('minimal-values.yaml', ['gateway.terminationGracePeriodSeconds=15']);
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(/gateway.terminationGracePeriodSeconds \(15\) must exceed/);
  });

  it('refuses the delivery log without a database, or with a URL that is not postgres://', async () => {
    const none = await renderChart('minimal-values.yaml', ['log.enabled=true']);
    expect(none.ok).toBe(false);
    expect(none.stderr).toContain('log.enabled needs log.database.url or log.database.existingSecret');
    const mysql = await renderChart('minimal-values.yaml', [
      'log.enabled=true',
      'log.database.url=mysql://db/sluice',
    ]);
    expect(mysql.ok).toBe(false);
    expect(mysql.stderr).toMatch(/log\/database\/url/);
  });

  it('leaves the migrate Job out with log.migrate.enabled=false, and keeps the log and the gateway wired', async () => {
    const result = await renderChart('minimal-values.yaml', [
      'log.enabled=true',
      'log.database.existingSecret=sluice-log-database',
      'log.migrate.enabled=false',
      'networkPolicy.enabled=true',
      'networkPolicy.egress.enabled=true',
    ]);
    expect(result.stderr).toBe('');
    const objects = await parseManifests(result.stdout);
    expect(objects.filter((o) => o.kind === 'Job').map((o) => o.metadata.name)).toEqual([
      'shop-sluice-topics',
    ]);
    expect(objects.some((o) => o.metadata.name.endsWith('-log-migrate'))).toBe(false);
    const logPod = podTemplate(find(objects, 'Deployment', '-log'));
    const gatewayPod = podTemplate(find(objects, 'Deployment', '-gateway'));
    for (const pod of [logPod, gatewayPod]) {
      expect(env(pod.spec.containers[0]!, 'SLUICE_LOG_DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
        name: 'sluice-log-database',
        key: 'log-database-url',
      });
    }
    expect(
      env(
        podTemplate(find(objects, 'Deployment', '-delivery')).spec.containers[0]!,
        'SLUICE_LOG_DATABASE_URL',
      ),
    ).toBeUndefined();
    expect((await decodeStrictly(result.stdout)).ok).toBe(true);
  });

  it('lets pods reach an external schema registry on its URL\u2019s port, 443 for https without one', async () => {
    const ports = async (url: string) => {
      const result = await renderChart('minimal-values.yaml', [
        `schemaRegistry.url=${url}`,
        'networkPolicy.enabled=true',
        'networkPolicy.egress.enabled=true',
      ]);
      expect(result.stderr).toBe('');
      const policy = find(await parseManifests(result.stdout), 'NetworkPolicy', '-delivery');
      return (policy.spec as { egress: { ports: { port: number }[] }[] }).egress.flatMap((rule) =>
        rule.ports.map((p) => p.port),
      );
    };
    expect(await ports('https://registry.example.com')).toContain(443);
    expect(await ports('http://registry.example.com:8081/apis/ccompat/v7')).toContain(8081);
    // Sluice's own registry is the schemas topic: nothing beyond Kafka.
    const own = await renderChart('minimal-values.yaml', [
      'networkPolicy.enabled=true',
      'networkPolicy.egress.enabled=true',
    ]);
    const policy = find(await parseManifests(own.stdout), 'NetworkPolicy', '-delivery');
    expect(
      (policy.spec as { egress: { ports: { port: number }[] }[] }).egress
        .flatMap((rule) => rule.ports.map((p) => p.port))
        .sort(),
    ).toEqual([443, 53, 53, 6379, 80, 9092].sort());
  });

  it('refuses more KEDA replicas than events partitions', async () => {
    const result = await renderChart('minimal-values.yaml', [
      'delivery.keda.enabled=true',
      'delivery.keda.maxReplicas=40',
    ]);
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(/delivery.keda.maxReplicas \(40\) above topics.eventsPartitions \(12\)/);
  });
});
