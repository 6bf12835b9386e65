/** The tarballs packed once per run by the consumers project's global setup (../global-setup.ts). */
import { inject } from 'vitest';

/** The tarballs the project's global setup packed (package name -> path). */
export function packedTarballs(): Record<string, string> {
  const tarballs = inject('tideqTarballs');
  if (tarballs === undefined) {
    throw new Error('no tarballs: run the consumer tests through their vitest project (--project consumers)');
  }
  return tarballs;
}
