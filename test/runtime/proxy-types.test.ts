import { resolve } from 'node:path';
import ts from 'typescript';
import { HELPER_DECLARATIONS, nangoModuleDeclarations } from '../../src/runtime/declarations';

/**
 * The proxy options are written twice: `ProxyConfiguration` in src/runtime/types.ts (what the
 * runtime reads) and in the script-facing typings (HELPER_DECLARATIONS, and the `nango` module of
 * scripts that declare themselves). They must name the same options, and whatever a script may
 * write must be accepted by the runtime's type.
 */
const ROOT = resolve(__dirname, '../..');
const VIRTUAL = resolve(ROOT, 'test/.virtual-proxy-types');
const files: Record<string, string> = {
  [`${VIRTUAL}/helpers.ts`]: HELPER_DECLARATIONS,
  [`${VIRTUAL}/nango.ts`]: nangoModuleDeclarations('./helpers'),
  [`${VIRTUAL}/check.ts`]: `
import type { ProxyConfiguration as Runtime } from '${resolve(ROOT, 'src/runtime/types')}';
import type { ProxyConfiguration as YamlScript } from './helpers';
import type { ProxyConfiguration as NangoScript } from './nango';
export declare const runtime: Runtime;
export declare const yamlScript: YamlScript;
export declare const nangoScript: NangoScript;
export const fromYamlScript: Runtime = yamlScript;
export const fromNangoScript: Runtime = nangoScript;
`,
};

function compile(): { program: ts.Program; check: ts.SourceFile } {
  const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, skipLibCheck: true, types: ['node'] };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (name) => name in files || ts.sys.fileExists(name);
  host.directoryExists = (name) => name === VIRTUAL || ts.sys.directoryExists(name);
  host.readFile = (name) => files[name] ?? readFile(name);
  host.getSourceFile = (name, version, onError) => (name in files ? ts.createSourceFile(name, files[name]!, version) : getSourceFile(name, version, onError));
  const program = ts.createProgram([`${VIRTUAL}/check.ts`], options, host);
  return { program, check: program.getSourceFile(`${VIRTUAL}/check.ts`)! };
}

describe('ProxyConfiguration: the runtime type and the scripts’ typings', () => {
  const { program, check } = compile();
  const checker = program.getTypeChecker();

  function optionNames(variable: string): string[] {
    const symbol = checker.getSymbolsInScope(check, ts.SymbolFlags.Variable).find((s) => s.name === variable)!;
    return checker
      .getPropertiesOfType(checker.getTypeOfSymbolAtLocation(symbol, check))
      .map((p) => p.name)
      .sort();
  }

  it('a script’s options are accepted by the runtime’s type', () => {
    const problems = ts.getPreEmitDiagnostics(program, check).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  it('both name the same options', () => {
    const names = optionNames('runtime');
    expect(names).toContain('retryHeader');
    expect(optionNames('yamlScript')).toEqual(names);
    expect(optionNames('nangoScript')).toEqual(names);
  });
});
