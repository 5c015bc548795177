import { isSluiceError } from '../common/errors.js';
import { checkCatalogCompatibility } from './compatibility.js';
import { checkManifest, findSchemasDir } from './manifest.js';
import { loadSchemaCatalog } from './schema-catalog.js';

/**
 * Everything `sluice schemas check` verifies, as a list of problems (empty when all is well):
 * the manifest layout, that every schema loads under the catalog policy, and that every version
 * reads the previous one's data.
 */
export function checkSchemas(options: { dir?: string } = {}): string[] {
  const dir = options.dir ?? findSchemasDir();
  const problems = checkManifest(dir);
  try {
    problems.push(...checkCatalogCompatibility(loadSchemaCatalog({ dir })));
  } catch (error) {
    const loadProblems = isSluiceError(error, 'SLUICE_CONFIG_INVALID') ? error.details.problems : undefined;
    if (Array.isArray(loadProblems)) problems.push(...loadProblems.map(String));
    else throw error;
  }
  // The manifest check and the loader can both spot the same malformed row.
  return [...new Set(problems)];
}
