export {
  CORE_ABI_VERSION,
  type CoreExports,
  compileCore,
  defaultWasmUrl,
  instantiateCore,
  type WasmSource,
} from './loader.js';
export {
  createMemoryQueue,
  type MemoryQueueOptions,
  WASM_SCHEMA_VERSION,
  type WasmQueueRepository,
  WasmRepository,
} from './repository.js';
