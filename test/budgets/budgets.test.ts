/**
 * Every entry's gzip size stays within its budget in budgets.json. The bundles are real esbuild
 * builds of the working tree (scripts/sizes.mjs); a failure names the entry, the measured size and
 * the budget, so the commit that grew it can say why or shrink it.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { entries, measureSizes, readBudgets } from '../../scripts/sizes.mjs';

interface Size {
  jsGzip: number;
  wasmGzip: number;
  gzip: number;
  budget: number | null;
}

describe('bundle size budgets (budgets.json)', () => {
  it('has a budget for every measured entry and no budget for an unknown one', () => {
    const budgets = readBudgets() as Record<string, number>;
    expect(Object.keys(budgets).sort()).toEqual(Object.keys(entries).sort());
    for (const [name, budget] of Object.entries(budgets)) {
      expect(Number.isSafeInteger(budget) && budget > 0, `${name}: ${budget}`).toBe(true);
    }
  });

  it('keeps each entry within its gzip budget', async () => {
    const sizes = (await measureSizes()) as Record<string, Size>;
    const over = Object.entries(sizes)
      .filter(([, s]) => s.budget === null || s.gzip > s.budget)
      .map(
        ([name, s]) =>
          `${name}: ${s.gzip} bytes gzipped (JS ${s.jsGzip} + .wasm ${s.wasmGzip}) > budget ${s.budget} bytes`,
      );
    expect(over, `over budget (node scripts/sizes.mjs prints every figure):\n${over.join('\n')}`).toEqual([]);
    // The bundles are real: the WASM entries carry the .wasm, the page facade does not.
    expect(sizes.webPage!.wasmGzip).toBe(0);
    expect(sizes.core!.wasmGzip).toBeGreaterThan(10_000);
    expect(sizes.edge!.jsGzip).toBeGreaterThan(sizes.webPage!.jsGzip);
  });
});
