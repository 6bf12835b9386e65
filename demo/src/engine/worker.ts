/**
 * The engine Worker's entry. The queue is served by @tideq/web's `hostQueue` on a MessagePort the
 * page hands over (see engine.ts); this file exposes the engine's own calls (configure, snapshot,
 * the job index) on the Worker's scope over Comlink.
 */
import * as Comlink from 'comlink';
import { Engine } from './engine.ts';

const engine = new Engine();

const api = {
  configure: engine.configure.bind(engine),
  setPaused: engine.setPaused.bind(engine),
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
