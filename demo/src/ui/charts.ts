/**
 * Hand-drawn canvas charts: the slot timeline and the two line charts. Each draw is bounded
 * (the timeline merges runs that fall on the same pixel), and callers throttle how often they draw.
 */
import { OUTCOME, type OutcomeCode, SEGMENT_FIELDS, type SeriesPoint } from '../protocol.ts';

export const OUTCOME_STYLE: Record<OutcomeCode, { label: string; color: string }> = {
  [OUTCOME.running]: { label: 'running', color: '#2f80ed' },
  [OUTCOME.successful]: { label: 'successful', color: '#1f9d55' },
  [OUTCOME.retry]: { label: 'failed, retried', color: '#d98e04' },
  [OUTCOME.failed]: { label: 'dead letter', color: '#d23f3f' },
  [OUTCOME.exception]: { label: 'exception', color: '#8a3ffc' },
  [OUTCOME.cancelled]: { label: 'cancelled', color: '#6b7280' },
  [OUTCOME.timeout]: { label: 'timed out', color: '#b4491b' },
  [OUTCOME.killed]: { label: 'worker killed', color: '#111827' },
};

/** '#rrggbb' as a little-endian RGBA pixel for a Uint32Array view of ImageData. */
function pixel(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  return ((0xff << 24) | ((n & 0xff) << 16) | (n & 0xff00) | ((n >> 16) & 0xff)) >>> 0;
}
const BACKGROUND = pixel('#fbfcfd');
const RETRY_EDGE = pixel('#1b1f24');
const COLORS = Object.fromEntries(
  Object.entries(OUTCOME_STYLE).map(([code, style]) => [code, pixel(style.color)]),
) as unknown as Record<OutcomeCode, number>;

/** Sizes a canvas's backing store to its CSS width (device pixels) and returns a 2D context. */
function prepare(
  canvas: OffscreenCanvas,
  size: { width: number; height: number; ratio: number },
): { ctx: OffscreenCanvasRenderingContext2D; w: number; h: number } {
  const ratio = Math.min(2, size.ratio || 1);
  const w = Math.max(100, Math.round(size.width));
  const h = size.height;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

function emptyText(ctx: Context2D, w: number, h: number, text: string): void {
  ctx.fillStyle = '#5b6470';
  ctx.font = '13px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText(text, w / 2, h / 2);
  ctx.textAlign = 'start';
}

/**
 * Keeps the segments of the last `windowMs` (closed ones accumulate; running ones are replaced by
 * each snapshot) and draws them, one row per slot.
 */
export class Timeline {
  readonly windowMs = 20_000;
  #chunks: { end: number; data: Float64Array }[] = [];
  #running = new Float64Array(0);
  #slots = 0;
  #markers: { at: number; label: string }[] = [];
  #image: ImageData | null = null;

  add(segments: Float64Array, slots: number): void {
    const closed: number[] = [];
    const running: number[] = [];
    let end = 0;
    for (let i = 0; i < segments.length; i += SEGMENT_FIELDS) {
      const target = segments[i + 3] === OUTCOME.running ? running : closed;
      for (let f = 0; f < SEGMENT_FIELDS; f++) target.push(segments[i + f]!);
      end = Math.max(end, segments[i + 2]!);
    }
    if (closed.length > 0) this.#chunks.push({ end, data: Float64Array.from(closed) });
    this.#running = Float64Array.from(running);
    this.#slots = slots;
    const oldest = Date.now() - this.windowMs - 1_000;
    while (this.#chunks.length > 0 && this.#chunks[0]!.end < oldest) this.#chunks.shift();
  }

  /** The worker died: its running segments end now, marked killed. */
  kill(at: number): void {
    const data = Float64Array.from(this.#running);
    for (let i = 0; i < data.length; i += SEGMENT_FIELDS) {
      data[i + 2] = at;
      data[i + 3] = OUTCOME.killed;
    }
    if (data.length > 0) this.#chunks.push({ end: at, data });
    this.#running = new Float64Array(0);
    this.mark(at, 'worker killed');
  }

  mark(at: number, label: string): void {
    this.#markers.push({ at, label });
    if (this.#markers.length > 20) this.#markers.shift();
  }

  /**
   * Rasterises the window into one ImageData (one pixel per CSS pixel): each run writes only the
   * pixels it covers, so 100,000 runs in view cost ~1 ms instead of 100,000 fillRect calls. The
   * page hands the canvas to a Worker (timeline-worker.ts), so none of this runs on its thread.
   */
  draw(canvas: OffscreenCanvas, width: number, h: number): void {
    const w = Math.max(100, Math.round(width));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
      this.#image = null;
    }
    const ctx = canvas.getContext('2d')!;
    const axis = 16;
    const plotH = h - axis;
    if (!this.#image || this.#image.width !== w) this.#image = ctx.createImageData(w, plotH);
    const image = this.#image;
    const pixels = new Uint32Array(image.data.buffer);
    pixels.fill(BACKGROUND);
    const now = Date.now();
    const from = now - this.windowMs;
    const slots = Math.max(1, this.#slots);
    const rowH = plotH / slots;
    const gap = rowH >= 4 ? 1 : 0;
    const scale = w / this.windowMs;
    let drawn = 0;
    const paint = (data: Float64Array) => {
      for (let i = 0; i < data.length; i += SEGMENT_FIELDS) {
        const end = data[i + 2]!;
        const slot = data[i]!;
        if (end < from || slot >= slots) continue;
        const x0 = Math.max(0, Math.floor((data[i + 1]! - from) * scale));
        const x1 = Math.min(w, Math.max(x0 + 1, Math.ceil((end - from) * scale) - gap));
        const y0 = Math.floor(slot * rowH) + gap;
        const y1 = Math.max(y0 + 1, Math.floor((slot + 1) * rowH) - gap);
        const color = COLORS[data[i + 3]! as OutcomeCode];
        for (let y = y0; y < y1 && y < plotH; y++) pixels.fill(color, y * w + x0, y * w + x1);
        // Retries and re-picks: a dark top edge.
        if (data[i + 4]! > 1 && y1 - y0 >= 3)
          pixels.fill(RETRY_EDGE, y0 * w + x0, y0 * w + Math.max(x1, x0 + 2));
        drawn++;
      }
    };
    for (const chunk of this.#chunks) if (chunk.end >= from) paint(chunk.data);
    paint(this.#running);
    ctx.clearRect(0, 0, w, h);
    ctx.putImageData(image, 0, 0);
    ctx.fillStyle = '#5b6470';
    ctx.font = '11px system-ui, sans-serif';
    for (let s = 0; s <= this.windowMs; s += 5_000) {
      const x = w - s * scale;
      ctx.fillRect(Math.min(x, w - 1), plotH, 1, 4);
      ctx.fillText(s === 0 ? 'now' : `-${s / 1000}s`, Math.min(x + 2, w - 26), h - 3);
    }
    let labelRow = 0;
    for (const m of this.#markers) {
      if (m.at < from) continue;
      const x = (m.at - from) * scale;
      ctx.fillStyle = '#111827';
      ctx.fillRect(x, 0, 2, plotH);
      // Labels of nearby markers (worker killed, new worker) stack instead of overlapping.
      ctx.fillText(m.label, Math.min(x + 4, w - 90), 12 + 13 * (labelRow++ % 3));
    }
    if (drawn === 0 && this.#markers.every((m) => m.at < from)) {
      emptyText(ctx, w, plotH, 'No job has run in the last 20 s: enqueue some on the left.');
    }
  }
}

export interface LineSeries {
  label: string;
  color: string;
  values: number[];
}

/** A line chart over the per-second series (x: seconds ago). */
/** `log`: a log10 y axis, so run times of ms and waits of seconds show on one chart. */
export function drawLines(
  canvas: OffscreenCanvas,
  size: { width: number; height: number; ratio: number },
  series: LineSeries[],
  empty: string,
  options: { unit?: string; log?: boolean } = {},
): void {
  const unit = options.unit ?? '';
  const { ctx, w, h } = prepare(canvas, size);
  const left = 44;
  const bottom = 16;
  const plotW = w - left - 4;
  const plotH = h - bottom - 6;
  const n = Math.max(...series.map((s) => s.values.length), 2);
  let max = 0;
  for (const s of series) for (const v of s.values) if (v > max) max = v;
  if (max === 0) {
    emptyText(ctx, w, h, empty);
    return;
  }
  const top = options.log ? 10 ** Math.ceil(Math.log10(max + 1)) : niceCeil(max);
  const yOf = options.log
    ? (v: number) => 6 + plotH - (plotH * Math.log10(1 + Math.max(0, v))) / Math.log10(1 + top)
    : (v: number) => 6 + plotH - (plotH * v) / top;
  const ticks = options.log
    ? Array.from({ length: Math.round(Math.log10(top)) + 1 }, (_, i) => (i === 0 ? 0 : 10 ** i))
    : [0, 1, 2, 3, 4].map((i) => (top * i) / 4);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#5b6470';
  ctx.strokeStyle = '#e5e8ec';
  ctx.lineWidth = 1;
  for (const tick of ticks) {
    const y = yOf(tick);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(w - 4, y);
    ctx.stroke();
    ctx.fillText(formatShort(tick) + unit, 2, y + 4);
  }
  ctx.fillText(`-${n}s`, left, h - 3);
  ctx.fillText('now', w - 26, h - 3);
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const x = left + (plotW * i) / (n - 1);
      const y = yOf(v);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

function niceCeil(value: number): number {
  const p = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= value) return m * p;
  return 10 * p;
}

export function formatShort(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`;
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  if (value >= 1_000) return `${(value / 1000).toFixed(1)}k`;
  return String(Math.round(value * 10) / 10);
}

export function seriesOf(points: SeriesPoint[], key: keyof SeriesPoint): number[] {
  return points.map((p) => p[key] as number);
}
