/**
 * Consumer smoke test (c): a Cloudflare-style worker project outside the repository, installed
 * from the packed @tideq/core and @tideq/edge tarballs (nothing linked), bundled by its own
 * `wrangler deploy --dry-run --outdir`, and exactly those files run in workerd (Miniflare):
 * signed and bearer HTTP enqueues, a drain over HTTP and one from the cron trigger, the results
 * the handlers computed, a dead letter, errors as JSON. Twice: with the .wasm imported as the
 * README writes it (`@tideq/core/tideq_core.wasm`) and through `@tideq/core/wasm`.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsumerProject,
  installConsumer,
  pick,
  REPO_ROOT,
  scratchDir,
  toolEnv,
} from './support/offline-consumer.ts';
import { packAll } from './support/pack.ts';

const template = fileURLToPath(new URL('./fixtures/edge-worker/', import.meta.url));
const KEY = 'consumer-key-0123456789abcdef';
const TOKEN = 'consumer-token-0123456789abcdef';
const scratch = scratchDir('tideq-consumer-workerd-');
let app: ConsumerProject | undefined;
type Sign = (request: {
  method: string;
  url: string;
  body?: string;
  key: string;
}) => Promise<Record<string, string>>;
let signRequest: Sign | undefined;

beforeAll(async () => {
  const tarballs = pick(await packAll(), ['@tideq/core', '@tideq/edge']);
  app = await installConsumer({
    template,
    dir: join(scratch.dir, 'worker'),
    tarballs,
    thirdParty: ['wrangler'],
  });
  // The client side signs with the installed package too (its Node entry).
  const edge = join(app.dir, 'node_modules/@tideq/edge/dist/index.js');
  ({ signRequest } = (await import(/* @vite-ignore */ pathToFileURL(edge).href)) as { signRequest: Sign });
}, 600_000);

afterAll(() => scratch.remove());

/** `wrangler deploy --dry-run --outdir <out>` in the consumer project: the files wrangler would upload. */
async function wranglerBundle(config: string, out: string): Promise<{ script: string; wasm: string }> {
  const env = { ...toolEnv(), WRANGLER_SEND_METRICS: 'false', CI: 'true' };
  await app!.exec('wrangler/bin/wrangler.js', ['deploy', '--dry-run', '--outdir', out, '-c', config], {
    env,
    timeoutMs: 180_000,
  });
  const files = readdirSync(out);
  const script = files.find((f) => f.endsWith('.js'));
  const wasm = files.filter((f) => f.endsWith('.wasm'));
  expect(script, `wrangler wrote ${files.join(', ')}`).toBeDefined();
  // One .wasm module next to the script, not inlined into it.
  expect(wasm, `wrangler wrote ${files.join(', ')}`).toHaveLength(1);
  return { script: join(out, script!), wasm: join(out, wasm[0]!) };
}

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON came back
  body: any;
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; sign?: boolean; token?: boolean } = {},
): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${TOKEN}`;
  if (options.sign)
    Object.assign(headers, await signRequest!({ method, url: `${base}${path}`, body, key: KEY }));
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed };
}

describe('a worker installed from the tarballs, bundled by wrangler, in workerd', () => {
  it('installs real copies of the packages, outside the repository', () => {
    const dir = app!.dir;
    expect(realpathSync(dir).startsWith(realpathSync(REPO_ROOT))).toBe(false);
    for (const name of ['@tideq/core', '@tideq/edge']) {
      const installed = join(dir, 'node_modules', name);
      expect(lstatSync(installed).isSymbolicLink(), `${name} is linked`).toBe(false);
      expect(existsSync(join(installed, 'package.json'))).toBe(true);
    }
  });

  it.each([
    ['wrangler.toml', '@tideq/core/tideq_core.wasm'],
    ['wrangler.wasm-entry.toml', '@tideq/core/wasm'],
  ])(
    '%s (the core from %s): enqueue, drain over HTTP and by cron, results',
    async (config) => {
      const out = join(scratch.dir, `out-${config}`);
      const bundle = await wranglerBundle(config, out);
      // The core is the .wasm module, not base64 bytes inlined into the script.
      expect(readFileSync(bundle.script, 'utf8')).not.toMatch(/AGFzbQ/);
      const mf = new Miniflare(
        convertV4MiniflareOptions({
          // Exactly the files wrangler would upload.
          modulesRoot: out,
          modules: [
            { type: 'ESModule', path: bundle.script },
            { type: 'CompiledWasm', path: bundle.wasm },
          ],
          compatibilityDate: '2025-09-01',
          bindings: { TIDEQ_SIGNING_KEY: KEY, TIDEQ_TOKEN: TOKEN },
          unsafeTriggerHandlers: true,
        }),
      );
      try {
        const base = (await mf.ready).toString().replace(/\/$/, '');
        expect(await call(base, 'GET', '/health')).toMatchObject({ status: 200, body: { ok: true } });

        const count = 50;
        const posted = await call(base, 'POST', '/jobs', {
          body: { jobs: Array.from({ length: count }, (_, n) => ({ entrypoint: 'square', payload: { n } })) },
          sign: true,
        });
        expect(posted.status, JSON.stringify(posted.body)).toBe(201);
        const ids = posted.body.ids as number[];
        expect(new Set(ids).size).toBe(count);
        const boom = await call(base, 'POST', '/jobs', { body: { entrypoint: 'boom' }, token: true });
        expect(boom.status, JSON.stringify(boom.body)).toBe(201);
        const boomId = boom.body.ids[0] as number;
        expect((await call(base, 'GET', `/jobs/${ids[0]}`, { token: true })).body).toMatchObject({
          id: ids[0],
          status: 'queued',
          entrypoint: 'square',
        });

        // Bad input is refused as JSON with its code, and stores nothing.
        const refused = await call(base, 'POST', '/jobs', {
          body: { jobs: [{ entrypoint: 'square', payload: { n: -1 } }, { entrypoint: 'nobody.home' }] },
          sign: true,
        });
        expect(refused).toMatchObject({ status: 422, body: { error: { code: 'INVALID_ARGUMENT' } } });
        expect((await call(base, 'POST', '/jobs', { body: { entrypoint: 'square' } })).status).toBe(401);

        const drained = await call(base, 'POST', '/drain', { sign: true });
        expect(drained.status, JSON.stringify(drained.body)).toBe(200);
        expect(drained.body).toMatchObject({
          processed: count + 1,
          succeeded: count,
          failed: 1,
          remaining: 0,
        });
        const results = (await call(base, 'GET', '/results')).body as {
          id: number;
          n: number;
          square: number;
        }[];
        expect(results.map((r) => [r.n, r.square]).sort((a, b) => a[0]! - b[0]!)).toEqual(
          Array.from({ length: count }, (_, n) => [n, n * n]),
        );
        expect(results.every((r) => ids[r.n] === r.id)).toBe(true);
        expect((await call(base, 'GET', `/jobs/${ids[count - 1]}`, { token: true })).body).toMatchObject({
          id: ids[count - 1],
          status: 'successful',
        });
        expect((await call(base, 'GET', `/jobs/${boomId}`, { token: true })).body).toMatchObject({
          status: 'failed',
          entrypoint: 'boom',
        });

        // The cron trigger drains too.
        const late = await call(base, 'POST', '/jobs', {
          body: { entrypoint: 'square', payload: { n: 12 } },
          sign: true,
        });
        expect(late.status).toBe(201);
        const worker = (await mf.getWorker()) as unknown as {
          scheduled(o: { cron: string }): Promise<{ outcome: string }>;
        };
        expect((await worker.scheduled({ cron: '* * * * *' })).outcome).toBe('ok');
        expect((await call(base, 'GET', `/jobs/${late.body.ids[0]}`, { token: true })).body).toMatchObject({
          status: 'successful',
        });
        const after = (await call(base, 'GET', '/results')).body as {
          id: number;
          n: number;
          square: number;
        }[];
        expect(after).toHaveLength(count + 1);
        expect(after.at(-1)).toEqual({ id: late.body.ids[0], n: 12, square: 144 });
      } finally {
        await mf.dispose();
      }
    },
    300_000,
  );
});
