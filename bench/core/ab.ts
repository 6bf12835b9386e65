/**
 * Paired A/B of the core adapters across source trees (e.g. a `git worktree` of an older commit),
 * in ONE process: every round runs each cell on every tree, in rotating order, so all trees see
 * the same machine load. Reports jobs per CPU-second, medians of the per-round ratios to the first
 * tree (robust on a shared, loaded machine).
 *
 *   npx tsx --conditions=source bench/core/ab.ts --rounds 7 /tmp/tideq-before /work/main
 *   npx tsx --conditions=source bench/core/ab.ts --rounds 31 --cells wasm:1000:0,wasm:1:0 /tmp/a /tmp/b
 *
 * Each tree needs its own packages/core/wasm/tideq_core.wasm (node scripts/build-wasm.mjs there)
 * and node_modules (a symlink to this repo's is enough).
 */
type Adapter = 'wasm' | 'reference';
interface Cell {
  adapter: Adapter;
  batch: number;
  payload: number;
  jobs: number;
}
interface CoreModule {
  createMemoryQueue(): Promise<Repo>;
  createReferenceQueue(): Repo;
}
interface Repo {
  enqueue(jobs: { entrypoint: string; payload: Uint8Array | null }[]): Promise<unknown>;
  dequeue(options: object): Promise<{ id: number; payload: Uint8Array | null }[]>;
  complete(results: { id: number; status: 'successful' }[]): Promise<unknown>;
  close(): Promise<void>;
}

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args.splice(at, 2)[1];
};
const rounds = Number(option('--rounds') ?? 7);
const cellsArg = option('--cells');
const trees = args;
if (trees.length < 2) throw new Error('give two or more source trees (the first is the baseline)');
const cells: Cell[] = cellsArg
  ? cellsArg.split(',').map((s) => {
      const [adapter, batch, payload] = s.split(':');
      const b = Number(batch);
      return {
        adapter: adapter as Adapter,
        batch: b,
        payload: Number(payload),
        jobs: b === 1 ? 5000 : 100 * b,
      };
    })
  : (['wasm', 'reference'] as const).flatMap((adapter) =>
      [0, 256].flatMap((payload) =>
        [1, 100, 1000].map((batch) => ({ adapter, batch, payload, jobs: batch === 1 ? 5000 : 100 * batch })),
      ),
    );

const mods: Record<string, CoreModule> = {};
for (const tree of trees) mods[tree] = (await import(`${tree}/packages/core/src/index.ts`)) as CoreModule;

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let checksum = 0;

/** Steady state: enqueue B, dequeue B, complete B per round; jobs per CPU-second after a warm-up. */
async function run(mod: CoreModule, c: Cell): Promise<number> {
  const repo = c.adapter === 'wasm' ? await mod.createMemoryQueue() : mod.createReferenceQueue();
  const bytes = new Uint8Array(c.payload).map((_, i) => i & 255);
  const batch = Array.from({ length: c.batch }, () => ({
    entrypoint: 'bench',
    payload: c.payload === 0 ? null : bytes,
  }));
  const deq = { batchSize: c.batch, entrypoints: { bench: {} }, queueManagerId: 'w' };
  const round = async (): Promise<void> => {
    await repo.enqueue(batch);
    const jobs = await repo.dequeue(deq);
    await repo.complete(
      jobs.map((j) => {
        if (j.payload !== null && j.payload.length > 0) checksum += j.payload[0]!;
        return { id: j.id, status: 'successful' as const };
      }),
    );
  };
  const n = Math.floor(c.jobs / c.batch);
  for (let i = 0; i < Math.min(n, 50); i++) await round();
  const c0 = cpuMs();
  for (let i = 0; i < n; i++) await round();
  const ms = cpuMs() - c0;
  await repo.close();
  return (c.jobs / ms) * 1000;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const short = (tree: string): string => tree.split('/').filter(Boolean).pop()!;
console.log(
  `| cell | ${trees.map((t) => `${short(t)} jobs/CPU-s`).join(' | ')} | ${trees
    .slice(1)
    .map((t) => `${short(t)}/${short(trees[0]!)}`)
    .join(' | ')} |`,
);
console.log(
  `|---|${trees.map(() => '---:').join('|')}|${trees
    .slice(1)
    .map(() => '---:')
    .join('|')}|`,
);
const perTree: number[][] = trees.map(() => []);
for (const c of cells) {
  const abs: number[][] = trees.map(() => []);
  const ratios: number[][] = trees.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const v: number[] = [];
    for (let k = 0; k < trees.length; k++) {
      const i = (k + r) % trees.length;
      v[i] = await run(mods[trees[i]!]!, c);
    }
    trees.forEach((_, i) => {
      abs[i]!.push(v[i]!);
      ratios[i]!.push(v[i]! / v[0]!);
    });
  }
  const f = (x: number): string => Math.round(x).toLocaleString('en');
  console.log(
    `| ${c.adapter} steady B=${c.batch} P=${c.payload} | ${abs.map((a) => f(median(a))).join(' | ')} | ${ratios
      .slice(1)
      .map((a) => median(a).toFixed(3))
      .join(' | ')} |`,
  );
  ratios.forEach((a, i) => {
    perTree[i]!.push(median(a));
  });
}
const gm = (xs: number[]): number => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
for (let i = 1; i < trees.length; i++)
  console.log(
    `\n${short(trees[i]!)}/${short(trees[0]!)}: geometric mean of the per-cell medians ${gm(perTree[i]!).toFixed(3)} (${rounds} rounds)`,
  );
console.error(`checksum ${checksum}`);
