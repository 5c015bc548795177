import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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

export interface RenderOptions {
  /** `--set-json` flags, for values with commas or quotes (API key lines). */
  setJson?: string[];
  /** Default `shop`. */
  releaseName?: string;
  /** Another chart directory laid out like the Sluice chart (see renderNotes). */
  chart?: string;
}

/** `helm template` of the Sluice chart with a values file from ci/ and extra `--set` flags. */
export function renderChart(
  valuesFile: string,
  set: string[] = [],
  options: RenderOptions = {},
): Promise<CommandResult> {
  return helm([
    'template',
    options.releaseName ?? 'shop',
    options.chart ?? chartDir,
    '--namespace',
    'sluice-test',
    '-f',
    join(chartDir, 'ci', valuesFile),
    ...set.flatMap((flag) => ['--set', flag]),
    ...(options.setJson ?? []).flatMap((flag) => ['--set-json', flag]),
  ]);
}

/**
 * The chart's NOTES.txt as `helm install` would print it. `helm install --dry-run` wants a cluster
 * even in client mode, and `helm template` leaves NOTES out, so this renders a copy of the chart in
 * which NOTES.txt is a named template and a ConfigMap carries its output.
 */
export async function renderNotes(valuesFile: string, set: string[] = []): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-notes-'));
  try {
    const copy = join(dir, 'sluice');
    cpSync(chartDir, copy, { recursive: true });
    const notes = readFileSync(join(copy, 'templates', 'NOTES.txt'), 'utf8');
    rmSync(join(copy, 'templates', 'NOTES.txt'));
    writeFileSync(
      join(copy, 'templates', '_notes.tpl'),
      `{{- define "sluice.test.notes" -}}\n${notes}{{- end }}\n`,
    );
    writeFileSync(
      join(copy, 'templates', 'notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "sluice.test.notes" . | toJson }}\n',
    );
    const rendered = await renderChart(valuesFile, [...set], { chart: copy });
    if (!rendered.ok) throw new Error(`helm could not render NOTES.txt:\n${rendered.stderr}`);
    const [configMap] = (await parseManifests(rendered.stdout)).filter((o) => o.metadata.name === 'notes');
    return configMap!.data!.notes!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

const kubeStrictDir = join(root, 'test', 'deploy', 'kube-strict');

/** Go on PATH, else where the Go tarball installs it. */
function goBinary(): string {
  if (process.env.SLUICE_GO) return process.env.SLUICE_GO;
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, 'go')));
  return onPath ? 'go' : '/usr/local/go/bin/go';
}

let kubeStrictBuild: Promise<string> | undefined;

/**
 * The path of the kube-strict program (test/deploy/kube-strict), built with Go into the cache once
 * per version of its sources: a rebuild only when main.go, go.mod or go.sum change.
 */
export function kubeStrictBinary(): Promise<string> {
  kubeStrictBuild ??= buildKubeStrict();
  return kubeStrictBuild;
}

async function buildKubeStrict(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of readdirSync(kubeStrictDir).sort()) {
    if (/\.(go|mod|sum)$/.test(file)) hash.update(file).update(readFileSync(join(kubeStrictDir, file)));
  }
  const cacheDir = join(root, process.env.SLUICE_CACHE_DIR ?? join('.sluice', 'cache'), 'kube-strict');
  const binary = join(cacheDir, `kube-strict-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  // Built aside and renamed into place, so an interrupted build never leaves a binary to trust.
  const building = `${binary}.${process.pid}.tmp`;
  const startedMs = Date.now();
  try {
    await run(goBinary(), ['build', '-trimpath', '-ldflags=-s -w', '-o', building, '.'], {
      cwd: kubeStrictDir,
      maxBuffer: 16 * 1024 * 1024,
      // The committed go.sum is the truth (-mod=readonly); no toolchain download.
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
    });
  } catch (error) {
    const failed = error as { code?: unknown; stderr?: string };
    if (failed.code === 'ENOENT') throw new Error(`no Go at ${goBinary()} to build test/deploy/kube-strict`);
    throw new Error(`go build of test/deploy/kube-strict failed:\n${failed.stderr ?? String(error)}`);
  }
  renameSync(building, binary);
  process.stderr.write(`sluice: built kube-strict in ${((Date.now() - startedMs) / 1000).toFixed(1)} s\n`);
  return binary;
}

/** Runs kube-strict on a rendered manifest stream: ok when every object decodes strictly. */
export async function decodeStrictly(manifests: string): Promise<CommandResult> {
  const binary = await kubeStrictBinary();
  return new Promise((resolve) => {
    const child = execFile(binary, [], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ ok: error === null, stdout, stderr });
    });
    child.stdin!.end(manifests);
  });
}
