// Vercel's bundler imports `<file>.wasm?module` as a compiled WebAssembly.Module.
declare module '@tideq/core/tideq_core.wasm?module' {
  const module: WebAssembly.Module;
  export default module;
}
