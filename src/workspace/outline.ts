/** The definitions in a source file (functions, classes, methods, types), with their lines, from its syntax tree. */
import type { Node } from '@vscode/tree-sitter-wasm';
import { parserFor, type SyntaxLanguage } from './syntax.js';

export interface Definition {
  /** 1-based line of its first line. */
  line: number;
  /** How many definitions it sits in (a method in a class: 1). */
  depth: number;
  /** The line it starts on (so `export` and `type` show), trimmed, without an opening brace at its end. */
  header: string;
}

const C_FAMILY_TYPES = ['class_declaration', 'interface_declaration', 'enum_declaration', 'struct_declaration', 'record_declaration'];

/** The node types that are definitions, per language. */
const DEFINITIONS: Record<SyntaxLanguage, ReadonlySet<string>> = {
  bash: new Set(['function_definition']),
  'c-sharp': new Set([...C_FAMILY_TYPES, 'namespace_declaration', 'method_declaration', 'constructor_declaration', 'property_declaration']),
  cpp: new Set(['function_definition', 'class_specifier', 'struct_specifier', 'enum_specifier', 'namespace_definition']),
  go: new Set(['function_declaration', 'method_declaration', 'type_spec']),
  java: new Set([...C_FAMILY_TYPES, 'method_declaration', 'constructor_declaration', 'annotation_type_declaration']),
  javascript: new Set(['function_declaration', 'generator_function_declaration', 'class_declaration', 'method_definition']),
  php: new Set(['function_definition', 'class_declaration', 'interface_declaration', 'trait_declaration', 'enum_declaration', 'method_declaration']),
  python: new Set(['function_definition', 'class_definition']),
  ruby: new Set(['class', 'module', 'method', 'singleton_method']),
  rust: new Set(['function_item', 'function_signature_item', 'struct_item', 'enum_item', 'union_item', 'trait_item', 'impl_item', 'mod_item', 'type_item', 'macro_definition']),
  tsx: new Set(['function_declaration', 'generator_function_declaration', 'class_declaration', 'abstract_class_declaration', 'method_definition', 'abstract_method_signature', 'method_signature', 'interface_declaration', 'type_alias_declaration', 'enum_declaration', 'internal_module']),
  typescript: new Set(['function_declaration', 'generator_function_declaration', 'class_declaration', 'abstract_class_declaration', 'method_definition', 'abstract_method_signature', 'method_signature', 'interface_declaration', 'type_alias_declaration', 'enum_declaration', 'internal_module']),
};

/** `const f = () => ...` and `const C = class ...` are definitions too, in JavaScript and TypeScript. */
const FUNCTION_VALUES = new Set(['arrow_function', 'function_expression', 'function', 'generator_function', 'class']);

const MAX_HEADER = 160;

/** The definitions of `text`, in order (rejects when the grammar cannot be loaded). A syntax error only loses what it hides. */
export async function outline(text: string, language: SyntaxLanguage, limit = 500): Promise<{ definitions: Definition[]; truncated: boolean }> {
  const parser = await parserFor(language);
  const tree = parser.parse(text);
  if (!tree) return { definitions: [], truncated: false };
  const kinds = DEFINITIONS[language];
  const sourceLines = text.split('\n');
  const definitions: Definition[] = [];
  let truncated = false;
  const visit = (node: Node, depth: number): void => {
    for (const child of node.namedChildren) {
      if (!child) continue;
      if (definitions.length >= limit) {
        truncated = true;
        return;
      }
      const isDefinition = kinds.has(child.type) || (child.type === 'variable_declarator' && FUNCTION_VALUES.has(child.childForFieldName('value')?.type ?? ''));
      if (isDefinition) {
        const row = child.startPosition.row;
        definitions.push({ line: row + 1, depth, header: header(sourceLines[row] ?? '') });
      }
      visit(child, isDefinition ? depth + 1 : depth);
    }
  };
  try {
    visit(tree.rootNode, 0);
  } finally {
    tree.delete();
  }
  return { definitions, truncated };
}

function header(line: string): string {
  const first = line.trim().replace(/\s*\{\s*$/, '');
  return first.length > MAX_HEADER ? `${first.slice(0, MAX_HEADER)}…` : first;
}
