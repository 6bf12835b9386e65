// The packages `tsc -b` builds, derived from the npm workspaces of the root package.json: every
// workspace with a tsconfig.json that emits (not `noEmit`). Adding a package to `workspaces` is
// all it takes for the build and `npm test` to include it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Workspace folders, relative to `root`, in the order package.json lists them (globs expanded). */
export function workspaceDirs(root) {
  const { workspaces = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const patterns = Array.isArray(workspaces) ? workspaces : (workspaces.packages ?? []);
  const dirs = [];
  for (const pattern of patterns) {
    if (pattern.endsWith('/*')) {
      const parent = pattern.slice(0, -2);
      for (const name of readdirSync(join(root, parent)).sort()) dirs.push(`${parent}/${name}`);
    } else {
      dirs.push(pattern);
    }
  }
  return dirs.filter((dir) => existsSync(join(root, dir, 'package.json')));
}

/** Workspaces whose tsconfig.json emits: what `tsc -b` builds (dist/ with .d.ts). */
export function buildablePackages(root) {
  return workspaceDirs(root).filter((dir) => {
    const file = join(root, dir, 'tsconfig.json');
    if (!existsSync(file)) return false;
    // tsconfig allows comments and trailing commas; strip them before parsing.
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\/|(^|[^:"])\/\/.*$/gm, '$1')
      .replace(/,(\s*[}\]])/g, '$1');
    const config = JSON.parse(text);
    return config.compilerOptions?.noEmit !== true;
  });
}
