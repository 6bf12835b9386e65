/**
 * The packed tarballs of every publishable package, from scripts/pack.mjs (builds first; cheap
 * when nothing changed). Shared by the consumer tests: one directory per repository checkout in the
 * OS temp dir, so a second test file (or run) reuses the tarballs of the first.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the tarballs of this checkout go: `<tmpdir>/tideq-tarballs-<hash of the repository path>`. */
export const tarballDir = join(
  tmpdir(),
  `tideq-tarballs-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}`,
);

/**
 * Builds and packs every package; resolves to package name -> tarball path. TIDEQ_PACK_NO_BUILD=1
 * packs dist/ as it is (while iterating on a consumer test in a tree someone is mid-edit in).
 */
export function packAll(dest = tarballDir): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        join(repoRoot, 'scripts/pack.mjs'),
        dest,
        ...(process.env.TIDEQ_PACK_NO_BUILD === '1' ? ['--no-build'] : []),
      ],
      {
        cwd: repoRoot,
        timeout: 600_000,
        maxBuffer: 16 << 20,
        // npm (a node script) must run on this Node, not an older one earlier on PATH
        env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` },
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`node scripts/pack.mjs ${dest} failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Record<string, string>);
      },
    );
  });
}
