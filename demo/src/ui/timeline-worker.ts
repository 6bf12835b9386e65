/**
 * The charts' own Worker: the page transfers the canvases here (OffscreenCanvas) and forwards each
 * snapshot's timeline segments (transferred) and per-second series, so no drawing runs on the
 * page's main thread. It outlives the engine Worker: a killed worker's runs stay on the timeline,
 * marked.
 */
import * as Comlink from 'comlink';
import type { SeriesPoint } from '../protocol.ts';
import { drawLines, seriesOf, Timeline } from './charts.ts';

interface Chart {
  canvas: OffscreenCanvas;
  size: { width: number; height: number; ratio: number };
}
const charts = new Map<'throughput' | 'latency', Chart>();

function drawSeries(points: SeriesPoint[]): void {
  const throughput = charts.get('throughput');
  if (throughput) {
    drawLines(
      throughput.canvas,
      throughput.size,
      [
        { label: 'successful', color: '#1f9d55', values: seriesOf(points, 'successful') },
        { label: 'retried', color: '#d98e04', values: seriesOf(points, 'retried') },
        { label: 'dead letters', color: '#d23f3f', values: seriesOf(points, 'failed') },
      ],
      'Nothing finished in the last minute.',
    );
  }
  const latency = charts.get('latency');
  if (latency) {
    drawLines(
      latency.canvas,
      latency.size,
      [
        { label: 'run p50', color: '#2f80ed', values: seriesOf(points, 'runP50') },
        { label: 'run p95', color: '#0b3d91', values: seriesOf(points, 'runP95') },
        { label: 'wait p50', color: '#d98e04', values: seriesOf(points, 'waitP50') },
        { label: 'wait p95', color: '#8a5a00', values: seriesOf(points, 'waitP95') },
      ],
      'No run finished in the last minute.',
      { log: true },
    );
  }
}

const timeline = new Timeline();
let canvas: OffscreenCanvas | null = null;
let width = 0;
let height = 0;
let visible = true;

const api = {
  attach(target: OffscreenCanvas, w: number, h: number): void {
    canvas = target;
    width = w;
    height = h;
  },
  resize(w: number, h: number): void {
    width = w;
    height = h;
  },
  attachChart(
    name: 'throughput' | 'latency',
    target: OffscreenCanvas,
    w: number,
    h: number,
    ratio: number,
  ): void {
    charts.set(name, { canvas: target, size: { width: w, height: h, ratio } });
  },
  resizeChart(name: 'throughput' | 'latency', w: number): void {
    const chart = charts.get(name);
    if (chart) chart.size.width = w;
  },
  series(points: SeriesPoint[]): void {
    if (visible) drawSeries(points);
  },
  setVisible(value: boolean): void {
    visible = value;
  },
  add(segments: Float64Array, slots: number): void {
    timeline.add(segments, slots);
  },
  kill(at: number): void {
    timeline.kill(at);
  },
  mark(at: number, label: string): void {
    timeline.mark(at, label);
  },
};

export type TimelineApi = typeof api;

// Four frames a second, whatever the job rate.
setInterval(() => {
  if (canvas && visible && width > 0) timeline.draw(canvas, width, height);
}, 250);

Comlink.expose(api);
