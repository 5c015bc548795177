#!/usr/bin/env node
// The `sluice` command. A checkout runs the TypeScript source through tsx (a devDependency), so
// no build step is needed and a stale dist/ can never stand in for the source; the image, which
// ships dist/ and no sources, runs the compiled CLI.
//
// Either way the CLI runs in this process, never in a child: a supervisor that SIGKILLs this pid
// must kill the gateway or worker itself. A launcher with a child would leave the child running,
// orphaned, and uWebSockets.js lets a second process bind the same port (SO_REUSEPORT), so a
// stale gateway would silently take part of the traffic of the next one.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'cli', 'sluice.ts');
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(join(root, 'dist', 'cli', 'sluice.js')).href);
}
