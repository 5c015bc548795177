import { execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/postgres-fixture.js';
import { prepareGateway } from '../support/gateway-fixture.js';
import { root } from './helm.js';

// There is no Docker here, so the image is assembled the way the Dockerfile's runtime stage says,
// in a temporary directory: the build stage's `npm run build` output, the production dependencies
// only (the lockfile's non-dev packages, copied from node_modules instead of `npm ci --omit=dev`,
// which would need the network), then every COPY of the runtime stage, its ENV and ENTRYPOINT. The
// compiled CLI then has to work from there, with no TypeScript, tsx or other devDependency around.
// Not covered: the base image, the non-root user and the read-only root filesystem (tests run as
// root here), which only a real `docker build` and a cluster can show.

const run = promisify(execFile);

interface RuntimeStage {
  copies: { from: string | undefined; sources: string[]; dest: string }[];
  env: Record<string, string>;
  entrypoint: string[];
  workdir: string;
  /** Shell commands of the prod-deps stage after `npm ci` (the uWebSockets.js binary pruning). */
  prodDepsCommands: string[];
}

/** The instructions of the Dockerfile, continuation lines joined, comments dropped. */
function instructions(): { stage: string; keyword: string; args: string }[] {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  let stage = '';
  const result: { stage: string; keyword: string; args: string }[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, keyword, args] = match as unknown as [string, string, string];
    if (keyword === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? '';
    result.push({ stage, keyword, args: args.trim() });
  }
  return result;
}

function runtimeStage(): RuntimeStage {
  const stage: RuntimeStage = { copies: [], env: {}, entrypoint: [], workdir: '/', prodDepsCommands: [] };
  for (const { stage: name, keyword, args } of instructions()) {
    if (name === 'prod-deps' && keyword === 'RUN' && !args.includes('npm ci'))
      stage.prodDepsCommands.push(args);
    if (name !== 'runtime') continue;
    switch (keyword) {
      case 'FROM':
      case 'ARG':
      case 'LABEL':
      case 'USER':
      case 'EXPOSE':
      case 'CMD':
        break;
      case 'WORKDIR':
        stage.workdir = args;
        break;
      case 'ENV':
        for (const pair of args.split(/\s+/)) {
          const [key, ...value] = pair.split('=');
          stage.env[key!] = value.join('=');
        }
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = JSON.parse(args) as string[];
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((w) => !w.startsWith('--'));
        stage.copies.push({ from, sources: paths.slice(0, -1), dest: paths.at(-1)! });
        break;
      }
      default:
        throw new Error(`the runtime stage has a ${keyword} this test does not know how to assemble`);
    }
  }
  return stage;
}

/** Copies like COPY: a directory's contents into dest, a file into dest (a directory when it ends in /). */
function copy(source: string, dest: string): void {
  if (statSync(source).isDirectory()) {
    cpSync(source, dest, { recursive: true });
  } else {
    const target = dest.endsWith('/') ? join(dest, basename(source)) : dest;
    mkdirSync(join(target, '..'), { recursive: true });
    cpSync(source, target);
  }
}

/** The lockfile's production packages, as `npm ci --omit=dev` would install them. */
async function productionDependencies(into: string): Promise<void> {
  const listed = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
  );
  const dirs = listed.stdout
    .split('\n')
    .map((line) => relative(root, line.trim()))
    .filter((dir) => dir.startsWith('node_modules'));
  expect(dirs).toContain(join('node_modules', 'kafkajs'));
  for (const dir of dirs) cpSync(join(root, dir), join(into, dir), { recursive: true, dereference: true });
}

describe('the image layout of the Dockerfile', () => {
  let app: string;
  let stage: RuntimeStage;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-image-'));
    stage = runtimeStage();
    const build = join(dir, 'build');
    const prodDeps = join(dir, 'prod-deps');
    app = join(dir, 'app', stage.workdir);
    mkdirSync(app, { recursive: true });
    // The build stage: `npm run build` is `tsc -p tsconfig.build.json` into /app/dist.
    await run('npm', ['run', 'build', '--', '--outDir', join(build, 'dist')], { cwd: root });
    await productionDependencies(prodDeps);
    for (const command of stage.prodDepsCommands) await run('sh', ['-c', command], { cwd: prodDeps });
    const stageDirs: Record<string, string> = { build, 'prod-deps': prodDeps };
    for (const { from, sources, dest } of stage.copies) {
      for (const source of sources) {
        const base = from === undefined ? root : stageDirs[from];
        if (base === undefined) throw new Error(`COPY --from=${from}: unknown stage`);
        const path = from === undefined ? join(base, source) : join(base, relative('/app', source));
        copy(path, join(app, dest) + (dest.endsWith('/') ? '/' : ''));
      }
    }
  }, 180_000);

  afterAll(() => {
    if (app) rmSync(join(app, '..', '..'), { recursive: true, force: true });
  });

  /** Runs the image's ENTRYPOINT with `args`, in a clean environment like a container's. */
  async function sluice(args: string[], env: Record<string, string> = {}) {
    const [command, ...entryArgs] = stage.entrypoint;
    return run(command === 'node' ? process.execPath : command!, [...entryArgs, ...args], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ...stage.env, ...env },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? 1,
        output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    );
  }

  it('holds the compiled CLI, the schemas and production dependencies only', () => {
    expect(stage.entrypoint).toEqual(['node', 'bin/sluice.js']);
    expect(existsSync(join(app, 'dist', 'cli', 'sluice.js'))).toBe(true);
    expect(existsSync(join(app, 'schemas', 'manifest.json'))).toBe(true);
    expect(readdirSync(join(app, 'schemas', 'avro')).length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).type).toBe('module');
    for (const dev of ['tsx', 'typescript', 'vitest', 'eslint']) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    }
    // Only the uWebSockets.js binary this Node loads is kept.
    const binaries = readdirSync(join(app, 'node_modules', 'uWebSockets.js', 'binaries'));
    expect(binaries).toEqual([`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`]);
    expect(existsSync(join(app, 'cli', 'sluice.ts'))).toBe(false);
  });

  it('runs `sluice schemas check` from the compiled output, finding the schemas by walking up', async () => {
    const result = await sluice(['schemas', 'check']);
    expect(result.output).toContain('schema catalog is consistent');
    expect(result.code).toBe(0);
  });

  it('runs `sluice log migrate` from the compiled output, finding the SQL migrations by walking up', async () => {
    const database = await createTestDatabase('sluice_image');
    try {
      const result = await sluice(['log', 'migrate'], { SLUICE_LOG_DATABASE_URL: database.url });
      expect(result.output).toContain('log database migrated');
      expect(result.code).toBe(0);
    } finally {
      await database.drop();
    }
  });

  it('prints its usage by default (CMD --help)', async () => {
    const result = await sluice(['--help']);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/usage: sluice <command>/);
  });

  it('starts `sluice gateway` against the local stack, answers its probes and stops on SIGTERM', async () => {
    const setup = await prepareGateway([{ producerId: 'image-test' }]);
    const [command, ...entryArgs] = stage.entrypoint;
    const child = spawn(command === 'node' ? process.execPath : command!, [...entryArgs, 'gateway'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ...stage.env, ...setup.env, SLUICE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
    try {
      const adminPort = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`gateway did not start:\n${lines.join('\n')}`)),
          30_000,
        );
        createInterface({ input: child.stdout! }).on('line', (line) => {
          lines.push(line);
          let entry: { msg?: string; adminPort?: number };
          try {
            entry = JSON.parse(line) as typeof entry;
          } catch {
            return; // not a log line
          }
          if (entry.msg === 'gateway listening' && entry.adminPort) {
            clearTimeout(timer);
            resolve(entry.adminPort);
          }
        });
        void exited.then((code) => reject(new Error(`gateway exited with ${code}:\n${lines.join('\n')}`)));
      });
      expect((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()).toContain(
        'sluice_http_requests_total',
      );
      // The native server, not the slow fallback uWebSockets.js prints a warning about.
      expect(lines.join('\n')).not.toMatch(/Falling back to a NodeJS implementation/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
