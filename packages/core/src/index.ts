export * from './clock.js';
export * from './errors.js';
export * from './port.js';
export * from './reference/index.js';
export * from './runtime/index.js';
export * from './types.js';
export * from './validation.js';
export * from './wasm/index.js';
