import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartDir, root } from './helm.js';

export interface Expression {
  /** Where it comes from: a dashboard panel or an alert. */
  source: string;
  expr: string;
}

/** Grafana's variables as a query would see them, "all namespaces" selected. */
const grafanaVariables: Record<string, string> = {
  $__rate_interval: '1m',
  $__interval: '15s',
  $__range: '1h',
  $namespace: '.*',
};

/** Every query of the shipped dashboard, Grafana variables substituted. */
export function dashboardExpressions(): Expression[] {
  const dashboard = JSON.parse(
    readFileSync(join(chartDir, 'dashboards', 'sluice-overview.json'), 'utf8'),
  ) as {
    panels: { title: string; targets?: { refId: string; expr: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => {
      let expr = target.expr;
      for (const [variable, value] of Object.entries(grafanaVariables))
        expr = expr.replaceAll(variable, value);
      if (expr.includes('$')) throw new Error(`unsubstituted variable in "${panel.title}": ${expr}`);
      return { source: `dashboard "${panel.title}" ${target.refId}`, expr };
    }),
  );
}

/**
 * Every `expr` of the alert rules file. Node has no YAML parser, so this reads the one layout the
 * file uses (`- alert: Name`, then `expr:` on one line or as a `|` block); the Prometheus test also
 * loads the file into Prometheus and checks it counts the same rules.
 */
export function ruleExpressions(): Expression[] {
  const lines = readFileSync(join(chartDir, 'alerts', 'sluice-alerts.yaml'), 'utf8').split('\n');
  const expressions: Expression[] = [];
  let alert = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const name = /^\s*- alert: (\S+)\s*$/.exec(line);
    if (name) alert = name[1]!;
    const expr = /^(\s*)expr: (.*)$/.exec(line);
    if (!expr) continue;
    const indent = expr[1]!.length;
    let text = expr[2]!.trim();
    if (text === '|' || text === '|-') {
      const block: string[] = [];
      while (
        i + 1 < lines.length &&
        (lines[i + 1]!.trim() === '' || /^\s*/.exec(lines[i + 1]!)![0].length > indent)
      ) {
        block.push(lines[++i]!.trim());
      }
      text = block.join(' ').trim();
    }
    expressions.push({ source: `alert ${alert}`, expr: text });
  }
  return expressions;
}

/**
 * The metric names an expression selects: Sluice's, Node's default ones, kube-state-metrics' and
 * Prometheus' `up`. Label matchers and strings are removed first so label values never count.
 */
export function metricNames(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '{}');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:])((?:sluice|nodejs|process|kube)_[a-z0-9_]+|up(?=\{))/g)) {
    names.add(match[1]!);
  }
  return [...names];
}

function sourceFiles(dir: string, files: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, files);
    else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) files.push(path);
  }
  return files;
}

/** The TypeScript files of the processes (tests left out). */
export function runtimeSourceFiles(): string[] {
  return ['common', 'gateway', 'consumers', 'schemas', 'cli', 'log'].flatMap((dir) =>
    sourceFiles(join(root, dir)),
  );
}

/** Metric names the code registers: `name: 'sluice_…'` in prom-client constructors. */
export function sluiceMetricsInCode(): Set<string> {
  const names = new Set<string>();
  for (const file of runtimeSourceFiles()) {
    for (const match of readFileSync(file, 'utf8').matchAll(/name: '(sluice_[a-z0-9_]+)'/g))
      names.add(match[1]!);
  }
  return names;
}

/**
 * Metrics the dashboard and the alert rules already query but the code does not register yet, each
 * with the work that adds it. While a name is missing from the code its queries are only checked to
 * parse and evaluate (like kube-state-metrics'); once the code registers it, it is checked like any
 * other: a series must reach Prometheus.
 */
export const awaitedMetrics: Readonly<Record<string, string>> = {
  sluice_attempt_records_written_total: 'attempt records written by the delivery workers (#16)',
  sluice_attempt_records_dropped_total: 'attempt records the delivery workers dropped, by reason (#16)',
};

/** The awaited metrics the code does not register yet. */
export function metricsNotYetInCode(): string[] {
  const registered = sluiceMetricsInCode();
  return Object.keys(awaitedMetrics).filter((name) => !registered.has(name));
}
