// Wrangler's default module rules import a .wasm file as a compiled WebAssembly.Module.
declare module '@tideq/core/tideq_core.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
