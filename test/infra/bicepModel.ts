import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { Node } from "web-tree-sitter";
import { parseBicep } from "./bicepParser";

/**
 * A read-only view of the Bicep files under infra/ built from tree-sitter syntax trees: declarations, resource
 * bodies and a small evaluator that follows parameters, variables and module outputs across files, so tests can
 * compare what a deployment would set with the code's own defaults without a Bicep compiler.
 */

export const REPO_ROOT = resolve(__dirname, "..", "..", "..");
export const INFRA_DIR = join(REPO_ROOT, "infra");

export interface BicepFile {
  /** Path relative to the repository root, with forward slashes. */
  name: string;
  absolutePath: string;
  source: string;
  root: Node;
}

export type DeclarationKind = "param" | "var" | "resource" | "module" | "output" | "type";

export interface Declaration {
  kind: DeclarationKind;
  name: string;
  node: Node;
  file: BicepFile;
}

const DECLARATION_KINDS: Record<string, DeclarationKind> = {
  parameter_declaration: "param",
  variable_declaration: "var",
  resource_declaration: "resource",
  module_declaration: "module",
  output_declaration: "output",
  type_declaration: "type",
};

/** Named children without comments, which tree-sitter places anywhere as extras. */
export function children(node: Node): Node[] {
  return node.namedChildren.filter((child) => child.type !== "comment");
}

export function lineOf(file: BicepFile, node: Node): string {
  return `${file.name}:${node.startPosition.row + 1}`;
}

export function listBicepFiles(directory: string = INFRA_DIR): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const fullPath = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...listBicepFiles(fullPath));
    else if (entry.name.endsWith(".bicep")) found.push(fullPath);
  }
  return found.sort();
}

export async function loadBicepFile(absolutePath: string): Promise<BicepFile> {
  const source = readFileSync(absolutePath, "utf8");
  const name = relative(REPO_ROOT, absolutePath).split("\\").join("/");
  return { name, absolutePath, source, root: await parseBicep(source) };
}

export function declarations(file: BicepFile, kind?: DeclarationKind): Declaration[] {
  return children(file.root)
    .filter((node) => DECLARATION_KINDS[node.type] && (!kind || DECLARATION_KINDS[node.type] === kind))
    .map((node) => ({ kind: DECLARATION_KINDS[node.type], name: children(node)[0].text, node, file }));
}

export function findDeclaration(file: BicepFile, name: string): Declaration | undefined {
  return declarations(file).find((declaration) => declaration.name === name);
}

/** A param's default value expression, or undefined when it has none. */
export function parameterDefault(declaration: Declaration): Node | undefined {
  const parts = children(declaration.node);
  // identifier, type, then the default when there is one
  return parts.length > 2 ? parts[2] : undefined;
}

/** Arguments of a decorator (`@allowed([...])`) on a top-level declaration; undefined when it has none. */
export function decoratorArguments(declaration: Declaration, decoratorName: string): Node[] | undefined {
  let previous = declaration.node.previousNamedSibling;
  while (previous?.type === "comment") previous = previous.previousNamedSibling;
  if (previous?.type !== "decorators") return undefined;
  for (const decorator of children(previous)) {
    const call = children(decorator)[0];
    if (call?.type === "call_expression" && call.childForFieldName("function")?.text === decoratorName) {
      const argumentList = call.childForFieldName("arguments");
      return argumentList ? children(argumentList) : [];
    }
  }
  return undefined;
}

/** The first string child of a resource or module declaration: the type (`Ns/type@version`) or module path. */
export function declarationTarget(declaration: Declaration): string {
  const target = children(declaration.node)[1];
  const value = stringLiteral(target);
  if (value === undefined) throw new Error(`${lineOf(declaration.file, declaration.node)}: target is not a plain string`);
  return value;
}

/** The object body of a resource or module, looking inside `if (...)` and `[for ...]` forms. */
export function declarationBody(declaration: Declaration): Node {
  let body = children(declaration.node).at(-1);
  while (body && (body.type === "if_statement" || body.type === "for_statement")) body = children(body).at(-1);
  if (!body || body.type !== "object") throw new Error(`${lineOf(declaration.file, declaration.node)}: no object body`);
  return body;
}

export function isExisting(declaration: Declaration): boolean {
  return declaration.node.children.some((child) => child.type === "existing");
}

export function propertyKey(property: Node): string {
  const key = children(property)[0];
  return key.type === "string" ? (stringLiteral(key) ?? key.text) : key.text;
}

export function objectProperties(object: Node): Node[] {
  return children(object).filter((child) => child.type === "object_property");
}

/** Follows a dotted path of object keys (`properties.filter.subjectBeginsWith`); undefined when any step is absent. */
export function property(object: Node | undefined, path: string, options: { ignoreCase?: boolean } = {}): Node | undefined {
  let current = object;
  for (const key of path.split(".")) {
    if (!current || current.type !== "object") return undefined;
    const match = objectProperties(current).find((candidate) =>
      options.ignoreCase ? propertyKey(candidate).toLowerCase() === key.toLowerCase() : propertyKey(candidate) === key,
    );
    current = match ? children(match)[1] : undefined;
  }
  return current;
}

/** The value of a string node without interpolation; undefined for anything else. */
export function stringLiteral(node: Node | undefined): string | undefined {
  if (!node || node.type !== "string") return undefined;
  if (node.text.startsWith("'''")) return node.text.slice(3, -3).replace(/^\r?\n/, "");
  let value = "";
  for (const part of node.namedChildren) {
    if (part.type === "string_content") value += part.text;
    else if (part.type === "escape_sequence") value += unescapeBicep(part.text);
    else return undefined;
  }
  return value;
}

export function unescapeBicep(sequence: string): string {
  const simple: Record<string, string> = { "\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$" };
  if (simple[sequence] !== undefined) return simple[sequence];
  const codePoint = /^\\u\{([0-9a-fA-F]+)\}$/.exec(sequence);
  if (codePoint) return String.fromCodePoint(parseInt(codePoint[1], 16));
  throw new Error(`Unknown Bicep escape sequence ${sequence}`);
}

/** Comments on the same line as `node` ends (`x: y // Role Name`), text after the slashes. */
export function trailingComment(node: Node): string | undefined {
  let sibling = node.nextSibling;
  while (sibling && sibling.startPosition.row === node.endPosition.row) {
    if (sibling.type === "comment") return sibling.text.replace(/^\/\/\s*/, "").trim();
    sibling = sibling.nextSibling;
  }
  return undefined;
}

/** Every node of the given types anywhere under `root`. */
export function descendants(root: Node, types: string | string[]): Node[] {
  return root.descendantsOfType(types);
}

export class BicepProject {
  private constructor(
    readonly files: ReadonlyMap<string, BicepFile>,
    readonly main: BicepFile,
  ) {}

  static async load(mainPath: string = join(INFRA_DIR, "main.bicep")): Promise<BicepProject> {
    const files = new Map<string, BicepFile>();
    for (const path of listBicepFiles()) files.set(path, await loadBicepFile(path));
    const main = files.get(resolve(mainPath));
    if (!main) throw new Error(`${mainPath} is not among the Bicep files under ${INFRA_DIR}`);
    return new BicepProject(files, main);
  }

  allFiles(): BicepFile[] {
    return [...this.files.values()];
  }

  /** The file a module declaration points at, or undefined when the path does not exist. */
  moduleFile(module: Declaration): BicepFile | undefined {
    return this.files.get(resolve(dirname(module.file.absolutePath), declarationTarget(module)));
  }

  resources(typeName?: string): Declaration[] {
    return this.allFiles()
      .flatMap((file) => declarations(file, "resource"))
      .filter((resource) => !typeName || declarationTarget(resource).split("@")[0] === typeName);
  }
}
