/**
 * The public names of a package entry point, as its users see them: `values` are what the module
 * exports at run time, `types` the type-only exports (read with the TypeScript compiler, which
 * follows every re-export). A package's public-api test pins both lists, so an accidental export
 * (or a lost one) fails a test instead of shipping.
 */
import ts from 'typescript';

export interface PublicNames {
  values: string[];
  types: string[];
}

export async function publicNames(entryFile: string): Promise<PublicNames> {
  const program = ts.createProgram([entryFile], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    customConditions: ['source'],
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entryFile);
  if (source === undefined) throw new Error(`publicNames: cannot read ${entryFile}`);
  const module = checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`publicNames: ${entryFile} is not a module`);
  const all = checker.getExportsOfModule(module).map((symbol) => symbol.name);
  const values = Object.keys(await import(entryFile)).sort();
  const runtime = new Set(values);
  return { values, types: all.filter((name) => !runtime.has(name)).sort() };
}
