// The schema fixtures the payloads start from, read from disk by Node (tests, tools); the k6 scripts
// read them with k6's `open` instead (k6/ingest-client.ts).
import { readFileSync } from 'node:fs';
import { loadFixtures, type Fixtures } from './payloads.js';

export function readFixtures(): Fixtures {
  return loadFixtures((path) => JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')));
}
