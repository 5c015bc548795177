import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  loadSchemasImportConfig,
  readSchemaFolders,
  schemasImportFolders,
} from '../../cli/schemas-command.js';
import { loadTopicsConfig } from '../../cli/topics-command.js';
import { isSluiceError } from '../../common/errors.js';
import { createLogger } from '../../common/logger.js';
import { loadDeliveryProcessConfig } from '../../consumers/main.js';
import { parseApiKeyStore } from '../../gateway/auth/api-key-store.js';
import { loadGatewayConfig } from '../../gateway/gateway-config.js';
import { loadLogConfig, loadLogDatabaseConfig } from '../../log/log-config.js';
import { findSchemasDir } from '../../schemas/manifest.js';
import { importSchemas } from '../../schemas/registry/import-schemas.js';
import { MemorySchemaRegistry } from '../support/memory-schema-registry.js';
import type { K8sObject } from './helm.js';

// What a Sluice process would do first with the pod the chart renders: build its environment the
// way the kubelet does (values, Secret and ConfigMap references, envFrom), read the files it names
// from their volumes, and run Sluice's own loaders on them. A values file whose pods would exit at
// start-up ("invalid configuration", an API keys file the gateway refuses) fails here, not in a
// cluster as a CrashLoopBackOff; one whose topics Job would fail to import its schemas (a bad file
// name, a schema the registry refuses) fails here rather than the install.

const run = promisify(execFile);

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: KeyRef;
    configMapKeyRef?: KeyRef;
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string };
  };
}
interface EnvFromSource {
  prefix?: string;
  secretRef?: { name: string; optional?: boolean };
  configMapRef?: { name: string; optional?: boolean };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  projected?: { sources: { configMap?: { name: string } }[] };
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
}

/**
 * Stand-ins for Secrets that the ci/ values files name but the chart does not create
 * (`existingSecret`): what an operator puts there, in the form Sluice reads. A values file naming
 * another Secret fails the check until it is added here.
 */
export const existingSecretStandIns: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'sluice-redis': {
    'redis-url': 'redis://redis.sluice.svc:6379/0',
    url: 'rediss://:not-a-real-password@redis.sluice.svc:6380/0',
  },
  'sluice-secrets-keys': {
    'secrets-keys': `k2:${Buffer.alloc(32, 2).toString('base64')},k1:${Buffer.alloc(32, 1).toString('base64')}`,
    keyring: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
  },
  'sluice-api-keys': {
    'api-keys.jsonl': `{"keyHash":"sha256:${'a'.repeat(64)}","producerId":"shop-eu","role":"producer","allowedEventTypes":["order.*"]}\n`,
    'keys.jsonl': `[{"keyHash":"sha256:${'b'.repeat(64)}","producerId":"ops","role":"admin","allowedEventTypes":["*"]}]`,
  },
  'sluice-kafka': { user: 'sluice', pass: 'not-a-real-password' },
  'sluice-log-database': { url: 'postgres://sluice:not-a-real-password@postgres.sluice.svc:5432/sluice' },
};

/** The same for existing ConfigMaps of event types (`schemas.import.configMap`): flat `.avsc` keys. */
export const existingConfigMapStandIns: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'shop-event-types': {
    'return.requested.avsc': JSON.stringify({
      type: 'record',
      name: 'ReturnRequested',
      namespace: 'com.example.returns',
      fields: [
        { name: 'orderId', type: 'string' },
        { name: 'reason', type: ['null', 'string'], default: null },
      ],
    }),
  },
  'sluice-event-types': {
    'shipment.delayed__v1.avsc': JSON.stringify({
      type: 'record',
      name: 'ShipmentDelayed',
      namespace: 'com.example.shipment',
      fields: [{ name: 'shipmentId', type: 'string' }],
    }),
    'shipment.delayed__v2.avsc': JSON.stringify({
      type: 'record',
      name: 'ShipmentDelayed',
      namespace: 'com.example.shipment',
      fields: [
        { name: 'shipmentId', type: 'string' },
        { name: 'delayMinutes', type: 'int', default: 0 },
      ],
    }),
  },
};

/** Reads Secret and ConfigMap keys: the rendered ones first, then the stand-ins. */
class ObjectStore {
  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly configMaps = new Map<string, Record<string, string>>();

  constructor(
    objects: readonly K8sObject[],
    private readonly problems: string[],
  ) {
    for (const object of objects) {
      if (object.kind === 'Secret') {
        const data = Object.entries(object.data ?? {}).map(
          ([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')] as const,
        );
        const stringData = Object.entries((object.stringData as Record<string, string>) ?? {});
        this.secrets.set(object.metadata.name, Object.fromEntries([...data, ...stringData]));
      } else if (object.kind === 'ConfigMap') {
        this.configMaps.set(object.metadata.name, { ...object.data });
      }
    }
  }

  all(kind: 'Secret' | 'ConfigMap', name: string, optional = false): Record<string, string> {
    const rendered = kind === 'Secret' ? this.secrets.get(name) : this.configMaps.get(name);
    const found = rendered ?? (kind === 'Secret' ? existingSecretStandIns : existingConfigMapStandIns)[name];
    if (found === undefined && !optional) {
      this.problems.push(`${kind} ${name} is neither rendered by the chart nor among the test's stand-ins`);
    }
    return { ...found };
  }

  key(kind: 'Secret' | 'ConfigMap', ref: KeyRef): string | undefined {
    const value = this.all(kind, ref.name, ref.optional)[ref.key];
    if (value === undefined && !ref.optional && this.has(kind, ref.name)) {
      this.problems.push(`${kind} ${ref.name} has no key ${ref.key}`);
    }
    return value;
  }

  private has(kind: 'Secret' | 'ConfigMap', name: string): boolean {
    return kind === 'Secret'
      ? this.secrets.has(name) || existingSecretStandIns[name] !== undefined
      : this.configMaps.has(name) || existingConfigMapStandIns[name] !== undefined;
  }
}

/** The container's environment as the kubelet builds it: envFrom first, env over it, `$(VAR)` expanded. */
function containerEnv(container: Container, store: ObjectStore): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const values = source.secretRef
      ? store.all('Secret', source.secretRef.name, source.secretRef.optional)
      : source.configMapRef
        ? store.all('ConfigMap', source.configMapRef.name, source.configMapRef.optional)
        : {};
    for (const [key, value] of Object.entries(values)) env[`${source.prefix ?? ''}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    let value: string | undefined;
    if (from?.secretKeyRef) value = store.key('Secret', from.secretKeyRef);
    else if (from?.configMapKeyRef) value = store.key('ConfigMap', from.configMapKeyRef);
    else if (from?.fieldRef) value = `<${from.fieldRef.fieldPath}>`;
    else if (from?.resourceFieldRef) value = '1';
    else
      value = (variable.value ?? '').replace(/\$\((\w+)\)|\$\$/g, (ref: string, name?: string) =>
        name === undefined ? '$' : (env[name] ?? ref),
      );
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

/** The content of the file at `path` in the container, from the Secret or ConfigMap volume mounted there. */
function fileIn(pod: PodSpec, container: Container, path: string, store: ObjectStore): string | undefined {
  const mount = (container.volumeMounts ?? [])
    .filter((m) => path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const volume = pod.volumes?.find((v) => v.name === mount?.name);
  if (mount === undefined || volume === undefined) return undefined;
  const relative = path.slice(mount.mountPath.replace(/\/$/, '').length + 1);
  const source = volume.secret
    ? { kind: 'Secret' as const, name: volume.secret.secretName, items: volume.secret.items }
    : volume.configMap
      ? { kind: 'ConfigMap' as const, name: volume.configMap.name, items: volume.configMap.items }
      : undefined;
  if (source === undefined) return undefined;
  const key = source.items ? source.items.find((item) => item.path === relative)?.key : relative;
  return key === undefined ? undefined : store.all(source.kind, source.name)[key];
}

/**
 * The files of the ConfigMap (or projected ConfigMaps) mounted at `path`, by file name; undefined
 * when nothing of that kind is mounted there.
 */
function folderIn(
  pod: PodSpec,
  container: Container,
  path: string,
  store: ObjectStore,
): Record<string, string> | undefined {
  const mount = container.volumeMounts?.find(
    (m) => m.mountPath.replace(/\/$/, '') === path.replace(/\/$/, ''),
  );
  const volume = pod.volumes?.find((v) => v.name === mount?.name);
  const names = volume?.configMap
    ? [volume.configMap.name]
    : volume?.projected?.sources.flatMap((source) => (source.configMap ? [source.configMap.name] : []));
  if (names === undefined || names.length === 0) return undefined;
  return Object.assign({}, ...names.map((name) => store.all('ConfigMap', name))) as Record<string, string>;
}

/**
 * What `sluice schemas import <args>` would do with the folders the pod mounts: read them (file
 * names, layouts) and register every schema in an empty registry (policy, record names,
 * compatibility between versions). The examples come from this checkout, as the image ships them.
 */
async function schemasImportProblems(
  pod: PodSpec,
  container: Container,
  store: ObjectStore,
): Promise<string[]> {
  const copies = mkdtempSync(join(tmpdir(), 'sluice-chart-schemas-'));
  // Messages name the folder in the container, not the copy.
  const inContainer = (message: string) =>
    Object.entries(folders).reduce((text, [copy, dir]) => text.replaceAll(copy, dir), message);
  const folders: Record<string, string> = {};
  try {
    const dirs = schemasImportFolders(container.args?.slice(2) ?? []).map((dir, index) => {
      const files = folderIn(pod, container, dir, store);
      // Not a mount: the example catalog, which the image ships as this checkout holds it.
      if (files === undefined) return dir;
      const copy = join(copies, String(index));
      mkdirSync(copy);
      for (const [name, text] of Object.entries(files)) writeFileSync(join(copy, name), text);
      folders[copy] = dir;
      return copy;
    });
    const missing = dirs.filter((dir) => dir !== findSchemasDir() && !(dir in folders));
    if (missing.length > 0) return missing.map((dir) => `${dir} is not a mounted ConfigMap`);
    await importSchemas(new MemorySchemaRegistry(), readSchemaFolders(dirs));
    return [];
  } catch (error) {
    return [`schemas import: ${inContainer((error as Error).message)}`];
  } finally {
    rmSync(copies, { recursive: true, force: true });
  }
}

/** A loader's problems: the list of a SLUICE_CONFIG_INVALID error, or the message of any other. */
function problemsOf(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (error) {
    if (isSluiceError(error, 'SLUICE_CONFIG_INVALID')) {
      return (error.details.problems as string[] | undefined) ?? [error.message];
    }
    return [(error as Error).message];
  }
}

/** Node refuses to start with an option it does not allow in NODE_OPTIONS. */
async function nodeOptionsProblems(env: Record<string, string>): Promise<string[]> {
  if (!env.NODE_OPTIONS) return [];
  try {
    await run(process.execPath, ['-e', ''], { env: { NODE_OPTIONS: env.NODE_OPTIONS } });
    return [];
  } catch (error) {
    return [`NODE_OPTIONS ${env.NODE_OPTIONS}: ${(error as { stderr?: string }).stderr?.trim()}`];
  }
}

export interface StartupProblem {
  /**
   * `gateway`, `delivery`, `topics`, `schemas`, `log`, `log-migrate`, or `chart` for a reference the
   * check could not follow.
   */
  process: string;
  problem: string;
}

/** Init containers too: the topics Job ensures the topics in one before it imports schemas. */
function containersOf(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

const workloads = [
  { kind: 'Deployment', container: 'gateway' },
  { kind: 'Deployment', container: 'delivery' },
  { kind: 'Job', container: 'topics' },
  { kind: 'Job', container: 'schemas' },
  { kind: 'Deployment', container: 'log' },
  { kind: 'Job', container: 'log-migrate' },
] as const;

/**
 * Every problem Sluice's own start-up would report with what the chart rendered: the config loaders
 * of the gateway, the delivery workers, `sluice topics ensure`, `sluice schemas import`, `sluice log`
 * and `sluice log migrate`, the
 * gateway's API keys file, the schemas the Job would import, the log level and NODE_OPTIONS. Empty
 * when every process would start.
 */
export async function sluiceStartupProblems(objects: readonly K8sObject[]): Promise<StartupProblem[]> {
  const referenceProblems: string[] = [];
  const store = new ObjectStore(objects, referenceProblems);
  const found: StartupProblem[] = [];
  for (const { kind, container: containerName } of workloads) {
    const pods = objects
      .filter((o) => o.kind === kind)
      .map((o) => (o.spec as { template: { spec: PodSpec } }).template.spec)
      .filter((pod) => containersOf(pod).some((c) => c.name === containerName));
    for (const pod of pods) {
      const container = containersOf(pod).find((c) => c.name === containerName)!;
      const env = containerEnv(container, store);
      const problems: string[] = [];
      if (containerName === 'gateway') {
        problems.push(...problemsOf(() => loadGatewayConfig(env)));
        const keysFile = env.SLUICE_API_KEYS_FILE;
        const keys = keysFile === undefined ? undefined : fileIn(pod, container, keysFile, store);
        if (keysFile !== undefined && keys === undefined) {
          problems.push(`SLUICE_API_KEYS_FILE ${keysFile} is not a file of a mounted Secret or ConfigMap`);
        } else if (keys !== undefined) {
          problems.push(...problemsOf(() => parseApiKeyStore(keys, `SLUICE_API_KEYS_FILE ${keysFile}`)));
        }
      } else if (containerName === 'delivery') {
        problems.push(...problemsOf(() => loadDeliveryProcessConfig(env)));
      } else if (containerName === 'log') {
        problems.push(...problemsOf(() => loadLogConfig(env)));
      } else if (containerName === 'log-migrate') {
        problems.push(...problemsOf(() => loadLogDatabaseConfig(env)));
      } else if (containerName === 'schemas') {
        problems.push(...problemsOf(() => loadSchemasImportConfig(env)));
        problems.push(...(await schemasImportProblems(pod, container, store)));
      } else {
        problems.push(...problemsOf(() => loadTopicsConfig(env)));
      }
      const level = env.SLUICE_LOG_LEVEL ?? 'info';
      const levelProblems = problemsOf(() => createLogger(`sluice-${containerName}`, level));
      problems.push(...levelProblems.map((problem) => `SLUICE_LOG_LEVEL ${level}: ${problem}`));
      problems.push(...(await nodeOptionsProblems(env)));
      found.push(...problems.map((problem) => ({ process: containerName, problem })));
    }
  }
  found.push(...[...new Set(referenceProblems)].map((problem) => ({ process: 'chart', problem })));
  return found;
}
