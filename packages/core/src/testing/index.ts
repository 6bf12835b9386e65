export * from './runtime-suite.js';
