/** The engine Worker's entry: the Engine, exposed to the page over Comlink. */
import * as Comlink from 'comlink';
import { Engine } from './engine.ts';

const engine = new Engine();

const api = {
  configure: engine.configure.bind(engine),
  enqueue: engine.enqueue.bind(engine),
  cancel: engine.cancel.bind(engine),
  requeue: engine.requeue.bind(engine),
  clear: engine.clear.bind(engine),
  detail: engine.detail.bind(engine),
  listJobs: engine.listJobs.bind(engine),
  async snapshot() {
    const snapshot = await engine.snapshot();
    // The timeline's segments move to the page instead of being copied.
    return Comlink.transfer(snapshot, [snapshot.segments.buffer]);
  },
};

export type EngineApi = typeof api;

Comlink.expose(api);
