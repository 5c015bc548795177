import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../cli/stack/paths.js';

const run = promisify(execFile);

export const root = repoRoot();
export const chartDir = join(root, 'helm', 'sluice');

/**
 * The pinned helm that scripts/install-helm.sh builds into the cache, else `SLUICE_HELM`, else the
 * one on PATH. Tests run `bash scripts/install-helm.sh` first (npm test does), so this is normally
 * the cached one.
 */
export function helmBinary(): string {
  if (process.env.SLUICE_HELM) return process.env.SLUICE_HELM;
  const cached = join(root, process.env.SLUICE_CACHE_DIR ?? join('.sluice', 'cache'), 'bin', 'helm');
  return existsSync(cached) ? cached : 'helm';
}

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export async function helm(args: string[]): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(helmBinary(), args, {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
      // No repositories, plugins or config of the user's: the chart has no dependencies.
      env: {
        ...process.env,
        HELM_CACHE_HOME: helmHome(),
        HELM_CONFIG_HOME: helmHome(),
        HELM_DATA_HOME: helmHome(),
      },
    });
    return { ok: true, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (failed.code === 'ENOENT')
      throw new Error(`no helm at ${helmBinary()}: run bash scripts/install-helm.sh`);
    return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

/** One fixed, empty home for helm's cache, config and data, so nothing of the user's is read. */
function helmHome(): string {
  const home = join(tmpdir(), 'sluice-helm-home');
  mkdirSync(home, { recursive: true });
  return home;
}

/** `helm template` of the Sluice chart with a values file from ci/ and extra `--set` flags. */
export function renderChart(valuesFile: string, set: string[] = []): Promise<CommandResult> {
  return helm([
    'template',
    'shop',
    chartDir,
    '--namespace',
    'sluice-test',
    '-f',
    join(chartDir, 'ci', valuesFile),
    ...set.flatMap((flag) => ['--set', flag]),
  ]);
}

/** The part of a Kubernetes object these tests read; the rest stays `unknown`. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [field: string]: unknown;
}

// A throw-away chart whose one template reads the rendered manifests as a file, parses every
// document with helm's own YAML parser (fromYaml) and hands them back as base64 JSON. Node has no
// YAML parser and the project has none among its dependencies; this needs nothing but helm.
const yamlToJsonTemplate = `{{- $docs := list }}
{{- range $doc := regexSplit "(?m)^---[ \\t]*$" (.Files.Get "rendered.yaml") -1 }}
{{- $parsed := fromYaml $doc }}
{{- if hasKey $parsed "Error" }}{{ fail (printf "not YAML: %s\\n%s" $parsed.Error $doc) }}{{ end }}
{{- if $parsed }}{{ $docs = append $docs $parsed }}{{ end }}
{{- end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: rendered
data:
  json: {{ $docs | toJson | b64enc | quote }}
`;

/** Parses the YAML stream `helm template` printed into objects, with helm's YAML parser. */
export async function parseManifests(yaml: string): Promise<K8sObject[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-yaml-to-json-'));
  try {
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: yaml-to-json\nversion: 0.0.0\n');
    writeFileSync(join(dir, 'templates', 'json.yaml'), yamlToJsonTemplate);
    writeFileSync(join(dir, 'rendered.yaml'), yaml);
    const result = await helm(['template', 'parse', dir]);
    if (!result.ok) throw new Error(`helm could not parse the manifests:\n${result.stderr}`);
    const encoded = /^\s*json: "([A-Za-z0-9+/=]*)"\s*$/m.exec(result.stdout)?.[1];
    if (encoded === undefined) throw new Error(`unexpected output:\n${result.stdout}`);
    return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as K8sObject[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
