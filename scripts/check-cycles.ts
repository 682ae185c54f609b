// The dependency rule of src/ (docs/architecture.md), checked by `npm test`:
//   - no import cycle between the top-level folders of src/ (a folder that needs another's types
//     owns an interface instead), and none between the files of one folder;
//   - no folder imports the composition root (the files directly in src/: app.ts, program.ts, cli.ts…,
//     and the commands in src/cli/), which may import everything.
// Type-only imports count: a type cycle still ties two folders together, and it becomes a runtime
// cycle the day someone imports a value. Imports are read with the TypeScript parser, so
// `import type`, `export … from`, `import('…')` and `import('…').T` in types are all seen.
//
//   node --import tsx scripts/check-cycles.ts [srcDir=src]     # exit 1 and one line per problem
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One import: the module specifier as written and the line it is on (1-based). */
export interface ImportRef {
  spec: string;
  line: number;
}

/** Every module a TypeScript or JavaScript file imports or re-exports, type-only ones included. */
export function importsOf(fileName: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node | undefined): void => {
    if (node && ts.isStringLiteralLike(node))
      refs.push({ spec: node.text, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}

/** An import from one file of src/ to another, by path relative to src/ with `/` separators. */
export interface Edge {
  from: string;
  to: string;
  line: number;
}

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** Relative imports between the given files (path relative to src/ -> text); packages are ignored. */
export function edgesOf(files: ReadonlyMap<string, string>): Edge[] {
  const edges: Edge[] = [];
  for (const [from, text] of files) {
    for (const { spec, line } of importsOf(from, text)) {
      if (!spec.startsWith('.')) continue;
      const to = join(dirname(from), spec).split(sep).join('/');
      edges.push({ from, to, line });
    }
  }
  return edges;
}

/** The folder a path belongs to; '' for a file directly in src/. */
export function folderOf(path: string): string {
  const i = path.indexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The composition root: the files directly in src/ and the command line in src/cli/. */
const ROOT = new Set(['', 'cli']);

/** The file a specifier names, without extension, so `./a.js` and `./a.ts` meet. */
function moduleKey(path: string): string {
  return path.replace(SOURCE, '');
}

/** Strongly connected components with more than one node (or a node importing itself): the cycles. */
export function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  // Tarjan's algorithm; the graphs here have a few hundred nodes, so recursion depth is no concern.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)?.has(v)) out.push(scc.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strong(v);
  return out;
}

function addEdge(graph: Map<string, Set<string>>, from: string, to: string): void {
  let set = graph.get(from);
  if (!set) graph.set(from, (set = new Set()));
  set.add(to);
}

/** Every breach of the rule, one readable line each naming the imports to look at; empty when none. */
export function checkLayers(files: ReadonlyMap<string, string>): string[] {
  const edges = edgesOf(files);
  const problems: string[] = [];
  const folders = new Map<string, Set<string>>();
  const modules = new Map<string, Set<string>>();
  for (const e of edges) {
    const [ff, tf] = [folderOf(e.from), folderOf(e.to)];
    if (!ROOT.has(ff) && ROOT.has(tf)) problems.push(`${e.from}:${e.line} imports the composition root ${e.to}`);
    if (!ROOT.has(ff) && !ROOT.has(tf) && ff !== tf) addEdge(folders, ff, tf);
    if (ff === tf) addEdge(modules, moduleKey(e.from), moduleKey(e.to));
  }
  for (const scc of cyclesOf(folders)) {
    const inCycle = new Set(scc);
    // One line per folder pair with its first import, so a cycle of many folders stays readable.
    const via = new Map<string, string>();
    for (const e of edges) {
      const [ff, tf] = [folderOf(e.from), folderOf(e.to)];
      if (ff !== tf && inCycle.has(ff) && inCycle.has(tf) && !via.has(`${ff} -> ${tf}`))
        via.set(`${ff} -> ${tf}`, `${e.from}:${e.line}`);
    }
    problems.push(
      `folder cycle ${scc.join(' <-> ')}, through:\n${[...via]
        .sort()
        .map(([k, v]) => `  ${k} (${v}…)`)
        .join('\n')}`,
    );
  }
  for (const scc of cyclesOf(modules)) problems.push(`file cycle ${scc.join(' <-> ')}`);
  return problems;
}

/** The source files under dir, by path relative to it with `/` separators. */
export function readSources(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (SOURCE.test(ent.name) && !ent.name.endsWith('.d.ts'))
        files.set(relative(dir, p).split(sep).join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'src';
  const files = readSources(dir);
  const problems = checkLayers(files);
  for (const p of problems) console.error(p);
  console.log(
    `check-cycles: ${files.size} files in ${dir}/, ${problems.length === 0 ? 'no import cycle between folders or files, no folder imports the composition root' : `${problems.length} problem(s)`}`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}
