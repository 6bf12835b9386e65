import { existsSync } from 'node:fs';

/**
 * The Chromium the browser tests drive: $TIDEQ_CHROMIUM (set by scripts/setup.sh) or Debian's.
 * Throws with the command that installs it: a missing browser fails the tests, never skips them.
 */
export function chromiumPath(): string {
  const path = process.env.TIDEQ_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}: the browser tests need it. Install it with ` +
        '`apt-get update && apt-get install -y chromium` (or run `./run setup`), or set TIDEQ_CHROMIUM to a Chromium binary.',
    );
  }
  return path;
}

/** Flags that make Debian's headless Chromium quiet and deterministic here (see RECIPES.md). */
export const chromiumArgs = ['--disable-gpu', '--disable-quic'];
