// The public names of @tideq/edge and its runtime adapters (subpath exports), pinned: adding or
// removing an export is a decision, made by editing these lists (and the README), never an accident.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { publicNames } from '../../core/test/support/public-names.js';

const entry = (path: string) => fileURLToPath(new URL(path, import.meta.url));

describe('public API', () => {
  it('publishes exactly the entry points pinned below', () => {
    const manifest = JSON.parse(readFileSync(entry('../package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    expect(Object.keys(manifest.exports).sort()).toEqual(['.', './bun', './deno', './node', './vercel']);
  });

  it('@tideq/edge', async () => {
    expect(await publicNames(entry('../src/index.ts'))).toEqual({
      values: ['SIGNATURE_HEADER', 'createEdgeHandler', 'signRequest', 'webhookDelivery'],
      types: [
        'AuthOptions',
        'DrainBudget',
        'DrainReport',
        'EdgeHandler',
        'EdgeHandlerOptions',
        'ErrorBody',
        'WaitUntil',
        'WebhookOptions',
      ],
    });
  }, 60_000);

  // Each adapter is one function; the types it uses come from the main entry.
  it.each([
    ['@tideq/edge/bun', '../src/adapters/bun.ts', ['serveBun']],
    ['@tideq/edge/deno', '../src/adapters/deno.ts', ['serveDeno']],
    ['@tideq/edge/node', '../src/adapters/node.ts', ['serveNode', 'toNodeListener']],
    ['@tideq/edge/vercel', '../src/adapters/vercel.ts', ['toVercelEdge']],
  ])(
    '%s',
    async (_name, file, values) => {
      expect(await publicNames(entry(file))).toEqual({ values, types: [] });
    },
    60_000,
  );
});
