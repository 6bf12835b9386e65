import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';

/**
 * The playground's build: workspace packages from their TypeScript sources, the WASM core served
 * as a file (assetsInlineLimit 0), an ES module Worker. Everything is bundled: no CDN, no web font.
 * `./run start` (server/start.ts) builds with this and serves it with the API plugin.
 */
export const playgroundConfig: UserConfig = {
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    target: 'es2022',
    chunkSizeWarningLimit: 2_000,
  },
  worker: { format: 'es' },
};

export default defineConfig(playgroundConfig);
