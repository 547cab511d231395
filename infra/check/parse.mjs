// Syntax check for the Bicep templates, and the syntax trees that the Go
// package beside this file (infra/check) reads. There is no Bicep compiler
// on these machines, so this parses every file with tree-sitter-bicep
// (through web-tree-sitter) instead: it proves the files are well-formed
// Bicep, not that they compile or deploy.
//
//   node infra/check/parse.mjs FILE...          one line per file; exit 1 on any error
//   node infra/check/parse.mjs --json FILE...   [{file, errors, tree}] as JSON on stdout
//
// .bicepparam files: tree-sitter-bicep 1.1.0 knows `using` but not the
// untyped `param NAME = value` assignment of parameter files. Such a line is
// parsed as `var NAME = value` (same columns, so error positions stay right)
// and its node is reported as `param_assignment`. A typed `param NAME TYPE`
// in a .bicepparam file is reported as an error, as Bicep would.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Parser, Language } from 'web-tree-sitter';

const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const json = args[0] === '--json';
const files = json ? args.slice(1) : args;
if (files.length === 0) {
  console.error('usage: node infra/check/parse.mjs [--json] FILE...');
  process.exit(2);
}

await Parser.init();
const bicep = await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm'));
const parser = new Parser();
parser.setLanguage(bicep);

// Nodes that carry no meaning for the checks.
const dropped = new Set(['comment', 'diagnostic_comment']);

function parseFile(file) {
  let source = readFileSync(file, 'utf8');
  const isParam = file.endsWith('.bicepparam');
  const assignmentRows = new Set();
  if (isParam) {
    const lines = source.split('\n');
    lines.forEach((line, row) => {
      const m = /^(\s*)param(\s+[A-Za-z_][A-Za-z0-9_]*\s*=)/.exec(line);
      if (m) {
        lines[row] = m[1] + 'var  ' + line.slice(m[1].length + 'param'.length);
        assignmentRows.add(row);
      }
    });
    source = lines.join('\n');
  }
  const tree = parser.parse(source);
  const errors = [];
  const visit = (node) => {
    if (node.isError || node.isMissing) {
      const text = node.isMissing ? `missing ${node.type}` : `unexpected ${JSON.stringify(node.text.slice(0, 40))}`;
      errors.push({ line: node.startPosition.row + 1, column: node.startPosition.column + 1, text });
      return; // one report per broken region
    }
    if (!node.hasError && !node.isMissing) return;
    for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  if (tree.rootNode.hasError && errors.length === 0) {
    errors.push({ line: 1, column: 1, text: 'syntax error' });
  }
  const convert = (node) => {
    let type = node.type;
    if (type === 'variable_declaration' && assignmentRows.has(node.startPosition.row)) type = 'param_assignment';
    if (isParam && type === 'parameter_declaration') {
      errors.push({ line: node.startPosition.row + 1, column: node.startPosition.column + 1, text: 'a .bicepparam file assigns parameters (param NAME = value); it declares none' });
    }
    const out = { type, text: node.text, line: node.startPosition.row + 1 };
    const children = node.namedChildren.filter((c) => !dropped.has(c.type)).map(convert);
    if (children.length) out.children = children;
    return out;
  };
  const root = convert(tree.rootNode);
  tree.delete();
  return { file, errors, tree: json ? root : undefined };
}

const results = [];
let failed = false;
for (const file of files) {
  let r;
  try {
    r = parseFile(file);
  } catch (e) {
    r = { file, errors: [{ line: 0, column: 0, text: String(e.message || e) }] };
  }
  if (r.errors.length) failed = true;
  results.push(r);
  if (!json) {
    if (r.errors.length === 0) console.log(`ok    ${file}`);
    for (const e of r.errors) console.log(`${file}:${e.line}:${e.column}: syntax error: ${e.text}`);
  }
}
if (json) process.stdout.write(JSON.stringify(results));
// Not process.exit(): it would cut off output still queued for a pipe.
process.exitCode = failed ? 1 : 0;
