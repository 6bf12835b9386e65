import { defaultServerConditions } from 'vite';

/** Resolve workspace packages to their TypeScript sources, so tests never run a stale dist/. */
export const sourceResolve = {
  resolve: { conditions: ['source', ...defaultServerConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
};
