/**
 * The slot timeline's own Worker: the page transfers the canvas here (OffscreenCanvas) and
 * forwards each snapshot's segments (transferred), so rasterising thousands of runs per frame
 * never runs on the page's main thread. It outlives the engine Worker: a killed worker's runs
 * stay on the timeline, marked.
 */
import * as Comlink from 'comlink';
import { Timeline } from './charts.ts';

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
