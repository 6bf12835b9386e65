export { defaultWasmUrl, type WasmSource } from './loader.js';
export {
  createMemoryQueue,
  defaultMemoryBudget,
  type MemoryQueueOptions,
  WASM_SCHEMA_VERSION,
  type WasmQueueRepository,
} from './repository.js';
