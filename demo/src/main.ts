/**
 * The playground page: builds the controls, starts the engine Worker, talks to its queue through
 * @tideq/web's `connectQueue` facade (enqueue, cancel, requeue, dead letters, pause/resume,
 * stats), polls the engine's snapshot a few times a second and redraws what changed. All queue
 * work happens in the Worker; the page only renders (lists virtualised, charts throttled) so it
 * stays responsive at thousands of jobs/s.
 */
import './style.css';
import type { Job, JobEvent, JobStatus, Schedule } from '@tideq/core';
import { connectQueue, type EnqueueJobOf, type HostStats, type QueueFacade } from '@tideq/web';
import * as Comlink from 'comlink';
import type { EngineApi } from './engine/worker.ts';
import { codecsFor, type DemoPayloads, makePayload } from './jobs.ts';
import type {
  EnqueueRequest,
  EntrypointConfig,
  JobDetail,
  JobFilter,
  PlaygroundConfig,
  PostgresInfo,
  Snapshot,
  StoreKind,
} from './protocol.ts';
import { formatShort, OUTCOME_STYLE } from './ui/charts.ts';
import { JobsList } from './ui/jobs-list.ts';
import { snippet } from './ui/snippet.ts';
import type { TimelineApi } from './ui/timeline-worker.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const CONFIG_KEY = 'tideq-playground-config';
const POLL_MS = 400;

const DEFAULT_ENTRYPOINTS: EntrypointConfig[] = [
  {
    name: 'email.send',
    durationMs: 40,
    failurePercent: 0,
    hangPercent: 0,
    concurrencyLimit: 0,
    requestsPerSecond: 0,
    retryTimer: 5_000,
    maxAttempts: 3,
    timeout: 10_000,
    retryDelay: 200,
  },
  {
    name: 'image.resize',
    durationMs: 250,
    failurePercent: 10,
    hangPercent: 0,
    concurrencyLimit: 4,
    requestsPerSecond: 0,
    retryTimer: 5_000,
    maxAttempts: 3,
    timeout: 5_000,
    retryDelay: 500,
  },
  {
    name: 'report.build',
    durationMs: 1_000,
    failurePercent: 0,
    hangPercent: 0,
    concurrencyLimit: 1,
    requestsPerSecond: 2,
    retryTimer: 5_000,
    maxAttempts: 3,
    timeout: 0,
    retryDelay: 1_000,
  },
];

function defaultConfig(): PlaygroundConfig {
  return {
    store: 'memory',
    entrypoints: structuredClone(DEFAULT_ENTRYPOINTS),
    worker: { batchSize: 100, maxConcurrentTasks: 16 },
    schedules: [],
    paused: false,
  };
}

/** The saved configuration; `?store=` in the URL picks the store, `?reset` starts from defaults. */
function loadConfig(): PlaygroundConfig {
  const params = new URLSearchParams(location.search);
  let config = defaultConfig();
  if (!params.has('reset')) {
    try {
      const saved = localStorage.getItem(CONFIG_KEY);
      if (saved) config = { ...config, ...(JSON.parse(saved) as PlaygroundConfig) };
    } catch {
      // a broken saved config: start from the defaults
    }
  }
  const store = params.get('store');
  if (store === 'memory' || store === 'durable' || store === 'indexeddb' || store === 'postgres')
    config.store = store;
  if (params.has('reset') || params.has('store')) {
    // Applied once: a reload then keeps what the visitor changed since.
    history.replaceState(null, '', location.pathname);
    localStorage.setItem(CONFIG_KEY, JSON.stringify(config));
  }
  return config;
}

const config = loadConfig();
let lastEnqueue: EnqueueRequest | null = null;
let worker: Worker | null = null;
let engine: Comlink.Remote<EngineApi> | null = null;
/** The queue in the Worker, through @tideq/web's facade. */
let queue: QueueFacade<DemoPayloads> | null = null;
let generation = 0;
let pgInfo: PostgresInfo = { available: false, driver: null, database: null, hint: null };
let lastSnapshot: Snapshot | null = null;
/** The slot timeline draws in its own Worker on the transferred canvas (ui/timeline-worker.ts). */
const timeline = Comlink.wrap<TimelineApi>(
  new Worker(new URL('./ui/timeline-worker.ts', import.meta.url), { type: 'module', name: 'tideq-timeline' }),
);

function saveConfig(): void {
  localStorage.setItem(CONFIG_KEY, JSON.stringify(config));
  renderSnippet();
}

function notice(text: string | null, kind: 'info' | 'error' = 'info'): void {
  const el = $('notice');
  el.hidden = text === null;
  el.textContent = text ?? '';
  el.classList.toggle('error', kind === 'error');
}

// ---- the engine Worker ------------------------------------------------------------------------

/**
 * Sends the configuration to the engine with a fresh MessagePort; when the engine had to start a
 * new host (store, limits or schedules changed) the page's facade moves to that port.
 */
/**
 * Configuration changes and pause/resume run one at a time: a pause clicked while a new host is
 * starting must reach that host, not the one being closed.
 */
let serialChain: Promise<unknown> = Promise.resolve();
function serial<T>(task: () => Promise<T>): Promise<T> {
  const next = serialChain.then(task, task);
  serialChain = next.catch(() => {});
  return next;
}

function configure(current: Comlink.Remote<EngineApi>): Promise<void> {
  return serial(() => configureNow(current));
}

async function configureNow(current: Comlink.Remote<EngineApi>): Promise<void> {
  const channel = new MessageChannel();
  const result = await current.configure(
    config,
    location.origin,
    Comlink.transfer(channel.port2, [channel.port2]),
  );
  if (current !== engine) return;
  $('store-label').textContent = result.info.label;
  if (result.connected) {
    const previous = queue;
    queue = connectQueue<DemoPayloads>(channel.port1, {
      codecs: codecsFor(config.entrypoints.map((e) => e.name)),
    });
    void previous?.close().catch(() => {});
    void watchDeadLetters(queue);
    // The host started with the pause state of the moment; keep it in line if it changed since.
    const paused = (await queue.stats()).state === 'paused';
    if (paused !== config.paused) await (config.paused ? queue.pause() : queue.resume());
  } else channel.port1.close();
}

async function startEngine(): Promise<void> {
  const gen = ++generation;
  worker = new Worker(new URL('./engine/worker.ts', import.meta.url), {
    type: 'module',
    name: 'tideq-engine',
  });
  engine = Comlink.wrap<EngineApi>(worker);
  queue = null;
  $('state').textContent = 'starting';
  try {
    await configure(engine);
    if (gen !== generation) return;
    notice(null);
  } catch (error) {
    if (gen !== generation) return;
    $('store-label').textContent = 'store unavailable';
    notice(`Could not open the ${config.store} store: ${(error as Error).message}`, 'error');
  }
}

async function applyConfig(): Promise<void> {
  saveConfig();
  if (!engine) return;
  try {
    await configure(engine);
    notice(null);
  } catch (error) {
    notice(`Could not apply the settings: ${(error as Error).message}`, 'error');
  }
}

/** Dead letters change on these events: refresh the panel at once rather than at the next poll. */
async function watchDeadLetters(facade: QueueFacade<DemoPayloads>): Promise<void> {
  try {
    await facade.subscribe(() => scheduleDeadRefresh(), { kinds: ['failed', 'requeued', 'cancelled'] });
  } catch {
    // the worker went away; the next facade subscribes again
  }
}

let deadRefresh: ReturnType<typeof setTimeout> | null = null;
function scheduleDeadRefresh(): void {
  if (deadRefresh !== null) return;
  deadRefresh = setTimeout(() => {
    deadRefresh = null;
    void refreshDead();
  }, 300);
}

async function refreshDead(): Promise<void> {
  const facade = queue;
  if (!facade) return;
  try {
    const jobs = await facade.failedJobs({ limit: 50 });
    renderDead({ total: lastSnapshot?.counts.failed ?? jobs.length, jobs });
  } catch {
    // the worker is restarting
  }
}

async function requeueAll(facade: QueueFacade<DemoPayloads>): Promise<number> {
  let total = 0;
  for (let round = 0; round < 1_000; round++) {
    const failed = await facade.failedJobs({ limit: 1_000 });
    if (failed.length === 0) break;
    total += (await facade.requeue(failed.map((j) => j.id))).filter(Boolean).length;
  }
  return total;
}

/**
 * Enqueues through the facade in batches (one transferred buffer each). 250 keeps the page's share
 * of a batch (building and encoding the payloads, in the task that sends it) to a few ms, and the
 * first batches are smaller while the code is still cold (not yet optimised). Each batch is built
 * in a task of its own (the page's frames run between them) while the previous one is stored, so
 * the small batches cost no throughput. The jobs share their headers object and padding string.
 */
const ENQUEUE_BATCH = 250;
const FIRST_BATCHES = [25, 100];
async function enqueueJobs(facade: QueueFacade<DemoPayloads>, request: EnqueueRequest) {
  const executeAfter = request.delayMs > 0 ? Date.now() + request.delayMs : undefined;
  const dedupeKey = request.dedupeKey === '' ? null : request.dedupeKey;
  const headers = { source: 'playground' };
  let stored = 0;
  let skipped = 0;
  const tally = (ids: (number | null)[]) => {
    for (const id of ids) id === null ? skipped++ : stored++;
  };
  let inFlight: Promise<(number | null)[]> | null = null;
  for (let done = 0, batch = 0; done < request.count; batch++) {
    const n = Math.min(FIRST_BATCHES[batch] ?? ENQUEUE_BATCH, request.count - done);
    const jobs = new Array<EnqueueJobOf<DemoPayloads>>(n);
    for (let i = 0; i < n; i++) {
      const job: EnqueueJobOf<DemoPayloads> = {
        entrypoint: request.entrypoint,
        payload: makePayload(request.entrypoint, done + i, request.payloadBytes),
        priority: request.priority,
        dedupeKey,
        headers,
      };
      if (executeAfter !== undefined) job.executeAfter = executeAfter;
      jobs[i] = job;
    }
    done += n;
    // Sent (and packed) now; the reply of the batch before is awaited only then.
    const sent = facade.enqueueMany(jobs, { onConflict: 'skip' });
    sent.catch(() => {}); // a rejection is thrown where it is awaited, not reported as unhandled
    if (inFlight) tally(await inFlight);
    else await yieldToPage();
    inFlight = sent;
  }
  if (inFlight) tally(await inFlight);
  return { stored, skipped };
}

/** Ends the current task: the page's frames and input run before the next piece of work. */
function yieldToPage(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function killWorker(): void {
  if (!worker) return;
  const killedAt = Date.now();
  const picked = lastSnapshot?.counts.picked ?? 0;
  worker.terminate();
  worker = null;
  engine = null;
  queue = null;
  generation++;
  void timeline.kill(killedAt);
  const timers = [...new Set(config.entrypoints.map((e) => e.retryTimer / 1000))].sort((a, b) => a - b);
  const retryTimer = timers.length === 1 ? `${timers[0]} s` : `${timers.join(' / ')} s by entrypoint`;
  notice(
    config.store === 'memory'
      ? 'Worker terminated. The WASM memory store lived inside it, so its jobs are gone: pick a durable store (durable memory, IndexedDB, PostgreSQL) to see recovery. A new worker starts with an empty queue.'
      : `Worker terminated with ${picked} job(s) running. They stay "picked" in the ${config.store} store until their heartbeat is older than the retry timer (${retryTimer}); then the new worker re-picks and runs them (attempt + 1, marked on the timeline).`,
  );
  setTimeout(() => {
    void timeline.mark(Date.now(), 'new worker');
    void startEngine();
  }, 500);
}

// ---- polling ----------------------------------------------------------------------------------

let lastListVersion = -1;
let lastListRefresh = 0;
let lastLogSeq = -1;
let lastLogRender = 0;
let lastScheduleKey = '';

let lastStats = 0;
async function poll(): Promise<void> {
  const current = engine;
  if (current && !document.hidden) {
    try {
      // The stats (once a second) come with the snapshot, to be drawn in the same frame.
      const facade = queue;
      const wantStats = facade !== null && Date.now() - lastStats > 1_000;
      if (wantStats) lastStats = Date.now();
      const [snapshot, stats] = await Promise.all([
        current.snapshot(),
        wantStats ? facade.stats() : Promise.resolve(null),
      ]);
      if (current === engine) await renderInFrames(snapshot, stats);
    } catch {
      // the Worker was killed or is restarting
    }
  }
  setTimeout(poll, POLL_MS);
}

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

/**
 * Renders a poll in animation-frame slices: each slice's DOM writes land just before that frame's
 * style and layout (not in the message task that delivered the snapshot, which would pay for a
 * second layout), and no frame carries every panel's changes at once, so each frame's task stays
 * a few ms of CPU even when the main thread shares a core. A hidden page has no frames, so it is
 * skipped (poll() does).
 */
async function renderInFrames(s: Snapshot, stats: HostStats<DemoPayloads> | null): Promise<void> {
  for (const slice of renderSlices(s, stats)) {
    await nextFrame();
    slice();
  }
}

/** The QueueManager's own counters and latencies per entrypoint (facade.stats()). */
function renderStats(stats: HostStats<DemoPayloads>): void {
  const state = $('state');
  setText(state, stats.state);
  if (state.className !== `pill ${stats.state}`) state.className = `pill ${stats.state}`;
  const rows = Object.entries(stats.entrypoints).map(([name, s]) => [
    name,
    String(s.running),
    formatCount(s.successful),
    formatCount(s.retried),
    formatCount(s.failed),
    formatCount(s.timedOut),
    `${Math.round(s.waitMs.p50)} / ${Math.round(s.waitMs.p95)} ms`,
    `${Math.round(s.runMs.p50)} / ${Math.round(s.runMs.p95)} ms`,
  ]);
  // Same entrypoints as last time: only the cells whose text changed are written.
  const existing = $('stats').querySelector('table');
  if (existing && existing.rows.length === rows.length + 1) {
    rows.forEach((cells, r) => {
      const tr = existing.rows[r + 1]!;
      cells.forEach((text, c) => {
        const td = tr.cells[c]!;
        if (td.textContent !== text) td.textContent = text;
      });
    });
    return;
  }
  const table = el('table');
  const head = el('tr');
  for (const h of [
    'entrypoint',
    'running',
    'successful',
    'retried',
    'dead',
    'timed out',
    'wait p50/p95',
    'run p50/p95',
  ])
    head.append(el('th', h));
  table.append(head);
  for (const cells of rows) {
    const tr = el('tr');
    tr.append(...cells.map((text) => el('td', text)));
    table.append(tr);
  }
  const root = $('stats');
  root.classList.remove('sized');
  root.style.height = '';
  root.replaceChildren(table);
  // The table keeps this size while only its numbers change: fixed, it is a relayout boundary
  // (style.css), so a second's new numbers lay out the table, not the page. Measured once per
  // rebuild (entrypoints changed), which is the one layout this forces.
  const height = root.offsetHeight; // 0 while the panel is folded: then it stays unsized
  if (height > 0) {
    root.style.height = `${height}px`;
    root.classList.add('sized');
  }
}

/**
 * A poll's rendering, one function per animation frame; panels with nothing new get none. Every
 * frame has a fixed cost (style, layout, paint, commit), so the small updates share the first one.
 */
function renderSlices(s: Snapshot, stats: HostStats<DemoPayloads> | null): (() => void)[] {
  const failedChanged = s.counts.failed !== lastSnapshot?.counts.failed;
  lastSnapshot = s;
  const now = Date.now();
  // The segments go to the charts' Worker at once (no DOM work).
  void timeline.add(Comlink.transfer(s.segments, [s.segments.buffer]), s.slots);
  const slices: (() => void)[] = [
    () => {
      if (s.state === 'error' || s.state === 'starting') {
        const state = $('state');
        setText(state, s.state);
        if (state.className !== `pill ${s.state}`) state.className = `pill ${s.state}`;
      }
      setText($('store-label'), s.store.label + (s.store.durable ? '' : ' (not durable)'));
      if (s.error && s.state === 'error') notice(s.error, 'error');
      renderCounts(s);
      if (stats) renderStats(stats);
      renderCharts(s); // throttled to ~3 a second
    },
  ];
  const lastSeq = s.log.at(-1)?.seq ?? 0;
  // The log tail: at most once a second, whatever the job rate.
  if (lastSeq !== lastLogSeq && now - lastLogRender > 1_000) {
    lastLogRender = now;
    lastLogSeq = lastSeq;
    // Half the lines per frame: each new line costs text layout.
    const half = Math.ceil(LOG_LINES / 2);
    slices.push(
      () => renderLog(s.log, 0, half),
      () => renderLog(s.log, half, LOG_LINES),
    );
  }
  if (failedChanged) scheduleDeadRefresh();
  // The schedules' next and last runs change with the stored schedules (no clock in the key).
  const scheduleKey = JSON.stringify([config.schedules, s.schedules]);
  if (scheduleKey !== lastScheduleKey) {
    lastScheduleKey = scheduleKey;
    slices.push(() => renderSchedules(s.schedules));
  }
  if (s.indexVersion !== lastListVersion && now - lastListRefresh > 1_000) {
    lastListVersion = s.indexVersion;
    lastListRefresh = now;
    // The list renders when its rows arrive (a message task of its own).
    void jobsList.refresh();
    if (openDetailId !== null) void showDetail(openDetailId, false);
  }
  return slices;
}

const COUNT_ORDER: { key: JobStatus | 'retried'; label: string; color: string }[] = [
  { key: 'queued', label: 'queued', color: '#94a3b8' },
  { key: 'picked', label: 'running (picked)', color: '#2f80ed' },
  { key: 'successful', label: 'successful', color: '#1f9d55' },
  { key: 'retried', label: 'retries', color: '#d98e04' },
  { key: 'failed', label: 'dead letters', color: '#d23f3f' },
  { key: 'exception', label: 'exception', color: '#8a3ffc' },
  { key: 'canceled', label: 'canceled', color: '#6b7280' },
  { key: 'deleted', label: 'deleted', color: '#6b7280' },
];

function renderCounts(s: Snapshot): void {
  const root = $('counts');
  if (root.childElementCount === 0) {
    for (const c of COUNT_ORDER) {
      const div = document.createElement('div');
      div.style.borderLeftColor = c.color;
      div.innerHTML = `<dt>${c.label}</dt><dd data-count="${c.key}">0</dd>`;
      root.append(div);
    }
  }
  for (const c of COUNT_ORDER) {
    const value = c.key === 'retried' ? s.retried : s.counts[c.key];
    const dd = root.querySelector<HTMLElement>(`[data-count="${c.key}"]`)!;
    const text = formatCount(value);
    if (dd.textContent !== text) dd.textContent = text;
  }
}

let lastChartDraw = 0;
function renderCharts(s: Snapshot): void {
  const now = Date.now();
  // Throttled: at most ~3 redraws a second whatever the job rate.
  if (now - lastChartDraw < 300) return;
  lastChartDraw = now;
  const points = s.series.slice(-60);
  void timeline.series(points); // drawn in the charts' Worker
  const last = points.at(-1);
  if (last) {
    setLegend('throughput-legend', [
      ['#1f9d55', `successful ${formatShort(last.successful)}/s`],
      ['#d98e04', `retried ${formatShort(last.retried)}/s`],
      ['#d23f3f', `dead ${formatShort(last.failed)}/s`],
      ['#94a3b8', `(enqueued ${formatShort(last.enqueued)}/s)`],
    ]);
    setLegend('latency-legend', [
      ['#2f80ed', `run p50 ${formatShort(last.runP50)} ms`],
      ['#0b3d91', `run p95 ${formatShort(last.runP95)} ms`],
      ['#d98e04', `wait p50 ${formatShort(last.waitP50)} ms`],
      ['#8a5a00', `wait p95 ${formatShort(last.waitP95)} ms`],
    ]);
  }
}

/** A live legend: built once, then only the texts that changed are written (no new elements). */
function setLegend(id: string, items: [string, string][]): void {
  const root = $(id);
  if (root.childElementCount !== items.length) root.innerHTML = legend(items);
  items.forEach(([, text], i) => {
    setText(root.children[i]!.lastElementChild as HTMLElement, text);
  });
}

function legend(items: [string, string][]): string {
  return items
    .map(
      ([color, text]) =>
        `<span><i class="swatch" style="background:${color}"></i><span>${text}</span></span>`,
    )
    .join('');
}

/** Formatters made once: `toLocaleString` builds a new one per call (tens of µs each, 40 log lines a second). */
const countFormat = new Intl.NumberFormat('en-US');
const formatCount = (n: number) => countFormat.format(n);
const timeFormat = new Intl.DateTimeFormat('en-GB', {
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});
const time = (ms: number | null) => (ms === null ? '—' : timeFormat.format(ms));

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** The log tail's lines: a screenful and a little more (each new line costs text layout). */
const LOG_LINES = 20;

/** Writes the log tail's lines `from` to `to` (newest first). */
function renderLog(events: JobEvent[], from: number, to: number): void {
  const root = $('log');
  if (events.length === 0) {
    root.replaceChildren(
      el('li', 'No events yet: every enqueue, pick, retry and completion appears here.', 'empty-state'),
    );
    return;
  }
  const tail = events.slice(-LOG_LINES).reverse();
  // The items are kept and only their changed text is written: no 40 new elements a second.
  if (root.querySelector('.empty-state')) root.replaceChildren();
  while (root.childElementCount > tail.length) root.lastElementChild!.remove();
  while (root.childElementCount < tail.length) {
    const li = el('li');
    li.append(el('span'), el('span'), el('span', undefined, 'mono'), el('span', undefined, 'opt'));
    root.append(li);
  }
  tail.slice(from, to).forEach((e, j) => {
    const [at, kind, id, what] = root.children[from + j]!.children as unknown as HTMLElement[];
    setText(at!, time(e.at));
    setText(kind!, e.kind);
    const kindClass = `k-${e.kind}`;
    if (kind!.className !== kindClass) kind!.className = kindClass;
    setText(id!, `#${e.jobId}`);
    setText(what!, `${e.entrypoint}${e.error ? `: ${e.error}` : ''}`);
  });
}

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

function renderDead(dead: { total: number; jobs: Job[] }): void {
  const root = $('dead');
  ($('requeue-all') as HTMLButtonElement).disabled = dead.total === 0;
  if (dead.total === 0) {
    root.replaceChildren(
      el('p', 'No dead letters. Jobs land here after their last attempt fails.', 'empty-state'),
    );
    return;
  }
  const table = el('table');
  const head = el('tr');
  for (const h of ['job', 'entrypoint', 'attempts', 'last error', '']) head.append(el('th', h));
  table.append(head);
  for (const job of dead.jobs) {
    const tr = el('tr');
    const open = el('button', `#${job.id}`);
    open.type = 'button';
    open.setAttribute('aria-label', `open job ${job.id}`);
    open.addEventListener('click', () => void showDetail(job.id, true));
    const requeue = el('button', 'Requeue');
    requeue.type = 'button';
    requeue.setAttribute('aria-label', `requeue job ${job.id}`);
    requeue.addEventListener('click', () => void queue?.requeue([job.id]));
    const tdOpen = el('td');
    tdOpen.append(open);
    const tdAct = el('td');
    tdAct.append(requeue);
    tr.append(
      tdOpen,
      el('td', job.entrypoint),
      el('td', String(job.attempts)),
      el('td', job.lastError ?? '', 'err'),
      tdAct,
    );
    tr.querySelector('.err')!.setAttribute('title', job.lastError ?? '');
    table.append(tr);
  }
  const caption = el(
    'caption',
    `${dead.total.toLocaleString('en-US')} dead letter(s)${dead.total > dead.jobs.length ? `, the first ${dead.jobs.length} shown` : ''}`,
  );
  caption.className = 'hint';
  table.prepend(caption);
  root.replaceChildren(table);
}

function renderSchedules(schedules: Schedule[]): void {
  const root = $('schedules');
  if (config.schedules.length === 0) {
    root.replaceChildren(el('p', 'No schedules. Add one above: each tick enqueues jobs.', 'empty-state'));
    return;
  }
  const byName = new Map(schedules.map((s) => [s.name, s]));
  const table = el('table');
  const head = el('tr');
  for (const h of ['name', 'cron', 'next run', 'last run', '']) head.append(el('th', h));
  table.append(head);
  for (const s of config.schedules) {
    const stored = byName.get(s.name);
    const tr = el('tr');
    const remove = el('button', 'Remove');
    remove.type = 'button';
    remove.setAttribute('aria-label', `remove schedule ${s.name}`);
    remove.addEventListener('click', () => {
      config.schedules = config.schedules.filter((x) => x.name !== s.name);
      lastScheduleKey = '';
      void applyConfig();
    });
    const td = el('td');
    td.append(remove);
    tr.append(
      el('td', `${s.name} → ${s.jobsPerTick} × ${s.entrypoint}`),
      el('td', s.expression, 'mono'),
      el('td', stored ? time(stored.nextRunAt) : 'registering…'),
      el('td', time(stored?.lastRunAt ?? null)),
      td,
    );
    table.append(tr);
  }
  root.replaceChildren(table);
}

// ---- job detail -------------------------------------------------------------------------------

let openDetailId: number | null = null;

function decodePayload(bytes: Uint8Array | null): string {
  if (!bytes || bytes.length === 0) return '(no payload)';
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const value = JSON.parse(text) as unknown;
    const json = JSON.stringify(value, null, 2);
    return json.length > 4_000 ? `${json.slice(0, 4_000)}… (${bytes.length} bytes, JSON)` : json;
  } catch {
    const hex = [...bytes.subarray(0, 512)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    return `hex (${bytes.length} bytes): ${hex}${bytes.length > 512 ? ' …' : ''}`;
  }
}

async function showDetail(id: number, focus: boolean): Promise<void> {
  if (!engine) return;
  openDetailId = id;
  let detail: JobDetail;
  try {
    detail = await engine.detail(id);
  } catch {
    return;
  }
  const panel = $('detail-panel');
  panel.hidden = false;
  $('detail-h').textContent = `Job #${id}`;
  const root = $('detail');
  const job = detail.job;
  const dl = el('dl', undefined, 'detail-grid');
  const add = (k: string, v: string) => dl.append(el('dt', k), el('dd', v));
  add('status', detail.status ?? 'unknown');
  if (job) {
    add('entrypoint', job.entrypoint);
    add('priority', String(job.priority));
    add('attempts', String(job.attempts));
    add('created', time(job.created));
    add('due (executeAfter)', time(job.executeAfter));
    add('held by', job.queueManagerId ?? '—');
    add('heartbeat', time(job.heartbeat));
    add('dedupe key', job.dedupeKey ?? '—');
    add('headers', job.headers ? JSON.stringify(job.headers) : '—');
    add('last error', job.lastError ?? '—');
  } else {
    add('payload', 'the job has left the store (terminal): only its events remain');
  }
  const nodes: HTMLElement[] = [dl];
  if (job) {
    nodes.push(el('h3', 'Payload'), el('pre', decodePayload(job.payload), 'payload'));
    const actions = el('div');
    actions.className = 'row';
    if (job.status !== 'failed') {
      const cancel = el('button', 'Cancel job');
      cancel.type = 'button';
      cancel.addEventListener('click', async () => {
        await queue?.cancel([id]);
        void showDetail(id, false);
      });
      actions.append(cancel);
    } else {
      const requeue = el('button', 'Requeue');
      requeue.type = 'button';
      requeue.addEventListener('click', async () => {
        await queue?.requeue([id]);
        void showDetail(id, false);
      });
      actions.append(requeue);
    }
    nodes.push(actions);
  }
  nodes.push(el('h3', 'Events'));
  if (detail.events.length === 0)
    nodes.push(el('p', 'No events of this job in the recent log.', 'empty-state'));
  else {
    const ol = el('ol', undefined, 'log');
    for (const e of detail.events) {
      const li = el('li');
      li.append(
        el('span', time(e.at)),
        el('span', e.kind, `k-${e.kind}`),
        el('span', e.status),
        el('span', `${e.queueManagerId ?? ''}${e.error ? ` ${e.error}` : ''}`, 'opt'),
      );
      ol.append(li);
    }
    nodes.push(ol);
  }
  root.replaceChildren(...nodes);
  if (focus) $('detail-close').focus();
}

// ---- controls ---------------------------------------------------------------------------------

const ENTRYPOINT_FIELDS: { key: keyof EntrypointConfig; label: string; max: number }[] = [
  { key: 'durationMs', label: 'Duration (ms)', max: 600_000 },
  { key: 'failurePercent', label: 'Failure rate (%)', max: 100 },
  { key: 'hangPercent', label: 'Hang rate (%)', max: 100 },
  { key: 'concurrencyLimit', label: 'Concurrency limit (0 = none)', max: 10_000 },
  { key: 'requestsPerSecond', label: 'Rate limit (jobs/s, 0 = none)', max: 1_000_000 },
  { key: 'retryTimer', label: 'Retry timer (ms)', max: 3_600_000 },
  { key: 'maxAttempts', label: 'Max attempts', max: 100 },
  { key: 'timeout', label: 'Timeout (ms, 0 = none)', max: 3_600_000 },
  { key: 'retryDelay', label: 'Retry backoff (ms)', max: 600_000 },
];

function buildControls(): void {
  const fields = $('entrypoint-fields');
  const wide = window.matchMedia('(min-width: 561px)').matches;
  for (const ep of config.entrypoints) {
    const fs = el('fieldset', undefined, 'fields');
    fs.append(el('legend', ep.name));
    for (const f of ENTRYPOINT_FIELDS) {
      const label = el('label', f.label);
      const input = el('input');
      input.type = 'number';
      input.min = '0';
      input.max = String(f.max);
      input.value = String(ep[f.key]);
      input.name = `${ep.name}:${f.key}`;
      input.addEventListener('change', () => {
        const value = Number(input.value);
        if (!input.checkValidity() || !Number.isFinite(value)) {
          input.reportValidity();
          return;
        }
        (ep as unknown as Record<string, number>)[f.key] =
          f.key === 'maxAttempts' ? Math.max(1, value) : value;
        void applyConfig();
      });
      label.append(input);
      fs.append(label);
    }
    // Collapsible: on a phone the three entrypoints' settings start folded.
    const details = el('details', undefined, 'entrypoint');
    details.open = wide;
    const summary = el('summary', ep.name);
    details.append(summary, fs);
    fields.append(details);
  }
  const handlers = $<HTMLFormElement>('handlers-form');
  for (const key of ['batchSize', 'maxConcurrentTasks'] as const) {
    const input = handlers.elements.namedItem(key) as HTMLInputElement;
    input.value = String(config.worker[key]);
    input.addEventListener('change', () => {
      if (!input.checkValidity()) {
        input.reportValidity();
        return;
      }
      config.worker[key] = Math.max(1, Number(input.value));
      void applyConfig();
    });
  }
  handlers.addEventListener('submit', (e) => e.preventDefault());

  for (const id of ['enqueue-entrypoint', 'schedule-entrypoint', 'filter-entrypoint']) {
    const select = $<HTMLSelectElement>(id);
    for (const ep of config.entrypoints) select.append(new Option(ep.name, ep.name));
  }

  const store = $<HTMLSelectElement>('store');
  store.value = config.store;
  store.addEventListener('change', () => {
    config.store = store.value as StoreKind;
    void timeline.mark(Date.now(), `store: ${config.store}`);
    void applyConfig();
  });

  const pause = $<HTMLButtonElement>('pause');
  const syncPause = () => {
    pause.textContent = config.paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(config.paused));
  };
  syncPause();
  pause.addEventListener('click', async () => {
    config.paused = !config.paused;
    syncPause();
    saveConfig();
    await serial(async () => {
      await engine?.setPaused(config.paused);
      await (config.paused ? queue?.pause() : queue?.resume());
    });
  });
  $('kill').addEventListener('click', killWorker);
  $('clear').addEventListener('click', async () => {
    const n = await engine?.clear();
    notice(`Deleted ${n ?? 0} job(s) from the store.`);
  });
  $('requeue-all').addEventListener('click', async () => {
    if (!queue) return;
    const n = await requeueAll(queue);
    notice(`Requeued ${n} dead letter(s).`);
  });

  const form = $<HTMLFormElement>('enqueue-form');
  const enqueue = async (count?: number) => {
    if (!form.reportValidity() || !queue) return;
    const data = new FormData(form);
    const request: EnqueueRequest = {
      entrypoint: String(data.get('entrypoint')),
      count: count ?? Number(data.get('count')),
      priority: Number(data.get('priority')),
      delayMs: Number(data.get('delayMs')),
      dedupeKey: String(data.get('dedupeKey') ?? ''),
      payloadBytes: Number(data.get('payloadBytes')),
    };
    $('enqueue-result').textContent = `enqueueing ${request.count.toLocaleString('en-US')}…`;
    try {
      const result = await enqueueJobs(queue, request);
      lastEnqueue = request;
      renderSnippet();
      $('enqueue-result').textContent =
        `stored ${result.stored.toLocaleString('en-US')}` +
        (result.skipped > 0
          ? `, skipped ${result.skipped.toLocaleString('en-US')} (dedupe key already held)`
          : '');
    } catch (error) {
      $('enqueue-result').textContent = `rejected: ${(error as Error).message}`;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void enqueue();
  });
  $('enqueue-100k').addEventListener('click', () => void enqueue(100_000));

  const scheduleForm = $<HTMLFormElement>('schedule-form');
  scheduleForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(scheduleForm);
    const name = String(data.get('name'));
    config.schedules = [
      ...config.schedules.filter((s) => s.name !== name),
      {
        name,
        expression: String(data.get('expression')).trim(),
        entrypoint: String(data.get('entrypoint')),
        jobsPerTick: Math.max(1, Number(data.get('jobsPerTick'))),
      },
    ];
    lastScheduleKey = '';
    void applyConfig();
  });

  const filterForm = $<HTMLFormElement>('jobs-filter');
  let filterTimer: ReturnType<typeof setTimeout> | undefined;
  const applyFilter = () => {
    const data = new FormData(filterForm);
    jobsList.setFilter({
      status: String(data.get('status')) as JobFilter['status'],
      entrypoint: String(data.get('entrypoint')),
      text: String(data.get('text') ?? ''),
    });
  };
  filterForm.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, 250);
  });
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    applyFilter();
  });

  $('detail-close').addEventListener('click', () => {
    $('detail-panel').hidden = true;
    openDetailId = null;
  });
  $('copy-code').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('code').textContent ?? '');
      notice('Code copied.');
    } catch {
      notice('Select the code and copy it (the clipboard is not available here).');
    }
  });
  $('timeline-legend').innerHTML = legend(Object.values(OUTCOME_STYLE).map((s) => [s.color, s.label]));
}

function renderSnippet(): void {
  setText($('code'), snippet(config, lastEnqueue, pgInfo.driver));
}

const jobsList = new JobsList(
  $('jobs-list'),
  async (filter, offset, limit) => {
    if (!engine) throw new Error('no engine');
    return engine.listJobs(filter, offset, limit);
  },
  (id) => void showDetail(id, true),
  (page) => {
    setText(
      $('jobs-total'),
      `${formatCount(page.total)} job(s)${page.truncated ? ' (payload search looked at the newest 20,000)' : ''}`,
    );
  },
);

async function main(): Promise<void> {
  buildControls();
  renderSnippet();
  try {
    pgInfo = (await (await fetch('/api/pg/info')).json()) as PostgresInfo;
  } catch {
    // a static host without the dev server's API
  }
  const pgOption =
    $<HTMLSelectElement>('store').querySelector<HTMLOptionElement>('option[value="postgres"]')!;
  if (pgInfo.available) pgOption.textContent = `PostgreSQL (${pgInfo.driver})`;
  else {
    pgOption.disabled = true;
    pgOption.textContent = 'PostgreSQL (start with ./run start --postgres)';
    if (config.store === 'postgres') config.store = 'memory';
  }
  renderSnippet();
  const canvas = $('timeline') as HTMLCanvasElement;
  const height = Number(canvas.getAttribute('height')) || 220;
  canvas.style.height = `${height}px`;
  const offscreen = canvas.transferControlToOffscreen();
  await timeline.attach(Comlink.transfer(offscreen, [offscreen]), canvas.clientWidth, height);
  new ResizeObserver(() => void timeline.resize(canvas.clientWidth, height)).observe(canvas);
  for (const name of ['throughput', 'latency'] as const) {
    const chart = $(name) as HTMLCanvasElement;
    const chartHeight = Number(chart.getAttribute('height')) || 160;
    chart.style.height = `${chartHeight}px`;
    const target = chart.transferControlToOffscreen();
    await timeline.attachChart(
      name,
      Comlink.transfer(target, [target]),
      chart.clientWidth,
      chartHeight,
      window.devicePixelRatio,
    );
    new ResizeObserver(() => void timeline.resizeChart(name, chart.clientWidth)).observe(chart);
  }
  document.addEventListener('visibilitychange', () => void timeline.setVisible(!document.hidden));
  await startEngine();
  void poll();
  (globalThis as { tideqPlayground?: unknown }).tideqPlayground = {
    snapshot: () => lastSnapshot,
    config: () => config,
  };
}

void main();
